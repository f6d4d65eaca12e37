"""What happened that someone should hear of: the notifier's detection round.

Job happenings come from the recorded job events after the notifier's cursor (job_status
failed/completed, job_finished, approval_requested, handover_requested); the others from
the records as they are now: jobs still waiting at 80 % of their wait's timeout, schedules'
misses, the scheduler lock. Each happening has a key ("job_failed:42"), and a channel gets
at most one delivery per key (a unique index), so rounds may overlap, several consoles may
run them, and a restart replays nothing twice."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import func
from sqlmodel import col, select

from engine.bus import events
from engine.notify import messages
from engine.notify.messages import Message
from engine.notify.sending import add_delivery
from engine.runbook import stored_runbook
from engine.runbook.model import RunbookSettings
from engine.service.health import scheduler_status
from engine.settings import current_settings
from engine.store.db import read_scope, session_scope
from models import (
    Job,
    JobEvent,
    JobStatus,
    NotificationChannel,
    NotificationDelivery,
    NotifierCursor,
    Schedule,
    utcnow,
)

log = logging.getLogger(__name__)
WAITS = (events.APPROVAL_REQUESTED, events.HANDOVER_REQUESTED)
ENDS = (events.JOB_STATUS, events.JOB_FINISHED)
REMIND_AT = 0.8  # of the wait's timeout
# Events are read again for this long after they were recorded: with PostgreSQL an event
# with a lower id can commit after one with a higher id; the delivery keys drop repeats.
LAG = timedelta(seconds=10)
MISSES_WITHIN = timedelta(days=7)  # older misses are history, not news


@dataclass
class Happening:
    """Something to tell the channels that subscribe to `event` (and to `runbook`, when
    it is about one)."""

    event: str
    key: str
    compose: Callable[[], Message]
    runbook: str | None = None
    job_id: int | None = None
    since: datetime | None = None  # only channels that existed then hear of it


def start_cursor() -> int:
    """The notifier's cursor, made at the current last event the first time: history
    recorded before notifications existed is not sent."""
    with read_scope() as session:  # a round takes no write lock unless it writes
        cursor = session.get(NotifierCursor, 1)
        if cursor is not None:
            return cursor.last_event_id
    with session_scope() as session:
        cursor = session.get(NotifierCursor, 1)
        if cursor is None:
            top = session.exec(select(func.max(JobEvent.id))).one() or 0
            cursor = NotifierCursor(id=1, last_event_id=top)
            session.add(cursor)
        return cursor.last_event_id


def _recovered(session, job: Job) -> bool:
    """The runbook's previous finished (completed or failed) job failed."""
    previous = session.exec(select(Job).where(
        Job.runbook_name == job.runbook_name, Job.id != job.id,
        col(Job.status).in_([JobStatus.completed, JobStatus.failed]),
        col(Job.finished_at) <= (job.finished_at or utcnow()))
        .order_by(col(Job.finished_at).desc(), col(Job.id).desc()).limit(1)).first()
    return previous is not None and previous.status == JobStatus.failed


def _job_end(session, job: Job) -> list[Happening]:
    if job.status == JobStatus.failed:
        kinds = ["job_failed"]
    elif job.status == JobStatus.completed:
        kinds = ["job_completed"] + (["job_recovered"] if _recovered(session, job) else [])
    else:
        return []
    return [Happening(kind, f"{kind}:{job.id}", partial(messages.job_message, session, kind, job),
                      job.runbook_name, job.id) for kind in kinds]


def timeout_of(job: Job, data: dict) -> float:
    """A wait's timeout in seconds: the event's `timeout_s`, else the runbook's
    settings.approval_timeout_s, else (the runbook is gone or no longer loads: logged)
    the default approval_timeout_s."""
    if data.get("timeout_s"):
        return float(data["timeout_s"])
    try:
        return float(stored_runbook(job.source, f"{job.runbook_name}.yaml")
                     .settings.approval_timeout_s)
    except Exception as exc:  # one job's runbook must not stop every round
        log.warning("job %s: the wait's timeout from runbook %s: %s; using the default",
                    job.id, job.runbook_name, exc)
        return float(RunbookSettings().approval_timeout_s)


def _from_events(session, after: int) -> tuple[list[Happening], int]:
    """Happenings of the events after `after`, and the cursor to keep (events younger than
    LAG are read again next round)."""
    rows = session.exec(select(JobEvent).where(
        col(JobEvent.id) > after, col(JobEvent.kind).in_(ENDS + WAITS))
        .order_by(col(JobEvent.id)).limit(500)).all()
    found: list[Happening] = []
    seen_jobs: set[int] = set()
    for row in rows:
        if row.kind in ENDS and row.job_id not in seen_jobs:
            if row.kind == events.JOB_STATUS and row.data.get("status") not in ("failed",
                                                                                "completed"):
                continue
            job = session.get(Job, row.job_id)
            if job is not None:
                seen_jobs.add(row.job_id)
                found += _job_end(session, job)
        elif row.kind in WAITS:
            job = session.get(Job, row.job_id)
            if job is None:
                continue
            data = dict(row.data or {})
            timeout = timeout_of(job, data)
            data.setdefault("timeout_s", timeout)
            deadline = row.created_at + timedelta(seconds=timeout)
            found.append(Happening(
                row.kind, f"{row.kind}:{row.id}",
                partial(messages.approval_message, row.kind, job, data, deadline),
                job.runbook_name, job.id))
    settled = [r.id for r in rows if r.created_at <= utcnow() - LAG and r.id is not None]
    if len(rows) == 500:  # a backlog: go on from the last one read
        settled = [rows[-1].id or after]
    else:
        newest = session.exec(select(func.max(JobEvent.id)).where(
            JobEvent.created_at <= utcnow() - LAG)).one()
        settled.append(newest or after)
    return found, max([after, *settled])


