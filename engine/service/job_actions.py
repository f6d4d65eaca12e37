"""Job actions: approve, reject, pause, resume, cancel, re-run and retry, one function for
all.

The console, the API and the CLI call `act`. An action is written to the job's row
(`requested_action`) with a compare-and-set, so of two racing actions exactly one wins;
the worker running the job reacts to it between steps (and to cancel at once, see
`engine/runner/control_listener.py`). A queued or scheduled job is cancelled right here.
"""

from sqlalchemy import update
from sqlmodel import col, select

from engine.bus import events
from engine.errors import ActionRefused, Forbidden, InvalidInput, NotFound
from engine.identity import audit
from engine.identity.access import four_eyes_forbids, may
from engine.identity.accounts import list_users
from engine.service import recovery
from engine.service.job_files import JobFiles
from engine.service.jobs import rerun_job
from engine.service.report import publish_report
from engine.service.schedule_firing import skip_occurrence
from engine.settings import current_settings
from engine.store.db import read_scope, session_scope
from engine.store.transitions import TransitionRefused, transition_job
from models import JOB_ACTIONS, AuditEvent, ErrorKind, Job, JobAction, JobStatus, utcnow

S = JobStatus
__all__ = ["ActionRefused", "Forbidden", "act", "available_actions", "audit_trail",
           "check_four_eyes", "other_approvers"]


def available_actions(job: Job) -> list[JobAction]:
    """What a person may do to this job now (nothing while an action is pending)."""
    if job.requested_action:
        return []
    return [action for action, rule in JOB_ACTIONS.items() if job.status in rule.statuses]


def act(job_id: int, action: JobAction | str, *, by: str = "someone",
        comment: str | None = None, source: str | None = None,
        params: dict[str, str] | None = None, files: JobFiles | None = None,
        from_step: str | int | None = None, version: str = "old") -> Job:
    """Request `action` on a job; returns the job (for `rerun` and `retry`, the new one).

    `params`, `files`: a re-run's changed text params and files (jobs.rerun_job);
    `from_step` (a step's name or its row's ordinal; None: the failed step) and `version`
    ("old": the job's runbook version, "new": the current one): where a retry starts and
    what it runs (recovery.retry_job). The other actions take none of them.

    Raises NotFound: no such job; ActionRefused: the job's status does not allow it (a
    retry also: no snapshot, a step after the failed one); Forbidden: `by` started the job
    and may not decide on it (four eyes); InvalidInput: no such action, or params, a step
    or a version that do not fit. Nothing changes when refused; a Forbidden attempt is
    recorded in the audit log."""
    if action not in JobAction.__members__:
        raise InvalidInput(f"unknown action {action!r}: use one of {', '.join(JobAction)}")
    action = JobAction(action)
    if action == JobAction.rerun:
        return rerun_job(job_id, by=by, comment=comment, source=source, params=params,
                         files=files)
    if action == JobAction.retry:
        return recovery.retry_job(job_id, from_step, version, by=by, comment=comment,
                                  source=source)
    if JOB_ACTIONS[action].decision:
        check_four_eyes(job_id, action, by, source)
    published = []
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound(f"there is no job {job_id}")
        before = job.status
        if action == "cancel" and before in (S.queued, S.scheduled):
            job = _cancel_before_start(session, job_id, by)
            published.append(events.record(session, events.JOB_STATUS, job_id,
                                           status=job.status.value))
            if before == S.scheduled:  # skip this occurrence: the next one takes its place
                published += skip_occurrence(session, job, utcnow())
        else:
            result = session.exec(update(Job).where(
                col(Job.id) == job_id, col(Job.status).in_(JOB_ACTIONS[action].statuses),
                col(Job.requested_action).is_(None)).values(requested_action=action,
                                                            requested_by=by))
            if result.rowcount != 1:
                session.refresh(job)
                raise ActionRefused(_refusal(job, action))
            session.refresh(job)
            published.append(events.record(session, events.CONTROL, job_id, action=action,
                                           by=by, comment=comment))
        # a request the worker carries out gets its "after" when the job gets there
        # (engine/store/transitions.py); a cancel before the start is done already
        audit.record(by, action, job_id=job_id, comment=comment, source=source,
                     before=before.value,
                     after=job.status.value if job.status != before else None,
                     session=session)
    for event in published:
        events.get_bus().publish(event)
    if job.status == S.cancelled:
        publish_report(job_id, events.get_bus(), current_settings().data_dir)
    return job


def check_four_eyes(job_id: int, action: JobAction, by: str, source: str | None) -> None:
    """Raises Forbidden (recorded in the audit log as "<action>_refused") when the
    four-eyes rule refuses `by` this decision on the job; nothing when it allows it."""
    with read_scope() as session:
        job = session.get(Job, job_id)
    if job is None or job.status != S.waiting_for_approval:
        return  # the guard below refuses it with the status
    if four_eyes_forbids(action, started_by=job.started_by, actor=by,
                         four_eyes=current_settings().four_eyes):
        refusal = (f"{by} started job {job_id}: another approver must {action.value} it "
                   "(the four-eyes rule)")
        audit.record(by, f"{action.value}_refused", job_id=job_id, source=source,
                     comment=refusal)
        raise Forbidden(refusal)


def other_approvers(started_by: str | None) -> list[str]:
    """The active users besides the job's starter who may approve it: who can finish an
    approval under the four-eyes rule (none: a lone admin must add one, or turn the rule
    off with JOBDECK_FOUR_EYES=false)."""
    return [u.name for u in list_users()
            if not u.disabled and u.name != started_by and may(u.role, JobAction.approve)]


def _cancel_before_start(session, job_id: int, by: str) -> Job:
    try:
        return transition_job(session, job_id, S.cancelled, only_from={S.queued, S.scheduled},
                              finished_at=utcnow(), error_kind=ErrorKind.cancelled.value,
                              error_message=f"cancelled by {by} before it started")
    except TransitionRefused as exc:  # a worker claimed it a moment ago: cancel it running
        raise ActionRefused(f"{exc}; try again: it has just started") from None


def _refusal(job: Job, action: JobAction) -> str:
    status = job.status.value.replace("_", " ")
    rule = JOB_ACTIONS[action]
    if job.requested_action and job.status in rule.statuses:
        return (f"job {job.id} already has a pending {job.requested_action} (by "
                f"{job.requested_by}); wait a moment and reload")
    where = ", ".join(s.value.replace("_", " ") for s in JobStatus if s in rule.statuses)
    return f"job {job.id} is {status}: it can be {rule.done} only when {where}"


def audit_trail(job_id: int) -> list[AuditEvent]:
    """The actions taken on a job, oldest first."""
    with read_scope() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.job_id == job_id)
                                 .order_by(col(AuditEvent.id))))
