"""The Huey queue: it carries only job ids, signed (engine/queue/messages.py).

Out of the box it is a SQLite file: its consumer wakes at once for jobs enqueued in this
process, or in the console that supervises this worker process (a wake-up over their link,
engine/background/worker_process.py), and polls (up to JOBDECK_QUEUE_POLL_SECONDS) for jobs
from others. With REDIS_URL it is a Redis list that idle workers block on, so any process's
enqueue starts a job at once.
"""

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from huey import Huey, RedisHuey, SqliteHuey
from huey.consumer import Consumer, Worker
from huey.registry import Registry
from redis.exceptions import RedisError
from sqlalchemy import func
from sqlmodel import select

from engine.bus.redis_link import redis_pool
from engine.queue.messages import JobMessages
from engine.settings import Settings
from engine.store.db import read_scope
from engine.store.instance_secrets import instance_secret
from models import Job, JobStatus, utcnow

log = logging.getLogger(__name__)
_wake = threading.Condition()
_wakes = 0  # counts enqueues, so a wake between an empty dequeue and the wait is not lost
_huey: Huey | None = None
_run_job = None  # the Huey task, bound to the current instance
_wake_listeners: list[Callable[[], None]] = []  # e.g. the console's worker process


def wake_workers() -> None:
    """Wake this process's idle workers, and tell the listeners (who wake theirs)."""
    global _wakes
    with _wake:
        _wakes += 1
        _wake.notify_all()
    for listener in list(_wake_listeners):
        listener()


def add_wake_listener(listener: Callable[[], None]) -> Callable[[], None]:
    """Call `listener` (quickly, in the enqueuing thread) at every wake-up; returns the
    function that removes it."""
    _wake_listeners.append(listener)

    def remove() -> None:
        if listener in _wake_listeners:
            _wake_listeners.remove(listener)

    return remove


class WakeableWorker(Worker):
    """Sleeps on a condition instead of a plain timer, so an enqueue wakes it (~1 ms)."""

    seen_wakes = 0
    delay: float  # set by huey's Worker
    max_delay: float
    backoff: float

    def loop(self, now=None):
        self.seen_wakes = _wakes  # before the dequeue: later enqueues will be noticed
        super().loop(now)

    def sleep(self) -> None:
        if self.delay > self.max_delay:
            self.delay = self.max_delay
        with _wake:
            if _wakes == self.seen_wakes:
                _wake.wait(self.delay)
        self.delay *= self.backoff


class QueueOutage(logging.Filter):
    """While the queue is unreachable, Huey logs a traceback at every retry (twice a second
    per worker); one line every 30 s says as much."""

    def __init__(self) -> None:
        super().__init__()
        self._last = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        if (record.getMessage() != "Error reading from queue" or not record.exc_info
                or not isinstance(record.exc_info[1], RedisError)):
            return True  # e.g. a refused message: logged as it is
        now = time.monotonic()
        if now - self._last < 30:
            return False
        self._last = now
        record.msg, record.args = f"queue unreachable, retrying: {record.exc_info[1]}", ()
        record.exc_info = None
        return True


class WakeableConsumer(Consumer):
    worker_class = WakeableWorker


def init_queue(settings: Settings, run_job) -> Huey:
    """Create the process's queue (needs the database) and register the job task."""
    global _huey, _run_job
    messages = JobMessages(instance_secret("queue_signing_key").encode())
    if settings.redis_url:
        pool = redis_pool(settings.redis_url, settings.redis_prefix)
        _huey = RedisHuey(f"{settings.redis_prefix}-queue", connection_pool=pool,
                          blocking=True, read_timeout=1, results=False, serializer=messages)
    else:
        settings.queue_path.parent.mkdir(parents=True, exist_ok=True)
        _huey = SqliteHuey("jobdeck", filename=str(settings.queue_path), results=False,
                           serializer=messages)
    _run_job = _huey.task(name="run_job")(run_job)
    # the name Huey's registry files the task under (its rule, through its public class)
    messages.task_name = Registry().task_to_string(_run_job.task_class)
    return _huey


def get_huey() -> Huey:
    if _huey is None:
        raise RuntimeError("queue not initialised: call engine.queue.init_queue() first")
    return _huey


def enqueue_job(job_id: int) -> bool:
    """Put a job id on the queue and wake this process's idle workers. False when the queue
    is unreachable (Redis away): the job stays queued in the database and
    `requeue_stranded` sends it once the queue is back."""
    if _run_job is None:
        raise RuntimeError("queue not initialised: call engine.queue.init_queue() first")
    try:
        _run_job(job_id)
    except RedisError as exc:
        log.warning("job %s stays queued: the queue is unreachable (%s); it is sent when the "
                    "queue is back", job_id, exc)
        return False
    wake_workers()
    return True


def waiting_job_ids() -> set[int]:
    """The job ids on the queue now."""
    huey = get_huey()
    ids = set()
    for raw in huey.storage.enqueued_items():
        try:
            ids.add(huey.serializer.deserialize(raw).args[0])
        except ValueError:  # a refused message (RefusedMessage) is not a job of ours
            continue
    return ids


def requeue_stranded(older_than_s: float = 60) -> list[int]:
    """Put back on the queue every job that has been queued in the database for a while but
    is on no queue: its enqueue failed while Redis was away, or a worker died between taking
    its id and claiming it. A duplicate is harmless: only one claim can win."""
    since = utcnow() - timedelta(seconds=older_than_s)
    with read_scope() as session:
        queued = session.exec(select(Job.id).where(
            Job.status == JobStatus.queued,
            func.coalesce(Job.queued_at, Job.created_at) < since)).all()
    if not queued:
        return []
    stranded = sorted(set(queued) - waiting_job_ids())
    for job_id in stranded:
        log.warning("job %s was queued but on no queue; queueing it again", job_id)
        enqueue_job(job_id)
    return stranded


def create_consumer(workers: int, poll_seconds: float) -> WakeableConsumer:
    """A thread consumer; start it with .start() (never .run() outside the main thread)."""
    worker_log = logging.getLogger(f"huey.consumer.{WakeableWorker.process_name}")
    if not any(isinstance(f, QueueOutage) for f in worker_log.filters):
        worker_log.addFilter(QueueOutage())
    return WakeableConsumer(get_huey(), workers=workers, worker_type="thread",
                            initial_delay=0.05, backoff=1.5, max_delay=poll_seconds,
                            periodic=False, check_worker_health=True)
