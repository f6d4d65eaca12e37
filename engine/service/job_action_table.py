"""Which action a person may take on a job in which status (one table for every caller)."""

from models import Job, JobStatus

S = JobStatus
# action → the statuses in which it is available
AVAILABLE: dict[str, set[JobStatus]] = {
    "approve": {S.waiting_for_approval},
    "reject": {S.waiting_for_approval},
    "pause": {S.running},
    "resume": {S.paused},
    "cancel": {S.scheduled, S.queued, S.running, S.paused, S.waiting_for_approval},
    "rerun": {S.completed, S.failed, S.cancelled},
}
PAST = {"approve": "approved", "reject": "rejected", "pause": "paused", "resume": "resumed",
        "cancel": "cancelled", "rerun": "re-run"}


class ActionRefused(Exception):
    """Not available in the job's current status, or another action is still pending."""


def available_actions(job: Job) -> list[str]:
    """What a person may do to this job now (nothing while an action is pending)."""
    if job.requested_action:
        return []
    return [a for a, statuses in AVAILABLE.items() if job.status in statuses]
