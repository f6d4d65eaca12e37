"""Job actions: the one table of what a person may do to a job, in which statuses, and
which role it needs. The engine's guards, the access checks, the console's buttons, the
API routes and the CLI commands all read it; a new action is one new row."""

from dataclasses import dataclass
from enum import StrEnum

from models.account import Role
from models.common import JobStatus

S = JobStatus


class JobAction(StrEnum):  # str() and f-strings give the value: "cancel"
    approve = "approve"
    reject = "reject"
    pause = "pause"
    resume = "resume"
    cancel = "cancel"
    rerun = "rerun"
    retry = "retry"


@dataclass(frozen=True)
class JobActionRule:
    statuses: frozenset[JobStatus]  # the job's statuses in which the action is available
    role: Role  # the least role that may take it
    done: str  # what it did, for messages and the activity list: "approved"
    summary: str  # one line: API route summary, CLI help
    activity: str  # for refusals: "<name> is a viewer: pausing jobs needs the operator role"
    decision: bool = False  # a decision on an approval: the four-eyes rule applies
    # it starts a new job (the API answers 201 with it; the console opens a dialog first)
    starts_job: bool = False


JOB_ACTIONS: dict[JobAction, JobActionRule] = {
    JobAction.approve: JobActionRule(
        frozenset({S.waiting_for_approval}), Role.approver, "approved",
        "Approve the step a job waits at", "approving steps", decision=True),
    JobAction.reject: JobActionRule(
        frozenset({S.waiting_for_approval}), Role.approver, "rejected",
        "Reject the step a job waits at", "rejecting steps", decision=True),
    JobAction.pause: JobActionRule(
        frozenset({S.running}), Role.operator, "paused",
        "Pause a running job before its next step", "pausing jobs"),
    JobAction.resume: JobActionRule(
        frozenset({S.paused}), Role.operator, "resumed", "Resume a paused job", "resuming jobs"),
    JobAction.cancel: JobActionRule(
        frozenset({S.scheduled, S.queued, S.running, S.paused, S.waiting_for_approval}),
        Role.operator, "cancelled", "Cancel a job (a running step is interrupted)",
        "cancelling jobs"),
    JobAction.rerun: JobActionRule(
        frozenset({S.completed, S.failed, S.cancelled}), Role.operator, "re-run",
        "Start the same runbook version again, with the same or changed params",
        "re-running jobs", starts_job=True),
    # Retry from step N (docs/recovery.md): a new job that restores the browser state the
    # job had reached before step N and runs from there; engine.service.recovery says when
    # a job cannot be retried (no snapshot, a step after the failed one).
    JobAction.retry: JobActionRule(
        frozenset({S.failed, S.cancelled}), Role.operator, "retried",
        "Retry a failed or cancelled job from a step, its browser state restored",
        "retrying jobs", starts_job=True),
}
