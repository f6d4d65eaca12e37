"""Everything a Jobdeck process needs besides its UI: database, queue, workers (threads, or
the console's worker process), sweeper, scheduler."""

import logging
import signal

from engine.background.notifier import Notifier
from engine.background.retention import RetentionSweeper
from engine.background.scheduler import JobScheduler
from engine.background.sweeper import Sweeper
from engine.background.worker_process import WorkerProcess
from engine.bus import events
from engine.bus.linked_bus import LinkedEventBus
from engine.bus.redis_bus import RedisEventBus
from engine.queue.huey_queue import (
    WakeableConsumer,
    create_consumer,
    get_huey,
    init_queue,
    wake_workers,
)
from engine.runner.browser import BrowserNotFound, ensure_ffmpeg, find_browser
from engine.runner.leases import Heartbeat, fail_held_jobs
from engine.runner.worker import close_idle_browser, execute_job, prepare_spare_context
from engine.secrets import store as secret_store
from engine.settings import Settings, use_settings
from engine.store.instance_secrets import instance_secret
from engine.store.schema import init_db

log = logging.getLogger(__name__)


def open_records(settings: Settings) -> Settings:
    """This process's settings, database and secret store, and nothing else: for commands
    that only read or change records (no event bus, no queue, no thread started).
    Raises DatabaseUnavailable, OutdatedDatabase, SecretStoreError."""
    use_settings(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    init_db(settings.db_url)
    secret_store.configure(settings.data_dir, settings.secrets_key.get_secret_value()
                           if settings.secrets_key else None)
    return settings


class Runtime:
    """Composes the engine for one process; main.py and the tests build one."""

    def __init__(self, settings: Settings):
        self.settings = open_records(settings)
        self.bus = self._connect_bus(settings)
        self.heartbeat = Heartbeat(settings.lease_seconds)
        init_queue(settings, self.run_queued_job)
        self.consumer: WakeableConsumer | None = None
        self.worker_process: WorkerProcess | None = None
        self.scheduler: JobScheduler | None = None
        self.sweeper: Sweeper | None = None
        self.notifier: Notifier | None = None
        self.retention: RetentionSweeper | None = None

    @staticmethod
    def _connect_bus(settings: Settings):
        """With REDIS_URL, events and control cross processes on Redis pub/sub."""
        if not settings.redis_url:
            return events.get_bus()
        key = instance_secret("event_signing_key").encode()
        bus = RedisEventBus(settings.redis_url, settings.redis_prefix, key)
        if not bus.wait_listening(5):
            log.warning("Redis does not answer yet; events from other processes arrive "
                        "once it does")
        events.set_bus(bus)
        return bus

    def run_queued_job(self, job_id: int) -> None:
        execute_job(job_id, settings=self.settings, bus=events.get_bus(),
                    heartbeat=self.heartbeat)

    def make_consumer(self, workers: int) -> WakeableConsumer:
        """A Huey consumer whose worker threads each own one browser."""
        ensure_ffmpeg()
        huey = get_huey()
        huey.on_shutdown(name="close_browser")(close_idle_browser)
        if self.settings.prepare_contexts:  # each worker starts its browser before any job
            huey.on_startup(name="prepare_browser")(
                lambda: prepare_spare_context(self.settings))
        return create_consumer(workers, self.settings.queue_poll_seconds)

    def start_console_workers(self, workers: int) -> None:
        """The console's workers: a worker process it supervises, so that a busy browser
        never stalls a page or an API call; threads of this process with
        `workers_in_process` (call from the main thread)."""
        if self.settings.workers_in_process:
            self.start_workers(workers)
        else:
            self.start_worker_process(workers)

    def start_worker_process(self, workers: int) -> None:
        """A child process running `workers` jobs at once, restarted when it dies and
        stopped with this one (engine/background/worker_process.py)."""
        bus = None
        if not self.settings.redis_url:  # this process's events and the child's cross
            local = events.get_bus()  # its subscribers stay subscribed
            bus = LinkedEventBus(local if isinstance(local, events.LocalEventBus) else None)
            events.set_bus(bus)
            self.bus = bus
        self.worker_process = WorkerProcess(self.settings, workers, bus)
        self.worker_process.start()

    def start_workers(self, workers: int) -> None:
        """Worker threads inside this process (call from the main thread)."""
        self.consumer = self.make_consumer(workers)
        # Huey's start() takes over SIGINT/SIGTERM/SIGHUP for a loop we do not run; the web
        # server must keep them, or the process ignores a request to stop.
        signals = [s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None))
                   if s is not None]
        handlers = {s: signal.getsignal(s) for s in signals}
        self.consumer.start()
        for signum, handler in handlers.items():
            signal.signal(signum, handler)

    def start_sweeper(self) -> None:
        """Fail lost jobs now and every sweep interval; the scheduler's process also puts
        stranded queued jobs back on the queue."""
        self.sweeper = Sweeper(self.settings, requeue=lambda: bool(
            self.scheduler and self.scheduler.active))
        self.sweeper.start()

    def start_notifier(self) -> None:
        """Send notifications from this console (docs/notifications.md); not in workers
        or CLI commands."""
        self.notifier = Notifier(self.bus)
        self.notifier.start()

    def start_retention(self) -> None:
        """Sweep old jobs' artifact files shortly after start and daily (docs/retention.md;
        one console at a time); not in workers or CLI commands."""
        self.retention = RetentionSweeper(self.settings)
        self.retention.start()

    def check_browser(self) -> None:
        """Say in the log at start when no browser can run jobs (they fail until one is)."""
        try:
            find_browser(self.settings.browser_path)
        except BrowserNotFound as exc:
            log.error("%s Jobs will fail until a browser is installed.", exc)

    def start_scheduler(self) -> bool:
        """Fire schedules from this process; while another process does, wait on standby
        and take over when it stops (returns whether this one fires them now)."""
        self.scheduler = JobScheduler()
        return self.scheduler.start()

    def stop(self) -> None:
        """Take no new job, give running ones a grace period, then fail what still runs."""
        if self.sweeper is not None:
            self.sweeper.stop()
        if self.notifier is not None:
            self.notifier.stop()
            self.notifier = None
        if self.retention is not None:
            self.retention.stop()
            self.retention = None
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None
        if self.worker_process is not None:  # the same grace, in the child
            self.worker_process.stop()
            self.worker_process = None
        if self.consumer is not None:
            self.consumer.stop_flag.set()
            wake_workers()  # idle workers notice the stop at once
            self.consumer.shutdown_timeout = self.settings.shutdown_grace_seconds
            self.consumer.stop(graceful=True)
            self.consumer = None
        fail_held_jobs(self.heartbeat, events.get_bus(), self.settings.data_dir)
        if hasattr(self.bus, "close"):  # after the last events went out
            self.bus.close()
            events.set_bus(events.LocalEventBus())
