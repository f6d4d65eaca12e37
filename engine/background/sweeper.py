"""The sweeper: fails jobs whose worker stopped renewing their lease (design rule 1), and
puts jobs that were queued while the queue was unreachable back on it.

After a database outage nobody could renew a lease, so every running job looks lost. The
sweeper therefore notes when the database came back (`back_at`: a sweep that failed, a
database call that had to wait, or a gap longer than the sweep interval) and fails no one
until a full lease has passed since: live workers renew in that time, lost ones do not."""

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from engine.bus import events
from engine.queue.huey_queue import requeue_stranded
from engine.runner.leases import database_time, sweep_lost_jobs
from engine.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
# A database call slower than this waited for the server (the reconnect retries every
# second); a busy server may trip it too, which only delays sweeping by one lease.
SLOW_CONTACT_SECONDS = 1.0


class Sweeper:
    """A thread that sweeps at start and then every `sweep_interval_seconds`."""

    def __init__(self, settings: Settings, requeue: Callable[[], bool]):
        self.settings = settings
        self.requeue = requeue  # true in the scheduler's process: one per database does this
        self._stop = threading.Event()
        self.back_at: float | None = None  # time.monotonic() the database came back
        self._failed = False  # the last database contact failed
        self._last_sweep: float | None = None  # time.monotonic() the last sweep ended

    def start(self) -> None:
        threading.Thread(target=self._loop, name="jobdeck-sweeper", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def sweep(self) -> list[int]:
        """Fail lost jobs now (worker_lost), unless the database came back less than a lease
        ago; requeue stranded ones if this process may. Returns the failed jobs' ids."""
        started = time.monotonic()
        if (self._last_sweep is not None
                and started - self._last_sweep > self.settings.sweep_interval_seconds
                + SLOW_CONTACT_SECONDS):  # this process stalled: nobody's renewals were seen
            self._came_back(started)
        # one cutoff by the database's clock, read first: if the database goes away after
        # it, the jobs failed later are only those already lost before it went
        cutoff = self._contact(database_time)
        failed: list[int] = []
        if self.holding():
            log.info("database back %.0f s ago: lost jobs are judged once leases could be "
                     "renewed", time.monotonic() - (self.back_at or 0))
        else:
            failed = self._contact(lambda: sweep_lost_jobs(events.get_bus(),
                                                           self.settings.data_dir,
                                                           expired_before=cutoff))
        if self.requeue():
            self._contact(requeue_stranded)
        self._last_sweep = time.monotonic()
        return failed

    def holding(self) -> bool:
        """True while the database came back less than one lease ago."""
        return (self.back_at is not None
                and time.monotonic() < self.back_at + self.settings.lease_seconds)

    def _contact(self, work: Callable[[], T]) -> T:
        started = time.monotonic()
        try:
            result = work()
        except Exception:
            self._failed = True
            raise
        ended = time.monotonic()
        if self._failed or ended - started > SLOW_CONTACT_SECONDS:
            self._came_back(ended)
        self._failed = False
        return result

    def _came_back(self, at: float) -> None:
        if not self.holding():
            log.warning("the database was away: no job fails as worker_lost for the next "
                        "%s s, while workers renew their leases", self.settings.lease_seconds)
        self.back_at = at

    def _loop(self) -> None:
        while True:
            try:
                self.sweep()
            except Exception:
                log.exception("sweeping lost jobs failed")
            if self._stop.wait(self.settings.sweep_interval_seconds):
                return
