"""Schedules, the engine's public API: create, change and delete them, read them with their
pending job and recent runs. How they fire is engine/service/schedule_firing.py."""

import os
from datetime import datetime
from pathlib import Path

from sqlmodel import col, select

from engine.errors import NotFound
from engine.identity import audit
from engine.identity.access import Actor
from engine.runbook import stored_runbook
from engine.service import schedule_firing
from engine.service.jobs import resolve_params
from engine.service.runbooks import refuse_archived
from engine.service.schedule_firing import fire, make_up_missed
from engine.service.schedule_times import InvalidSchedule, occurrences, of_schedule, preview, zone
from engine.store.db import read_scope, session_scope
from models import AuditEvent, Job, JobStatus, Runbook, Schedule, ScheduleOverlap, utcnow

__all__ = ["InvalidSchedule", "create_schedule", "delete_schedule", "fire", "get_schedule",
           "list_schedules", "make_up_missed", "next_times", "pending_job", "recent_runs",
           "schedule_audit", "update_schedule"]
WHEN = ("cron", "interval_s", "at")


def server_timezone() -> str:
    """The default time zone of new schedules: $TZ, /etc/timezone, else UTC."""
    name = os.environ.get("TZ", "").lstrip(":")
    if not name and Path("/etc/timezone").exists():
        name = Path("/etc/timezone").read_text().strip()
    return name or "UTC"


def next_times(schedule: Schedule, count: int = 5, now: datetime | None = None) -> list:
    """The next `count` fire times (aware, UTC), as the scheduler will plan them."""
    return preview(of_schedule(schedule), count, now)


def _check(session, schedule: Schedule, new_times: bool) -> None:
    """InvalidSchedule or InvalidParams when the schedule cannot fire; its `at` is made
    aware in its zone and its params resolved against the runbook's."""
    row = session.exec(select(Runbook).where(Runbook.name == schedule.runbook_name)).first()
    if row is None:
        raise InvalidSchedule(f'there is no runbook named "{schedule.runbook_name}"')
    refuse_archived(row, "schedule it")
    occurrences(schedule.cron, schedule.interval_s, schedule.at, schedule.timezone,
                new=new_times)
    if schedule.at is not None and schedule.at.tzinfo is None:  # a wall time in its zone
        schedule.at = schedule.at.replace(tzinfo=zone(schedule.timezone))
    schedule.overlap = ScheduleOverlap(schedule.overlap)
    schedule.params = resolve_params(stored_runbook(row.source, f"{row.name}.yaml"),
                                     schedule.params)


def create_schedule(runbook: str, params: dict | None = None, *, cron: str | None = None,
                    interval_s: int | None = None, at: datetime | None = None,
                    timezone: str | None = None, enabled: bool = True,
                    misfire_grace_s: int = 300, overlap: str = "skip",
                    now: datetime | None = None, by: Actor | None = None) -> Schedule:
    """A new schedule and its first Scheduled job. InvalidSchedule or InvalidParams when
    it cannot fire (the message says why)."""
    schedule = Schedule(runbook_name=runbook,
                        params={k: str(v) for k, v in (params or {}).items()},
                        cron=cron, interval_s=interval_s, at=at,
                        timezone=timezone or server_timezone(), enabled=enabled,
                        misfire_grace_s=misfire_grace_s, overlap=ScheduleOverlap(overlap))
    with session_scope() as session:
        _check(session, schedule, new_times=True)
        session.add(schedule)
        session.flush()
        published = schedule_firing.replan(session, schedule, now or utcnow())
        _audit(session, by, "schedule_created", schedule, None, _when(schedule))
    schedule_firing.publish(published)
    return schedule


def _when(schedule: Schedule) -> str:
    """A schedule in a few words, for the audit log."""
    when = (f"cron {schedule.cron}" if schedule.cron else f"every {schedule.interval_s} s"
            if schedule.interval_s else f"at {schedule.at.isoformat() if schedule.at else '?'}")
    params = ", ".join(f"{k}={v}" for k, v in sorted(schedule.params.items()))
    return (f"{schedule.runbook_name}: {when} {schedule.timezone}, overlap "
            f"{ScheduleOverlap(schedule.overlap).value}" + (f", params {params}" if params
                                                             else "")
            + ("" if schedule.enabled else " (off)"))


