"""Pages that changed: each step's screenshot against the same step's in the runbook's last
completed job (docs/recovery.md). CONTRACT STUB: filled in by the visual-change work."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.errors import StepFailed

if TYPE_CHECKING:  # the execution imports this module
    from engine.runbook.model import Step
    from engine.runner.execution import JobExecution
    from engine.runner.step_context import StepRunState


class VisualCheck:
    """One job's comparisons; made with the job's execution."""

    def __init__(self, job: JobExecution):
        self.job = job

    async def compare(self, step: Step, st: StepRunState, row_id: int, jpeg: bytes,
                      failure: StepFailed | None) -> tuple[float | None, StepFailed | None]:
        """(share of pixels changed 0-1 or None when there was nothing to compare with,
        the step's failure: `failure`, or a visual_changed one when a check failed)."""
        return None, failure
