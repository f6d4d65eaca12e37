"""The one scheduler: APScheduler fires each schedule's next occurrence into the queue.

Exactly one process may run it per database: it holds a lock row that it renews; another
process that tries refuses with a clear log line. APScheduler only keeps time here: what
fires and when is in the Schedule and Job rows, so a restart rebuilds it with no duplicate.
"""

import logging
import uuid
from collections.abc import Callable
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy.exc import IntegrityError

from engine.bus import events
from engine.runner.leases import WORKER_ID
from engine.service import schedules
from engine.store.db import session_scope
from models import SchedulerLock, utcnow

log = logging.getLogger(__name__)
LOCK_SECONDS = 30
RENEW_SECONDS = 10


def take_lock(holder: str = WORKER_ID) -> str | None:
    """Hold (or keep holding) the scheduler lock; returns who holds it when someone else does."""
    now = utcnow()
    try:
        with session_scope() as session:
            # FOR UPDATE: on PostgreSQL two consoles starting together must not both win
            lock = session.get(SchedulerLock, 1, with_for_update=True)
            if lock is not None and lock.holder != holder and lock.expires_at > now:
                return lock.holder
            lock = lock or SchedulerLock(id=1, holder=holder, expires_at=now)
            lock.holder, lock.expires_at = holder, now + timedelta(seconds=LOCK_SECONDS)
            session.add(lock)
    except IntegrityError:  # another process created the lock row a moment ago
        return "another process"
    return None


def release_lock(holder: str = WORKER_ID) -> None:
    with session_scope() as session:
        lock = session.get(SchedulerLock, 1)
        if lock is not None and lock.holder == holder:
            session.delete(lock)


class JobScheduler:
    """Arms one APScheduler date job per schedule: its pending job's time."""

    def __init__(self) -> None:
        self.aps = BackgroundScheduler(timezone="UTC")
        self.holder = f"{WORKER_ID}:scheduler-{uuid.uuid4().hex[:6]}"
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> bool:
        """Start (False, with a log line, when another process runs the scheduler)."""
        other = take_lock(self.holder)
        if other:
            log.error("not running the scheduler: %s already runs it on this database; "
                      "schedules fire there (one scheduler per database)", other)
            return False
        made_up = schedules.make_up_missed()
        if made_up:
            log.info("made up missed schedule runs: jobs %s", made_up)
        self.aps.start()
        self.aps.add_job(self._renew, "interval", seconds=RENEW_SECONDS, id="lock",
                         replace_existing=True)
        self.aps.add_job(self.arm_all, "interval", seconds=60, id="resync",
                         replace_existing=True)  # the safety net, like the list's timer
        self._unsubscribe = events.get_bus().subscribe(self._on_event)
        self.arm_all()
        return True

    def _renew(self) -> None:
        other = take_lock(self.holder)
        if other:
            log.error("lost the scheduler lock to %s; stopping this scheduler", other)
            self.stop(release=False)

    def _on_event(self, event: events.Event) -> None:
        if event.kind == events.SCHEDULE_CHANGED:
            self.arm(event.data["schedule_id"])

    def arm_all(self) -> None:
        for schedule in schedules.list_schedules():
            assert schedule.id is not None  # a stored schedule
            self.arm(schedule.id)

    def arm(self, schedule_id: int) -> None:
        """(Re)arm a schedule's next occurrence, or disarm it when it has none."""
        job_id = f"schedule-{schedule_id}"
        pending = schedules.pending_job(schedule_id)
        if pending is None:
            if self.aps.get_job(job_id):
                self.aps.remove_job(job_id)
            return
        # misfire_grace_time=None: a late fire still fires (APScheduler's default of 1 s
        # would skip it silently); downtime is handled by make_up_missed at start.
        self.aps.add_job(self._fire, DateTrigger(run_date=pending.scheduled_for),
                         args=[schedule_id, pending.scheduled_for], id=job_id,
                         replace_existing=True, misfire_grace_time=None)

    def _fire(self, schedule_id: int, occurrence) -> None:
        try:
            job = schedules.fire(schedule_id, occurrence)
            if job:
                log.info("schedule %s fired job %s (due %s)", schedule_id, job.id, occurrence)
        finally:
            self.arm(schedule_id)

    def stop(self, release: bool = True) -> None:
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None
        if self.aps.running:
            self.aps.shutdown(wait=False)
        if release:
            release_lock(self.holder)
