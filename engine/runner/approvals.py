"""Approval waits: the job stops before a step until a person approves or rejects it."""

import asyncio
import time

from playwright.async_api import Error as PlaywrightError

from engine.bus import events
from engine.errors import StepFailed
from engine.runbook.model import Step
from engine.runbook.templating import render
from engine.runner.locate import to_locator
from engine.store.db import session_scope
from engine.store.transitions import transition_job
from models import ArtifactKind, ErrorKind, JobStatus, StepRun, StepStatus


async def wait_for_approval(execution, step: Step, row: StepRun) -> None:
    """Block until a decision. The step's row (`row`, started when the wait began) stays
    open on approval, for the step to run on; a rejection or a timeout fails it and the
    job, a cancel closes it as cancelled and ends the job."""
    job_id, bus = execution.job_id, execution.bus
    assert step.approval is not None  # only approval steps wait for one
    shot, artifact_id = await _screenshot_with_target(execution, step)
    await asyncio.to_thread(_ask, job_id, bus, step, shot, artifact_id,
                            execution.runbook.settings.approval_timeout_s)
    decide = getattr(execution, "approver", None)
    decision: str
    by: str | None
    if decide:  # e.g. a question on the terminal: it may block
        decision, by = await asyncio.to_thread(decide, step), "the terminal"
    else:
        decision, by = await _await_decision(execution)
        if takeover := getattr(execution, "takeover", None):  # its row comes first
            await takeover.settle(f"the step was {DONE.get(decision, decision)} by {by}"
                                  if by else "no one approved the step in time")
    if decision == "cancel":
        execution.cancel(by)
        await asyncio.to_thread(
            execution.recorder.step_finished, row, StepStatus.cancelled,
            error_kind=ErrorKind.cancelled.value,
            error_message=f"cancelled by {execution.cancelled_by} while waiting for approval")
        return
    await asyncio.to_thread(execution.recorder.set_status, JobStatus.running,
                            decision=decision, by=by)
    if decision == "approve":
        return
    kind = ErrorKind.approval_rejected if decision == "reject" else ErrorKind.approval_timeout
    message = (f'step "{step.name}" was rejected by {by}' if decision == "reject" else
               f'no one approved step "{step.name}" within '
               f"{execution.runbook.settings.approval_timeout_s} s (approval_timeout_s)")
    await asyncio.to_thread(execution.recorder.step_finished, row, StepStatus.failed,
                            error_kind=kind.value, error_message=message)
    execution.failure, execution.stopped = StepFailed(kind, message), True


def _ask(job_id: int, bus, step: Step, shot: bytes | None, artifact_id: int | None,
         timeout_s: int) -> None:
    """The job waits: its status and the request (`timeout_s`: how long it waits, for
    reminders), recorded, then published."""
    approval = step.approval
    assert approval is not None
    with session_scope() as session:
        transition_job(session, job_id, JobStatus.waiting_for_approval)
        waiting = events.record(session, events.JOB_STATUS, job_id,
                                status=JobStatus.waiting_for_approval.value)
        request = events.record(
            session, events.APPROVAL_REQUESTED, job_id, step=step.name,
            description=step.description, message=approval.get("message"),
            risk=approval.get("risk"), jpeg=shot, artifact_id=artifact_id, timeout_s=timeout_s)
    bus.publish(waiting)
    bus.publish(request)


DONE = {"approve": "approved", "reject": "rejected", "cancel": "cancelled"}


async def _await_decision(execution) -> tuple[str, str | None]:
    """approve, reject or cancel (with who), or timeout after approval_timeout_s."""
    deadline = time.monotonic() + execution.runbook.settings.approval_timeout_s
    while time.monotonic() < deadline:
        action, by = await execution.control.pending()
        if action in ("approve", "reject", "cancel"):
            return action, by
        await execution.control.wait(deadline - time.monotonic())
    return "timeout", None


HIGHLIGHT = "el => { el.dataset.jobdeckOutline = el.style.outline; " \
            "el.style.outline = '4px solid #ff5722'; el.style.outlineOffset = '2px'; }"
UNHIGHLIGHT = "el => { el.style.outline = el.dataset.jobdeckOutline || ''; " \
              "el.style.outlineOffset = ''; delete el.dataset.jobdeckOutline; }"


async def _screenshot_with_target(execution, step: Step) -> tuple[bytes | None, int | None]:
    """The page as the approver should see it: the element the step will act on is
    outlined (when it can be found at once), secrets masked; saved as an artifact."""
    page, target = execution.ctx.page, None
    candidates = render(step.args, execution.values).get("selector") or []
    for candidate in candidates if isinstance(candidates, list) else []:
        try:
            locator = to_locator(page, candidate)
            if await locator.count() == 1:
                target = locator
                await target.evaluate(HIGHLIGHT, timeout=1000)
                break
        except PlaywrightError:
            continue
    try:
        shot = await page.screenshot(type="jpeg", quality=60, mask=execution.ctx.masks())
        artifact = await asyncio.to_thread(execution.ctx.artifacts.save, ArtifactKind.screenshot,
                                           f"approval {step.name}", shot, "jpg", None)
    except PlaywrightError:
        return None, None
    finally:
        if target is not None:
            try:
                await target.evaluate(UNHIGHLIGHT, timeout=1000)
            except PlaywrightError:
                pass
    return shot, artifact.id
