"""The sweeper: fails jobs whose worker stopped renewing their lease (design rule 1), and
puts jobs that were queued while the queue was unreachable back on it."""

import logging
import threading
from collections.abc import Callable

from engine.bus import events
from engine.queue.huey_queue import requeue_stranded
from engine.runner.leases import sweep_lost_jobs
from engine.settings import Settings

log = logging.getLogger(__name__)


class Sweeper:
    """A thread that sweeps at start and then every `sweep_interval_seconds`."""

    def __init__(self, settings: Settings, requeue: Callable[[], bool]):
        self.settings = settings
        self.requeue = requeue  # true in the scheduler's process: one per database does this
        self._stop = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._loop, name="jobdeck-sweeper", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def sweep(self) -> None:
        """Fail lost jobs now (worker_lost), and requeue stranded ones if this process may."""
        sweep_lost_jobs(events.get_bus(), self.settings.data_dir)
        if self.requeue():
            requeue_stranded()

    def _loop(self) -> None:
        while True:
            try:
                self.sweep()
            except Exception:
                log.exception("sweeping lost jobs failed")
            if self._stop.wait(self.settings.sweep_interval_seconds):
                return
