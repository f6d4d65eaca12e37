"""Schedules, the engine's public API: create, change and delete them; each enabled one has
one pending job (status Scheduled, at its next fire time); firing queues that job exactly
once and plans the next; a server that was down makes up one missed run or records misses."""

import os
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, update
from sqlmodel import col, select

from engine.bus import events
from engine.errors import NotFound
from engine.identity import audit
from engine.identity.access import Actor
from engine.queue.huey_queue import enqueue_job
from engine.runbook import stored_runbook
from engine.service.jobs import resolve_params
from engine.service.schedule_times import (
    InvalidSchedule,
    make_trigger,
    next_fire_time,
    preview,
    zone,
)
from engine.store.db import read_scope, session_scope
from engine.store.transitions import TransitionRefused, transition_job
from models import Job, JobEvent, JobStatus, Runbook, Schedule, Trigger, utcnow

MAX_MISSES_KEPT = 50
__all__ = ["InvalidSchedule", "create_schedule", "delete_schedule", "fire", "list_schedules",
           "make_up_missed", "next_times", "pending_job", "update_schedule"]


def server_timezone() -> str:
    """The default time zone of new schedules: $TZ, /etc/timezone, else UTC."""
    name = os.environ.get("TZ", "").lstrip(":")
    if not name and Path("/etc/timezone").exists():
        name = Path("/etc/timezone").read_text().strip()
    return name or "UTC"


def trigger_of(schedule: Schedule):
    return make_trigger(schedule.cron, schedule.interval_s, schedule.at, schedule.timezone,
                        start=schedule.created_at)


def next_times(schedule: Schedule, count: int = 5, now: datetime | None = None) -> list:
    """The next fire times (what the form shows before saving)."""
    return preview(trigger_of(schedule), schedule.timezone, count, now)


def _check(session, schedule: Schedule) -> None:
    row = session.exec(select(Runbook).where(Runbook.name == schedule.runbook_name)).first()
    if row is None:
        raise InvalidSchedule(f'there is no runbook named "{schedule.runbook_name}"')
    trigger_of(schedule)
    if schedule.at is not None and schedule.at.tzinfo is None:  # a wall time in its zone
        schedule.at = schedule.at.replace(tzinfo=zone(schedule.timezone))
    schedule.params = resolve_params(stored_runbook(row.source, f"{row.name}.yaml"),
                                     schedule.params)


def create_schedule(runbook: str, params: dict | None = None, *, cron: str | None = None,
                    interval_s: int | None = None, at: datetime | None = None,
                    timezone: str | None = None, enabled: bool = True,
                    misfire_grace_s: int = 300, now: datetime | None = None,
                    by: Actor | None = None) -> Schedule:
    """A new schedule and its first Scheduled job. InvalidSchedule or InvalidParams when
    it cannot fire (the message says why)."""
    schedule = Schedule(runbook_name=runbook, params={k: str(v) for k, v in (params or {})
                                                      .items()},
                        cron=cron, interval_s=interval_s, at=at,
                        timezone=timezone or server_timezone(), enabled=enabled,
                        misfire_grace_s=misfire_grace_s)
    with session_scope() as session:
        _check(session, schedule)
        session.add(schedule)
        session.flush()
        published = _plan_next(session, schedule, None, now or utcnow())
        published.append(_changed(session, schedule))
        _audit(session, by, "schedule_created", schedule, None, _when(schedule))
    _publish(published)
    return schedule


def _when(schedule: Schedule) -> str:
    """A schedule in a few words, for the audit log."""
    when = (f"cron {schedule.cron}" if schedule.cron else f"every {schedule.interval_s} s"
            if schedule.interval_s else f"at {schedule.at.isoformat() if schedule.at else '?'}")
    return f"{schedule.runbook_name}: {when} {schedule.timezone}" + (
        "" if schedule.enabled else " (disabled)")


def _audit(session, by: Actor | None, action: str, schedule: Schedule, before: str | None,
           after: str | None) -> None:
    if by is not None:
        audit.record(by.name, action, target=f"schedule {schedule.id}", source=by.source,
                     before=before, after=after, session=session)


def update_schedule(schedule_id: int, now: datetime | None = None, by: Actor | None = None,
                    **changes) -> Schedule:
    """Change a schedule; its pending job is replaced by one at the new next time."""
    with session_scope() as session:
        schedule = session.get(Schedule, schedule_id)
        if schedule is None:
            raise NotFound(f"there is no schedule {schedule_id}")
        before = _when(schedule)
        for key, value in changes.items():
            setattr(schedule, key, value)
        if {"cron", "interval_s", "at"} & changes.keys():  # one kind replaces the others
            for kind in {"cron", "interval_s", "at"} - changes.keys():
                setattr(schedule, kind, None)
        schedule.updated_at = utcnow()
        _check(session, schedule)
        session.add(schedule)
        _drop_pending(session, schedule.id)
        published = _plan_next(session, schedule, None, now or utcnow())
        published.append(_changed(session, schedule))
        _audit(session, by, "schedule_changed", schedule, before, _when(schedule))
    _publish(published)
    return schedule


def delete_schedule(schedule_id: int, by: Actor | None = None) -> None:
    """Remove a schedule and its pending job; jobs it already started stay, unlinked."""
    with session_scope() as session:
        schedule = session.get(Schedule, schedule_id)
        if schedule is None:
            raise NotFound(f"there is no schedule {schedule_id}")
        _drop_pending(session, schedule_id)
        session.exec(update(Job).where(col(Job.schedule_id) == schedule_id)
                     .values(schedule_id=None))
        session.delete(schedule)
        event = _changed(session, schedule)
        _audit(session, by, "schedule_deleted", schedule, _when(schedule), None)
    _publish([event])


