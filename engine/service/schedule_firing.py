"""How a schedule fires: each enabled schedule has one pending job (status Scheduled, at its
next occurrence); firing queues it exactly once, applies the overlap rule and plans the
next; a scheduler that was down makes up one missed run or records the misses."""

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select

from engine.bus import events
from engine.queue.huey_queue import enqueue_job
from engine.runbook import stored_runbook
from engine.service.schedule_times import of_schedule
from engine.store.db import read_scope, session_scope
from engine.store.transitions import TransitionRefused, transition_job
from models import (
    ACTIVE_STATUSES,
    Job,
    JobEvent,
    JobStatus,
    Runbook,
    Schedule,
    ScheduleOverlap,
    Trigger,
    utcnow,
)

MAX_MISSES_KEPT = 50
# A job of the schedule in one of these holds back the next under `skip` and `queue`.
BUSY = frozenset(ACTIVE_STATUSES | {JobStatus.queued})


def fire(schedule_id: int, occurrence: datetime, now: datetime | None = None) -> Job | None:
    """Queue the job of this occurrence and plan the next. However often it is called for
    one occurrence (two schedulers, a retry), one job is queued. None when nothing was:
    fired already, cancelled, skipped by the overlap rule or because the runbook is
    archived (both recorded as misses), or (overlap `queue`) waiting for the schedule's
    previous job; `waiting_for` says which."""
    now = now or utcnow()
    with session_scope() as session:
        schedule = session.get(Schedule, schedule_id)
        job = session.exec(select(Job).where(Job.schedule_id == schedule_id,
                                             Job.scheduled_for == occurrence,
                                             Job.status == JobStatus.scheduled)).first()
        if schedule is None or job is None:
            return None
        busy, skipped = _busy(session, schedule), _archived(session, schedule)
        if skipped is None and busy is not None:
            if schedule.overlap == ScheduleOverlap.queue:
                return None  # it waits; the scheduler fires it when the busy job ends
            skipped = (f"job {busy.id} of this schedule was still {busy.status.value} "
                       "(overlap: skip)")
        if skipped is not None:  # overlap skip, or an archived runbook
            _drop_pending(session, schedule_id)
            _record_misses(schedule, [occurrence], skipped)
            published = plan_next(session, schedule, occurrence, now)
            published.append(changed(schedule))
            session.add(schedule)
            job = None
        else:
            try:
                job = transition_job(session, job.id, JobStatus.queued,
                                     only_from={JobStatus.scheduled}, queued_at=now)
            except TransitionRefused:  # fired or cancelled a moment ago
                return None
            schedule.last_fired_at = occurrence
            assert job.id is not None  # a stored job
            published = [events.record(session, events.JOB_STATUS, job.id, status="queued")]
            if _pending(session, schedule_id) is None:
                published += plan_next(session, schedule, occurrence, now)
            published.append(changed(schedule))
            session.add(schedule)
    publish(published)
    if job is not None:
        assert job.id is not None  # a stored job
        enqueue_job(job.id)
    return job


def waiting_for(schedule_id: int, now: datetime | None = None) -> int | None:
    """The job that the schedule's due occurrence waits for (overlap `queue`), else None."""
    with read_scope() as session:
        schedule = session.get(Schedule, schedule_id)
        pending = _pending(session, schedule_id)
        if (schedule is None or pending is None or pending.scheduled_for is None
                or schedule.overlap != ScheduleOverlap.queue
                or pending.scheduled_for > (now or utcnow())):
            return None
        busy = _busy(session, schedule)
        return busy.id if busy is not None else None


def _archived(session, schedule: Schedule) -> str | None:
    """Why the schedule's runbook does not run now (it is archived), else None."""
    runbook = session.exec(select(Runbook).where(Runbook.name == schedule.runbook_name)).first()
    if runbook is None or runbook.archived_at is None:
        return None
    return (f'runbook "{runbook.name}" is archived (by {runbook.archived_by or "someone"}): '
            "restore it to run it")


def _busy(session, schedule: Schedule) -> Job | None:
    """The schedule's job that is queued or running, if any (the overlap rule's concern)."""
    if schedule.overlap == ScheduleOverlap.allow:
        return None
    return session.exec(select(Job).where(Job.schedule_id == schedule.id,
                                          col(Job.status).in_(BUSY))
                        .order_by(col(Job.id))).first()


def skip_occurrence(session, job: Job, now: datetime) -> list[events.Event]:
    """After a Scheduled job was cancelled: the schedule's next occurrence takes its place."""
    schedule = session.get(Schedule, job.schedule_id) if job.schedule_id else None
    if schedule is None or _pending(session, schedule.id) is not None:
        return []
    return plan_next(session, schedule, job.scheduled_for, now) + [changed(schedule)]


