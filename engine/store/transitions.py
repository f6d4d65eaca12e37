"""The one place job statuses change: the runbook format's transition table, enforced
with a compare-and-set so that two racing changes cannot both win."""

from sqlalchemy import update
from sqlmodel import Session, col

from engine.errors import Conflict
from models import AuditEvent, Job, JobAction, JobStatus

S = JobStatus
JOB_TRANSITIONS: dict[JobStatus, set[JobStatus]] = {
    S.scheduled: {S.queued, S.cancelled},
    S.queued: {S.running, S.cancelled},
    S.running: {S.waiting_for_approval, S.paused, S.completed, S.failed, S.cancelled},
    S.waiting_for_approval: {S.running, S.failed, S.cancelled},
    S.paused: {S.running, S.cancelled},
    S.completed: set(),
    S.failed: set(),
    S.cancelled: set(),
}


# What each job action that a worker carries out leads to (besides ending the job); its
# audit record gets the status it really led to when the job gets there. A rejected step
# fails, so a rejection's outcome is where the job ends (failed, or on with
# continue_on_error).
EFFECTS: dict[JobAction, set[JobStatus]] = {
    JobAction.pause: {S.paused}, JobAction.resume: {S.running},
    JobAction.cancel: {S.cancelled}, JobAction.approve: {S.running},
    JobAction.reject: set(),
}


class TransitionRefused(Conflict):
    """The job is not in a status from which the change is allowed."""


def sources_of(target: JobStatus) -> list[JobStatus]:
    return [s for s, targets in JOB_TRANSITIONS.items() if target in targets]


def transition_job(session: Session, job_id: int, target: JobStatus,
                   only_from: set[JobStatus] | None = None, **fields) -> Job:
    """Move a job to `target` (setting `fields` too) if its current status allows it.

    `only_from` narrows the allowed sources (e.g. claiming takes only `queued`).
    """
    allowed = [s for s in sources_of(target) if only_from is None or s in only_from]
    result = session.exec(
        update(Job).where(col(Job.id) == job_id, col(Job.status).in_(allowed))
        .values(status=target, **fields))
    job = session.get(Job, job_id)
    if job is None:
        raise TransitionRefused(f"job {job_id} does not exist")
    if result.rowcount != 1:
        raise TransitionRefused(
            f"job {job_id} is {job.status.value.replace('_', ' ')}: it cannot become "
            f"{target.value.replace('_', ' ')}")
    session.refresh(job)
    _record_outcome(session, job_id, target)
    return job


def _record_outcome(session: Session, job_id: int, target: JobStatus) -> None:
    """Complete the audit records of actions asked for on this job and not carried out yet
    (recorded with no "after"): their real before → after, e.g. running → paused."""
    led_here = [a.value for a, effects in EFFECTS.items() if target in effects
                or target.is_final]
    session.exec(update(AuditEvent).where(
        col(AuditEvent.job_id) == job_id, col(AuditEvent.status_after).is_(None),
        col(AuditEvent.action).in_(led_here)).values(status_after=target.value))