def list_schedules() -> list[Schedule]:
    with read_scope() as session:
        return list(session.exec(select(Schedule).order_by(col(Schedule.id))))


def get_schedule(schedule_id: int) -> Schedule | None:
    with read_scope() as session:
        return session.get(Schedule, schedule_id)


def pending_job(schedule_id: int) -> Job | None:
    """The schedule's next occurrence, a job in status Scheduled."""
    with read_scope() as session:
        return _pending(session, schedule_id)


def fire(schedule_id: int, occurrence: datetime, now: datetime | None = None) -> Job | None:
    """Queue the job of this occurrence and plan the next. However often it is called for
    one occurrence (two schedulers, a retry), one job is queued; None when nothing was."""
    now = now or utcnow()
    with session_scope() as session:
        schedule = session.get(Schedule, schedule_id)
        job = session.exec(select(Job).where(Job.schedule_id == schedule_id,
                                             Job.scheduled_for == occurrence)).first()
        if schedule is None or job is None:
            return None
        try:
            job = transition_job(session, job.id, JobStatus.queued,
                                 only_from={JobStatus.scheduled}, queued_at=now)
        except TransitionRefused:  # fired already, or this occurrence was cancelled
            return None
        assert job.id is not None  # a stored job
        schedule.last_fired_at = occurrence
        session.add(schedule)
        published = [events.record(session, events.JOB_STATUS, job.id, status="queued")]
        if _pending(session, schedule_id) is None:
            published += _plan_next(session, schedule, occurrence, now)
        published.append(_changed(session, schedule))
    _publish(published)
    enqueue_job(job.id)
    return job


def skip_occurrence(session, job: Job, now: datetime) -> list[events.Event]:
    """After a Scheduled job was cancelled: the schedule's next occurrence takes its place."""
    schedule = session.get(Schedule, job.schedule_id) if job.schedule_id else None
    if schedule is None or _pending(session, schedule.id) is not None:
        return []
    return _plan_next(session, schedule, job.scheduled_for, now) + [
        _changed(session, schedule)]


def make_up_missed(now: datetime | None = None) -> list[int]:
    """At scheduler start: for each schedule whose pending time passed while no scheduler
    ran, run the latest missed occurrence once if it is within misfire_grace_s, and record
    every other one as missed. Returns the ids of the jobs queued."""
    now, queued = now or utcnow(), []
    for schedule in list_schedules():
        assert schedule.id is not None  # a stored schedule
        pending = pending_job(schedule.id)
        if not schedule.enabled or pending is None:
            continue
        assert pending.scheduled_for is not None  # a Scheduled job has its time
        if pending.scheduled_for > now:
            continue
        missed = _occurrences(schedule, pending.scheduled_for, now)
        latest = missed[-1]
        late = (now - latest).total_seconds()
        make_up = late <= schedule.misfire_grace_s
        skipped = missed[:-1] if make_up else missed
        with session_scope() as session:
            row = session.get(Schedule, schedule.id)
            row.misses = (row.misses + [{
                "at": at.isoformat(), "reason": "Jobdeck was not running (or no scheduler "
                f"was); {'a later run was made up instead' if make_up else ''}".rstrip("; ")
                + ("" if make_up else f"; more than misfire_grace_s={row.misfire_grace_s} s "
                                      "late")} for at in skipped])[-MAX_MISSES_KEPT:]
            session.add(row)
            job = session.get(Job, pending.id)
            if make_up:
                job.scheduled_for = latest  # the made-up run stands for its own time
                session.add(job)
                published = []
            else:
                _drop_pending(session, row.id)
                published = _plan_next(session, row, latest, now)
            published.append(_changed(session, row))
        _publish(published)
        if make_up:
            fired = fire(schedule.id, latest, now)
            if fired:
                assert fired.id is not None  # a stored job
                queued.append(fired.id)
    return queued


def _occurrences(schedule: Schedule, first: datetime, now: datetime) -> list[datetime]:
    found, trigger = [first], trigger_of(schedule)
    while len(found) < 10_000:
        upcoming = next_fire_time(trigger, schedule.timezone, found[-1], found[-1])
        if upcoming is None or upcoming > now:
            break
        found.append(upcoming)
    return found


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


def _plan_next(session, schedule: Schedule, previous: datetime | None, now: datetime
               ) -> list[events.Event]:
    """The Scheduled job of the next occurrence (none when disabled or all done)."""
    if not schedule.enabled:
        return []
    when = next_fire_time(trigger_of(schedule), schedule.timezone, previous,
                          max(now, previous + timedelta(microseconds=1)) if previous else now)
    if when is None:
        return []
    runbook = session.exec(select(Runbook).where(Runbook.name == schedule.runbook_name)).one()
    spec = stored_runbook(runbook.source, f"{runbook.name}.yaml")
    job = Job(runbook_id=runbook.id, runbook_name=runbook.name, runbook_title=runbook.title,
              runbook_version=runbook.version, source=runbook.source,
              status=JobStatus.scheduled, trigger=Trigger.schedule,
              started_by=f"schedule {schedule.id}", params=dict(schedule.params),
              created_at=utcnow(), scheduled_for=when, step_count=len(spec.steps),
              schedule_id=schedule.id)
    session.add(job)
    session.flush()
    assert job.id is not None  # the flush assigned it
    return [events.record(session, events.JOB_STATUS, job.id, status="scheduled")]


def _changed(session, schedule: Schedule) -> events.Event:
    """Tells the scheduler (in whatever process) to re-arm this schedule."""
    return events.Event(events.SCHEDULE_CHANGED, 0, {"schedule_id": schedule.id})


def _publish(published: list[events.Event]) -> None:
    for event in published:
        events.get_bus().publish(event)
