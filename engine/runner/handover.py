"""The `handover` step: the job pauses and asks a person to take control of its page, do
what a runbook cannot (a one-time code, a CAPTCHA), and hand back."""

import asyncio
import time

from engine.bus import events
from engine.errors import StepFailed
from engine.runbook.actions import step_action
from engine.runner.step_context import JobContext, StepRunState
from engine.store.db import session_scope
from engine.store.transitions import transition_job
from models import ErrorKind, JobStatus, StepRun


@step_action("handover", required=("message",))
async def handover(ctx: JobContext, st: StepRunState, args: dict) -> None:
    """Pause until someone takes control and hands back (or resumes the job)."""
    if ctx.handover is None:  # only a job's execution can wait for a person
        raise StepFailed(ErrorKind.action_failed, "this run cannot hand over to a person")
    await ctx.handover(ctx.redactor.text(str(args["message"])), st)


async def wait_for_handover(execution, message: str, st: StepRunState) -> None:
    """The job is paused on this step (its row stays running, it is the current step) and
    `handover_requested` {step, message, timeout_s} is recorded and published. Returns
    when the job is resumed: by a hand back, or a plain Resume (which, when no one took
    control meanwhile, the step's description says: "resumed by NAME without taking
    control"). Raises StepFailed: handover_timeout after the runbook's approval_timeout_s,
    cancelled on a cancel."""
    step, timeout_s = st.step, execution.runbook.settings.approval_timeout_s
    await asyncio.to_thread(_ask, execution.job_id, execution.bus, step.name, message,
                            timeout_s)
    taken_before = execution.takeover.taken
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        action, by = await execution.control.pending()
        if action == "cancel" or execution.control.cancel_requested.is_set():
            execution.cancel(by or execution.cancelled_by)
            who = execution.cancelled_by
            await execution.takeover.settle(f"the job was cancelled by {who}")
            raise StepFailed(ErrorKind.cancelled, f"cancelled by {who} while waiting for "
                             "someone to take control")
        if action == "resume":
            await execution.takeover.settle(f"the job was resumed by {by}")
            if execution.takeover.taken == taken_before:
                await asyncio.to_thread(_describe, st.step_run_id,
                                        f"resumed by {by} without taking control")
            await asyncio.to_thread(execution.recorder.set_status, JobStatus.running, by=by)
            return
        await execution.control.wait(deadline - time.monotonic())
    await execution.takeover.settle("the handover timed out")
    await asyncio.to_thread(execution.recorder.set_status, JobStatus.running)
    raise StepFailed(ErrorKind.handover_timeout,
                     f'no one took control and handed back at step "{step.name}" within '
                     f"{timeout_s} s (approval_timeout_s)")


def _describe(step_run_id: int, said: str) -> None:
    """Add `said` to the step's description (after the runbook's own, if any)."""
    with session_scope() as session:
        row = session.get(StepRun, step_run_id)
        if row is not None:
            row.description = f"{row.description}; {said}" if row.description else said
            session.add(row)


def _ask(job_id: int, bus, step: str, message: str, timeout_s: int) -> None:
    """The job pauses for a person: its status and the request, recorded, then published."""
    with session_scope() as session:
        transition_job(session, job_id, JobStatus.paused)
        paused = events.record(session, events.JOB_STATUS, job_id,
                               status=JobStatus.paused.value, handover=step)
        request = events.record(session, events.HANDOVER_REQUESTED, job_id, step=step,
                                message=message, timeout_s=timeout_s)
    bus.publish(paused)
    bus.publish(request)
