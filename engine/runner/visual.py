"""Pages that changed: each step's screenshot against the same step's in the runbook's last
completed job (docs/recovery.md).

The baseline is the "after" screenshot of the step run with the same name at the same
place in loops ("after fill (iteration 2)", JobContext.artifact_name) in the newest job of
the runbook that completed and has it (a retried job's restored steps took none), this one
excluded. Which of those exist is read once per job,
on its first comparison; each file is read when its step comes. The comparison itself
(engine/runner/image_diff.py) runs in a thread, off the browser's event loop.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import col, select

from engine.errors import StepFailed, StorageFull
from engine.runner.image_diff import Difference, diff_image, difference
from engine.store.artifacts import DIFF_PREFIX, artifact_file
from engine.store.db import read_scope
from models import Artifact, ArtifactKind, ErrorKind, Job, JobStatus, StepRun

if TYPE_CHECKING:  # the execution imports this module
    from engine.runbook.model import Step
    from engine.runner.execution import JobExecution
    from engine.runner.step_context import StepRunState

log = logging.getLogger(__name__)

# From this share of changed pixels on, the step gets a diff image, the timeline's "page
# changed" mark and a place on the runbook page (the pages take it and `percent` through
# engine.service.visual); below it, a change is only recorded on the row (a caret, a
# clock's digits).
SHOWN_FROM = 0.01

# How many of the runbook's newest completed jobs a step's baseline screenshot is looked for
# in: a retried job's restored steps took none, so they compare with the job before it.
BASELINE_JOBS = 5


def percent(share: float) -> str:
    """A share of pixels (0-1) as people read it: 0.234 -> "23 %", 0.047 -> "4.7 %"."""
    return f"{share * 100:.0f} %" if share >= 0.1 else f"{share * 100:.1f} %"


@dataclass
class Baseline:
    """The runbook's newest completed job other than this one (`job_id`) and, per artifact
    name of a step's "after" screenshot, the job that has it (the newest of the last
    BASELINE_JOBS completed ones) and its file."""

    job_id: int
    shots: dict[str, tuple[int, Path]]


def load_baseline(data_dir: Path, job_id: int) -> Baseline | None:
    """The baseline of job `job_id`: its runbook's completed jobs other than it, newest
    (by finish time) first; None when there is none. A screenshot whose file is gone is
    left out. A blocking read: call it in a thread."""
    with read_scope() as session:
        runbook = select(Job.runbook_id).where(Job.id == job_id).scalar_subquery()
        recent = session.exec(
            select(Job.id).where(Job.runbook_id == runbook,
                                 Job.status == JobStatus.completed, Job.id != job_id)
            .order_by(col(Job.finished_at).desc(), col(Job.id).desc())
            .limit(BASELINE_JOBS)).all()
        if not recent:
            return None
        rows = session.exec(
            select(Artifact, StepRun.name)
            .join(StepRun, onclause=col(Artifact.step_run_id) == StepRun.id)
            .where(col(Artifact.job_id).in_(recent),
                   Artifact.kind == ArtifactKind.screenshot,
                   col(Artifact.name).startswith("after "),
                   col(StepRun.restored_from).is_(None))).all()
    newest_first = {job: i for i, job in enumerate(recent)}
    shots: dict[str, tuple[int, Path]] = {}
    for artifact, step in sorted(rows, key=lambda r: (newest_first[r[0].job_id], r[0].id)):
        # the step's own "after" screenshot, not a screenshot step that is called "after x"
        if artifact.name == f"after {step}" or artifact.name.startswith(f"after {step} ("):
            if artifact.name not in shots and (path := artifact_file(data_dir, artifact)):
                shots[artifact.name] = (artifact.job_id, path)
    return Baseline(recent[0], shots)


class VisualCheck:
    """One job's comparisons; made with the job's execution."""

    def __init__(self, job: JobExecution):
        self.job = job
        self._baseline: Baseline | None = None
        self._loaded = False
        self._unread = False  # the baseline could not be read: nothing is compared

    async def baseline(self) -> Baseline | None:
        if not self._loaded:
            job = self.job
            self._loaded = True
            try:
                self._baseline = await asyncio.to_thread(
                    load_baseline, job.settings.data_dir, job.job_id)
            except Exception:  # a comparison is no reason to lose the job: said on its steps
                log.exception("job %s: the baseline screenshots could not be read", job.job_id)
                self._unread = True
        return self._baseline

    async def compare(self, step: Step, st: StepRunState, row_id: int, jpeg: bytes,
                      failure: StepFailed | None) -> tuple[float | None, StepFailed | None]:
        """(share of pixels changed 0-1 or None when there was nothing to compare with,
        the step's failure: `failure`, or a visual_changed one when a check failed).

        A check is the step's `visual_check` or an `assert unchanged`'s threshold
        (st.visual_threshold): it fails a step that had not failed already when the share
        is above it, and passes with a warning when there is nothing to compare with."""
        ctx = self.job.ctx
        threshold = step.visual_check if step.visual_check is not None else (
            st.visual_threshold)
        baseline = await self.baseline()
        name = ctx.artifact_name(f"after {step.name}", row_id)
        shot = baseline.shots.get(name) if baseline else None
        if baseline is None or shot is None:
            if threshold is not None:
                ctx.warnings.append(
                    "the earlier jobs' screenshots could not be read (see the server log): "
                    "nothing was compared" if self._unread else
                    "no earlier completed job to compare with" if baseline is None else
                    f"job #{baseline.job_id} and the completed jobs before it have no "
                    "screenshot of this step to compare with")
            return None, failure
        against, path = shot
        try:
            diff = await asyncio.to_thread(_compare_file, path, jpeg)
        except (OSError, ValueError) as exc:  # the file went away meanwhile, or is no image
            log.warning("job %s: %s not compared with %s: %s", self.job.job_id, name, path, exc)
            ctx.warnings.append(f"the screenshot could not be compared with job "
                                f"#{against}'s (its file is gone or unreadable)")
            return None, failure
        share = diff.share
        shown = ctx.artifact_name(f"{DIFF_PREFIX}{step.name}", row_id)
        fails = threshold is not None and failure is None and share > threshold
        if share >= SHOWN_FROM or fails:
            try:
                await asyncio.to_thread(self._keep_diff, shown, row_id, jpeg, diff)
            except StorageFull as exc:  # the next screenshot stops the job, if it comes
                ctx.warnings.append(f"the diff image of this step was not saved: {exc}")
        said = f"the page changed {percent(share)} against job #{against}'s " \
               "screenshot of this step"
        if fails:
            assert threshold is not None
            by = "visual_check" if step.visual_check is not None else "assert unchanged"
            failure = StepFailed(
                ErrorKind.visual_changed,
                f"{said} ({by} allows {threshold * 100:g} %); see the diff image",
                {"visual_change": round(share, 4), "threshold": threshold,
                 "compared_with_job": against, "diff_image": shown})
        return share, failure

    def _keep_diff(self, name: str, row_id: int, jpeg: bytes, diff: Difference) -> None:
        self.job.ctx.artifacts.save(ArtifactKind.screenshot, name, diff_image(jpeg, diff),
                                    "png", row_id)


def _compare_file(path: Path, jpeg: bytes) -> Difference:
    return difference(path.read_bytes(), jpeg)
