"""Approval waits: the job stops before a step until a person approves or rejects it."""

import time

from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import update

from engine import events
from engine.db import session_scope
from engine.errors import StepFailed
from engine.runbook import Step
from engine.transitions import transition_job
from models import ArtifactKind, ErrorKind, Job, JobStatus, StepStatus

POLL_S = 0.25


def request_decision(job_id: int, decision: str) -> None:
    """Record an approve/reject for a job that waits; refused in any other status."""
    with session_scope() as session:
        result = session.exec(update(Job).where(
            Job.id == job_id, Job.status == JobStatus.waiting_for_approval,
            Job.requested_action.is_(None)).values(requested_action=decision))
        if result.rowcount != 1:
            job = session.get(Job, job_id)
            if job is None:
                raise LookupError(f"job {job_id} does not exist")
            raise ValueError(f"job {job_id} is {job.status.value.replace('_', ' ')}: "
                             f"only a job waiting for approval can be {decision}d")


def wait_for_approval(execution, step: Step) -> None:
    """Block until a decision; a rejection or a timeout fails the job at this step."""
    job_id, bus = execution.job_id, execution.bus
    try:
        shot = execution.ctx.page.screenshot(type="jpeg", quality=60, mask=execution.ctx.masked)
        artifact_id = execution.ctx.artifacts.save(ArtifactKind.screenshot,
                                                   f"approval {step.name}", shot, "jpg", None).id
    except PlaywrightError:
        shot = artifact_id = None
    with session_scope() as session:
        transition_job(session, job_id, JobStatus.waiting_for_approval, requested_action=None)
        waiting = events.record(session, events.JOB_STATUS, job_id,
                                status=JobStatus.waiting_for_approval.value)
        request = events.record(
            session, events.APPROVAL_REQUESTED, job_id, step=step.name,
            description=step.description, message=step.approval.get("message"),
            risk=step.approval.get("risk"), jpeg=shot, artifact_id=artifact_id)
    bus.publish(waiting)
    bus.publish(request)
    decide = getattr(execution, "approver", None)
    decision = decide(step) if decide else _poll(job_id, execution.runbook.settings)
    with session_scope() as session:
        transition_job(session, job_id, JobStatus.running, requested_action=None)
        event = events.record(session, events.JOB_STATUS, job_id, status="running",
                              decision=decision)
    bus.publish(event)
    if decision == "approve":
        return
    kind = ErrorKind.approval_rejected if decision == "reject" else ErrorKind.approval_timeout
    message = (f'step "{step.name}" was rejected' if decision == "reject" else
               f'no one approved step "{step.name}" within '
               f"{execution.runbook.settings.approval_timeout_s} s (approval_timeout_s)")
    row = execution.recorder.step_started(step.name, step.action, step.description)
    execution.recorder.step_finished(row, StepStatus.failed, error_kind=kind.value,
                                     error_message=message)
    execution.failure, execution.stopped = StepFailed(kind, message), True


def _poll(job_id: int, rb_settings) -> str:
    deadline = time.monotonic() + rb_settings.approval_timeout_s
    while time.monotonic() < deadline:
        with session_scope() as session:
            action = session.get(Job, job_id).requested_action
        if action in ("approve", "reject"):
            return action
        time.sleep(POLL_S)
    return "timeout"