def make_up_missed(now: datetime | None = None) -> list[int]:
    """At scheduler start: for each schedule whose pending time passed while no scheduler
    ran, run the latest missed occurrence once if it is within misfire_grace_s, and record
    every other one as missed. Returns the ids of the jobs queued."""
    now, queued = now or utcnow(), []
    with read_scope() as session:
        due = list(session.exec(select(Job).where(Job.status == JobStatus.scheduled,
                                                  col(Job.schedule_id).is_not(None),
                                                  col(Job.scheduled_for) <= now)))
    for pending in due:
        with session_scope() as session:
            schedule = session.get(Schedule, pending.schedule_id)
            if schedule is None or schedule.id is None or not schedule.enabled:
                continue
            missed = _occurrences(schedule, pending.scheduled_for, now)
            latest = missed[-1]
            make_up = (now - latest).total_seconds() <= schedule.misfire_grace_s
            _record_misses(schedule, missed[:-1] if make_up else missed,
                           "Jobdeck was not running (or no scheduler was)" + (
                               "; a later run was made up instead" if make_up else
                               f"; more than misfire_grace_s={schedule.misfire_grace_s} s "
                               "late"))
            session.add(schedule)
            if make_up:
                job = session.get(Job, pending.id)
                job.scheduled_for = latest  # the made-up run stands for its own time
                session.add(job)
                published = []
            else:
                _drop_pending(session, schedule.id)
                published = plan_next(session, schedule, latest, now)
            published.append(changed(schedule))
        publish(published)
        if make_up:
            fired = fire(schedule.id, latest, now)
            if fired is not None:
                assert fired.id is not None  # a stored job
                queued.append(fired.id)
    return queued


def _occurrences(schedule: Schedule, first: datetime, now: datetime) -> list[datetime]:
    """`first` and every later occurrence up to `now`."""
    found, when = [first], of_schedule(schedule)
    while len(found) < 10_000:
        upcoming = when.after(found[-1])
        if upcoming is None or upcoming > now:
            break
        found.append(upcoming)
    return found


def _record_misses(schedule: Schedule, times: list[datetime], reason: str) -> None:
    """Note occurrences that did not run, and why (the latest MAX_MISSES_KEPT stay)."""
    if times:
        schedule.misses = (schedule.misses + [{"at": at.isoformat(), "reason": reason}
                                              for at in times])[-MAX_MISSES_KEPT:]


def _pending(session, schedule_id: int) -> Job | None:
    return session.exec(select(Job).where(Job.schedule_id == schedule_id,
                                          Job.status == JobStatus.scheduled)).first()


def _drop_pending(session, schedule_id: int) -> None:
    """Remove the occurrence that has not happened (and its one recorded event)."""
    ids = list(session.exec(select(Job.id).where(Job.schedule_id == schedule_id,
                                                 Job.status == JobStatus.scheduled)))
    if ids:
        session.exec(delete(JobEvent).where(col(JobEvent.job_id).in_(ids)))
        session.exec(delete(Job).where(col(Job.id).in_(ids)))


def replan(session, schedule: Schedule, now: datetime) -> list[events.Event]:
    """After a change to the schedule: its pending job becomes the new next occurrence,
    keeping its id (a page open on it shows the change); it goes when there is none."""
    assert schedule.id is not None  # a stored (flushed) schedule
    pending = _pending(session, schedule.id)
    upcoming = (of_schedule(schedule).after(now) if schedule.enabled
                and schedule.deleted_at is None else None)
    if pending is None or upcoming is None:
        _drop_pending(session, schedule.id)
        return plan_next(session, schedule, None, now) + [changed(schedule)]
    runbook = session.exec(select(Runbook).where(Runbook.name == schedule.runbook_name)).one()
    pending.sqlmodel_update(_occurrence_fields(schedule, runbook, upcoming))
    session.add(pending)
    return [changed(schedule)]


def plan_next(session, schedule: Schedule, previous: datetime | None, now: datetime
              ) -> list[events.Event]:
    """The Scheduled job of the next occurrence after `previous` that is not past (none
    when disabled or all done). Occurrences after `previous` that already passed (a fire
    that came late, a run that waited) are recorded as misses."""
    if not schedule.enabled or schedule.deleted_at is not None:
        return []
    when = of_schedule(schedule)
    upcoming = when.after(previous or now)
    passed: list[datetime] = []
    while upcoming is not None and upcoming <= now and len(passed) < 10_000:
        passed.append(upcoming)
        upcoming = when.after(upcoming)
    _record_misses(schedule, passed, "a run of this schedule already waited for the one "
                   "before it (overlap: queue)" if schedule.overlap == ScheduleOverlap.queue
                   else "the previous occurrence was fired late, after this one's time")
    if upcoming is None:
        return []
    runbook = session.exec(select(Runbook).where(Runbook.name == schedule.runbook_name)).one()
    job = Job(status=JobStatus.scheduled, trigger=Trigger.schedule,
              started_by=f"schedule {schedule.id}", created_at=utcnow(),
              schedule_id=schedule.id, **_occurrence_fields(schedule, runbook, upcoming))
    session.add(job)
    session.flush()
    assert job.id is not None  # the flush assigned it
    return [events.record(session, events.JOB_STATUS, job.id, status="scheduled")]


def _occurrence_fields(schedule: Schedule, runbook: Runbook, when: datetime) -> dict:
    """What a Scheduled job takes from its schedule and runbook (as they are now)."""
    spec = stored_runbook(runbook.source, f"{runbook.name}.yaml")
    return {"runbook_id": runbook.id, "runbook_name": runbook.name,
            "runbook_title": runbook.title, "runbook_version": runbook.version,
            "source": runbook.source, "params": dict(schedule.params), "scheduled_for": when,
            "step_count": len(spec.steps)}


def changed(schedule: Schedule) -> events.Event:
    """Tells the scheduler (in whatever process) to re-arm this schedule."""
    return events.Event(events.SCHEDULE_CHANGED, 0, {"schedule_id": schedule.id})


def publish(published: list[events.Event]) -> None:
    for event in published:
        events.get_bus().publish(event)
