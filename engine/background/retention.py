"""The retention sweep's thread (docs/retention.md): in each console, shortly after start
and then once a day, delete the artifact files and snapshots of the finished jobs that are
due (engine/store/retention.py).

Several consoles may run one: a sweep holds a lease row (compare-and-set, like the
scheduler's lock), so one console sweeps at a time, and the lease notes when the last sweep
ended, so the daily one is done by whichever console finds it due first. Each batch claims
its jobs again inside its transaction, so even two sweeps at once delete a job once."""

import logging
import threading
from datetime import timedelta

from engine.runner.leases import WORKER_ID
from engine.settings import Settings
from engine.store import retention as store
from models import utcnow

log = logging.getLogger(__name__)
FIRST_AFTER_S = 60.0  # after start, when the console's pages and workers are up
CHECK_EVERY_S = 3600.0  # how often a console looks whether the daily sweep is due
EVERY = timedelta(days=1)


class RetentionSweeper:
    """A daemon thread: a sweep FIRST_AFTER_S after start, then whenever the last one (by
    any console) ended a day ago, checked every CHECK_EVERY_S."""

    def __init__(self, settings: Settings, first_after_s: float = FIRST_AFTER_S):
        self.settings = settings
        self.first_after_s = first_after_s
        self.holder = f"{WORKER_ID}:retention"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="jobdeck-retention",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def rules(self) -> store.Rules:
        return store.Rules(self.settings.retention_days,
                           self.settings.retention_jobs_per_runbook)

    def sweep(self, force: bool = False) -> store.SweepResult | None:
        """Sweep if due (or `force`) and no other console sweeps now; what it did, or None
        when it did not sweep."""
        rules = self.rules()
        if not rules.active:
            return None
        last = store.last_sweep()
        if not force and last is not None and utcnow() - last < EVERY:
            return None
        outcome = store.leased_sweep(self.settings.data_dir, rules, self.holder)
        if isinstance(outcome, str):
            log.info("retention: %s sweeps now; this console does not", outcome)
            return None
        return outcome

    def _loop(self) -> None:
        wait, force = self.first_after_s, True
        while not self._stop.wait(wait):
            try:
                self.sweep(force)
            except Exception:  # the database away, a bug: try again at the next check
                log.exception("the retention sweep failed")
            wait, force = CHECK_EVERY_S, False