def _audit(session, by: Actor | None, action: str, schedule: Schedule, before: str | None,
           after: str | None) -> None:
    if by is not None:
        audit.record(by.name, action, target=f"schedule {schedule.id}", source=by.source,
                     before=before, after=after, session=session)


def update_schedule(schedule_id: int, now: datetime | None = None, by: Actor | None = None,
                    **changes) -> Schedule:
    """Change a schedule (any of create_schedule's keywords but runbook); its pending job
    is replaced by one at the new next time. NotFound, InvalidSchedule, InvalidParams."""
    with session_scope() as session:
        schedule = _stored(session, schedule_id)
        before = _when(schedule)
        if "params" in changes:
            changes["params"] = {k: str(v) for k, v in (changes["params"] or {}).items()}
        # a new interval or time must meet today's rules; an unchanged one stays valid
        new_times = any(changes.get(k) is not None and changes[k] != getattr(schedule, k)
                        for k in ("interval_s", "at"))
        if changes.get("interval_s") not in (None, schedule.interval_s):
            schedule.interval_from = utcnow()  # a new interval counts from now
        for key, value in changes.items():
            setattr(schedule, key, value)
        if set(WHEN) & changes.keys():  # one kind replaces the others
            for kind in set(WHEN) - changes.keys():
                setattr(schedule, kind, None)
        schedule.updated_at = utcnow()
        _check(session, schedule, new_times=new_times)
        session.add(schedule)
        published = schedule_firing.replan(session, schedule, now or utcnow())
        _audit(session, by, "schedule_changed", schedule, before, _when(schedule))
    schedule_firing.publish(published)
    return schedule


def delete_schedule(schedule_id: int, by: Actor | None = None) -> None:
    """Delete a schedule: its pending job goes, it fires no more and is listed no more.
    Its row stays (hidden) so that its id is never reused and the jobs it ran still name
    it. NotFound when there is none (or it was deleted already)."""
    with session_scope() as session:
        schedule = _stored(session, schedule_id)
        schedule.enabled, schedule.deleted_at = False, utcnow()
        session.add(schedule)
        published = schedule_firing.replan(session, schedule, utcnow())
        _audit(session, by, "schedule_deleted", schedule, _when(schedule), None)
    schedule_firing.publish(published)


def _stored(session, schedule_id: int) -> Schedule:
    schedule = session.get(Schedule, schedule_id)
    if schedule is None or schedule.deleted_at is not None:
        raise NotFound(f"there is no schedule {schedule_id}" + (
            " (it was deleted)" if schedule is not None else ""))
    return schedule


def list_schedules() -> list[Schedule]:
    """Every schedule not deleted, oldest first."""
    with read_scope() as session:
        return list(session.exec(select(Schedule).where(col(Schedule.deleted_at).is_(None))
                                 .order_by(col(Schedule.id))))


def get_schedule(schedule_id: int) -> Schedule | None:
    """The schedule, None when there is none or it was deleted."""
    with read_scope() as session:
        schedule = session.get(Schedule, schedule_id)
        return schedule if schedule is not None and schedule.deleted_at is None else None


def pending_job(schedule_id: int) -> Job | None:
    """The schedule's next occurrence, a job in status Scheduled."""
    with read_scope() as session:
        return session.exec(select(Job).where(Job.schedule_id == schedule_id,
                                              Job.status == JobStatus.scheduled)).first()


def recent_runs(schedule_id: int, limit: int = 10) -> list[Job]:
    """The schedule's latest jobs that left Scheduled (queued, running or ended), newest
    first."""
    with read_scope() as session:
        return list(session.exec(select(Job).where(Job.schedule_id == schedule_id,
                                                   Job.status != JobStatus.scheduled)
                                 .order_by(col(Job.id).desc()).limit(limit)))


def schedule_audit(schedule_id: int, limit: int = 50) -> list[AuditEvent]:
    """Who created, changed or deleted the schedule, newest first."""
    with read_scope() as session:
        return list(session.exec(select(AuditEvent)
                                 .where(AuditEvent.target == f"schedule {schedule_id}")
                                 .order_by(col(AuditEvent.id).desc()).limit(limit)))