def _waits(session) -> list[tuple[Job, JobEvent, dict, datetime, datetime]]:
    """The current wait of each waiting or paused job (a request newer than the job's
    last status change): (job, request event, its data with timeout_s, when the reminder
    is due, when the wait times out)."""
    found = []
    waiting = session.exec(select(Job).where(col(Job.status).in_(
        [JobStatus.waiting_for_approval, JobStatus.paused]))).all()
    for job in waiting:
        request = session.exec(select(JobEvent).where(
            JobEvent.job_id == job.id, col(JobEvent.kind).in_(WAITS))
            .order_by(col(JobEvent.id).desc()).limit(1)).first()
        status = session.exec(select(func.max(JobEvent.id)).where(
            JobEvent.job_id == job.id, JobEvent.kind == events.JOB_STATUS)).one() or 0
        if request is None or (request.id or 0) < status:
            continue
        data = dict(request.data or {})
        timeout = timeout_of(job, data)
        data["timeout_s"] = timeout
        data["kind"] = "handover" if request.kind == events.HANDOVER_REQUESTED else "approval"
        found.append((job, request, data,
                      request.created_at + timedelta(seconds=timeout * REMIND_AT),
                      request.created_at + timedelta(seconds=timeout)))
    return found


def _expiring(session, now: datetime) -> list[Happening]:
    """Waits still unanswered at 80 % of their timeout."""
    return [Happening("approval_expiring", f"approval_expiring:{request.id}",
                      partial(messages.approval_message, "approval_expiring", job, data,
                              deadline), job.runbook_name, job.id)
            for job, request, data, remind_at, deadline in _waits(session)
            if remind_at <= now < deadline]


def next_reminder_at(now: datetime | None = None) -> datetime | None:
    """When the soonest reminder still to come is due (None: none), so that the notifier
    wakes for it rather than at its next round."""
    now = now or utcnow()
    with read_scope() as session:
        times = [remind_at for _, _, _, remind_at, _ in _waits(session) if remind_at > now]
    return min(times, default=None)


def _missed(session, now: datetime) -> list[Happening]:
    """Each schedule's recorded misses of the last week."""
    found = []
    schedules = session.exec(select(Schedule).where(col(Schedule.deleted_at).is_(None))).all()
    for schedule in schedules:
        for miss in schedule.misses or []:
            try:
                at = datetime.fromisoformat(miss["at"])
            except (KeyError, TypeError, ValueError):
                continue
            if at.tzinfo is None or at < now - MISSES_WITHIN:
                continue
            found.append(Happening(
                "schedule_missed", f"schedule_missed:{schedule.id}:{miss['at']}",
                partial(messages.schedule_missed_message, schedule.id or 0,
                        schedule.runbook_name, miss), schedule.runbook_name, since=at))
    return found


def _scheduler_down(now: datetime) -> list[Happening]:
    """No live scheduler for longer than one lease: once per outage (keyed by the time
    the last holder's lock lapsed)."""
    status = scheduler_status()
    expired = status["expires_at"]
    lease = timedelta(seconds=current_settings().scheduler_lease_seconds)
    # judged at `now` (not by status["running"]): a lock that lapsed less than a lease
    # ago may be a renewal that is merely late
    if not status["holder"] or expired is None or now < expired + lease:
        return []
    return [Happening("scheduler_down", f"scheduler_down:{expired.isoformat()}",
                      partial(messages.scheduler_down_message, status), since=expired)]


def _targets(channels: list[NotificationChannel], happening: Happening) -> list:
    return [c for c in channels
            if happening.event in c.events
            and (not c.runbooks or happening.runbook is None or happening.runbook in c.runbooks)
            and (happening.since is None or c.created_at <= happening.since)]


def detect_round(now: datetime | None = None) -> int:
    """One detection round: make the deliveries for whatever happened since the last one;
    how many deliveries were made. The sending is engine/notify/sending.py's."""
    now = now or utcnow()
    after = start_cursor()
    with read_scope() as session:
        channels = list(session.exec(select(NotificationChannel)
                                     .where(col(NotificationChannel.enabled).is_(True))))
        found, cursor = _from_events(session, after)
        if channels:
            found += _expiring(session, now) + _missed(session, now) + _scheduler_down(now)
        planned = []
        for happening in found:
            targets = _targets(channels, happening)
            if not targets:
                continue
            known = set(session.exec(select(NotificationDelivery.channel_id).where(
                NotificationDelivery.key == happening.key)))
            targets = [c for c in targets if c.id not in known]
            if targets:
                try:
                    planned.append((happening, targets, happening.compose()))
                except Exception:  # one message that cannot be written stops no other
                    log.exception("notification %s: the message", happening.key)
    made = 0
    if not planned and cursor <= after:
        return 0
    with session_scope() as session:
        for happening, targets, message in planned:
            for channel in targets:
                made += add_delivery(session, channel, happening.key, message,
                                     job_id=happening.job_id) is not None
        if cursor > after:  # compare-and-set: a racing console's move is not undone
            stored = session.get(NotifierCursor, 1)
            if stored is not None and stored.last_event_id < cursor:
                stored.last_event_id, stored.updated_at = cursor, utcnow()
                session.add(stored)
    return made
