"""The one scheduler: APScheduler fires each schedule's next occurrence into the queue.

Exactly one process fires schedules per database: it holds a lock row that it renews every
third of the lease. Every other console waits on standby and tries again at each renewal,
so when the holder dies (even by kill -9) another one, or the restarted one, takes over
within the lease plus one renewal. APScheduler only keeps time here: what fires and when is
in the Schedule and Job rows, so a takeover rebuilds it with no duplicate.
"""

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy.exc import IntegrityError, OperationalError

from engine.bus import events
from engine.runner.leases import WORKER_ID
from engine.service import schedule_firing, schedules
from engine.settings import current_settings
from engine.store.db import read_scope, session_scope
from models import Job, JobStatus, SchedulerLock, utcnow

log = logging.getLogger(__name__)
ENDED = {JobStatus.completed.value, JobStatus.failed.value, JobStatus.cancelled.value}


def take_lock(holder: str = WORKER_ID, lease_seconds: float | None = None) -> str | None:
    """Take or renew the scheduler lock for `lease_seconds` (default
    JOBDECK_SCHEDULER_LEASE_SECONDS); returns who holds it when someone else does."""
    lease = lease_seconds or current_settings().scheduler_lease_seconds
    now = utcnow()
    try:
        with session_scope() as session:
            # FOR UPDATE: on PostgreSQL two consoles starting together must not both win
            lock = session.get(SchedulerLock, 1, with_for_update=True)
            if lock is not None and lock.holder != holder and lock.expires_at > now:
                return lock.holder
            if lock is None or lock.holder != holder:
                lock = lock or SchedulerLock(id=1, holder=holder, expires_at=now)
                lock.holder, lock.since = holder, now
            lock.expires_at = now + timedelta(seconds=lease)
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
    """Arms one APScheduler date job per schedule (its pending job's time) while this
    process holds the lock; waits on standby, retrying, while another one does."""

    def __init__(self) -> None:
        self.aps = BackgroundScheduler(timezone="UTC")
        self.holder = f"{WORKER_ID}:scheduler-{uuid.uuid4().hex[:6]}"
        self.lease_seconds = current_settings().scheduler_lease_seconds
        self.active = False
        self._guard = threading.Lock()  # one lock attempt at a time
        self._unsubscribe: Callable[[], None] | None = None
        self._other: str | None = None

    def start(self) -> bool:
        """Start firing schedules, or wait on standby when another process holds the lock
        (a log line says who). Returns whether this process fires them now."""
        self.aps.start()
        self.aps.add_job(self._renew, "interval", seconds=self.lease_seconds / 3, id="lock",
                         replace_existing=True, misfire_grace_time=None, coalesce=True)
        self._renew()
        return self.active

    def _renew(self) -> None:
        """Keep the lock (active) or try to take it (standby)."""
        with self._guard:
            try:
                other = take_lock(self.holder, self.lease_seconds)
            except OperationalError as exc:  # the database is away: try at the next renewal
                log.warning("could not reach the database to hold the scheduler lock: %s",
                            exc.__class__.__name__)
                return
            if other and self.active:
                log.error("lost the scheduler lock to %s; waiting on standby", other)
                self._deactivate()
            elif other and other != self._other:
                log.warning("%s runs the scheduler on this database; this console waits "
                            "and takes over if it stops", other)
            elif not other and not self.active:
                self._activate()
            self._other = other

    def _activate(self) -> None:
        log.info("running the scheduler (%s)", self.holder)
        made_up = schedule_firing.make_up_missed()
        if made_up:
            log.info("made up missed schedule runs: jobs %s", made_up)
        self.aps.add_job(self.arm_all, "interval", seconds=60, id="resync",
                         replace_existing=True)  # the safety net, like the list's timer
        self._unsubscribe = events.get_bus().subscribe(self._on_event)
        self.active = True
        self.arm_all()

    def _deactivate(self) -> None:
        self.active = False
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None
        for job in self.aps.get_jobs():
            if job.id != "lock":
                job.remove()

    def _on_event(self, event: events.Event) -> None:
        if event.kind == events.SCHEDULE_CHANGED:
            self.arm(event.data["schedule_id"])
        elif event.kind == events.JOB_STATUS and event.data.get("status") in ENDED:
            schedule_id = _schedule_of(event.job_id)  # an occurrence may wait for this job
            if schedule_id is not None:
                self.arm(schedule_id)

    def arm_all(self) -> None:
        for schedule in schedules.list_schedules():
            assert schedule.id is not None  # a stored schedule
            self.arm(schedule.id)

    def arm(self, schedule_id: int) -> None:
        """(Re)arm a schedule's next occurrence; disarm it when it has none, or while it
        waits for the schedule's previous job (overlap `queue`: that job's end re-arms)."""
        if not self.active:
            return
        job_id = f"schedule-{schedule_id}"
        pending = schedules.pending_job(schedule_id)
        if pending is None or schedule_firing.waiting_for(schedule_id) is not None:
            if self.aps.get_job(job_id):
                self.aps.remove_job(job_id)
            return
        # misfire_grace_time=None: a late fire still fires (APScheduler's default of 1 s
        # would skip it silently); downtime is handled by make_up_missed at takeover.
        self.aps.add_job(self._fire, DateTrigger(run_date=pending.scheduled_for),
                         args=[schedule_id, pending.scheduled_for], id=job_id,
                         replace_existing=True, misfire_grace_time=None)

    def _fire(self, schedule_id: int, occurrence) -> None:
        try:
            job = schedule_firing.fire(schedule_id, occurrence)
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
        if release and self.active:
            release_lock(self.holder)
        self.active = False


def _schedule_of(job_id: int) -> int | None:
    with read_scope() as session:
        job = session.get(Job, job_id)
        return job.schedule_id if job is not None else None
