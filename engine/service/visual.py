"""Pages that changed, for the runbook page: the steps of the runbook's latest compared job
whose screenshot differed from the same step's in the last completed job before it
(engine/runner/visual.py compares; docs/recovery.md). `percent` and `SHOWN_FROM` are the
one rule for how a change is worded and from which share it is shown, for the pages."""

from dataclasses import dataclass, field

from sqlalchemy import exists, func
from sqlmodel import col, select

from engine.runner.visual import SHOWN_FROM, percent
from engine.service.report import artifact_url
from engine.store.artifacts import DIFF_PREFIX
from engine.store.db import read_scope
from models import Artifact, ArtifactKind, ErrorKind, Job, JobStatus, Runbook, StepRun

__all__ = ["SHOWN_FROM", "ChangedStep", "LatestChanges", "percent", "recent_changes"]

# How many of the runbook's newest finished jobs are looked through for one that compared
RECENT_JOBS = 20
FINISHED = (JobStatus.completed, JobStatus.failed, JobStatus.cancelled)


@dataclass
class ChangedStep:
    """One step whose page changed: `step` its name with its place in loops ("fill
    (iteration 2)"), `share` the share of its pixels that changed (0-1), `failed` whether
    a visual check failed it, `diff_url` where its diff image (PNG) is served."""

    step: str
    share: float
    failed: bool
    diff_url: str


@dataclass
class LatestChanges:
    """The runbook's newest finished job whose screenshots were compared (`job_id`), how
    many of its steps were (`compared`) and how many changed, with a diff image
    (`changed`), and its changed steps, the most changed first (at most the `limit` asked
    for, so possibly fewer than `changed`)."""

    job_id: int
    compared: int
    changed: int
    steps: list[ChangedStep] = field(default_factory=list)


def recent_changes(runbook_name: str, limit: int = 20) -> LatestChanges | None:
    """The latest changes of `runbook_name`'s pages (at most `limit` steps): those of the
    newest of its last RECENT_JOBS finished jobs (by finish time) that compared any
    screenshot; a running job is not looked at. None when none of them did (its first
    completed job is the first baseline) or there is no such runbook."""
    with read_scope() as session:
        recent = session.exec(
            select(Job.id)
            .join(Runbook, onclause=col(Job.runbook_id) == Runbook.id)
            .where(Runbook.name == runbook_name, col(Job.status).in_(FINISHED))
            .order_by(col(Job.finished_at).desc(), col(Job.id).desc())
            .limit(RECENT_JOBS)).all()
        # EXISTS stops at a job's first compared step (through the step runs' job_id index)
        job_id = session.exec(
            select(Job.id).where(
                col(Job.id).in_(recent),
                exists().where(col(StepRun.job_id) == Job.id,
                               col(StepRun.visual_change).is_not(None)))
            .order_by(col(Job.finished_at).desc(), col(Job.id).desc()).limit(1)
        ).first() if recent else None
        if job_id is None:
            return None
        compared = session.exec(
            select(func.count()).select_from(StepRun)
            .where(StepRun.job_id == job_id, col(StepRun.visual_change).is_not(None))).one()
        diffs = (select(Artifact, StepRun)
                 .join(StepRun, onclause=col(Artifact.step_run_id) == StepRun.id)
                 .where(Artifact.job_id == job_id, Artifact.kind == ArtifactKind.screenshot,
                        col(Artifact.name).startswith(DIFF_PREFIX)))
        changed = session.exec(
            select(func.count()).select_from(diffs.subquery())).one()
        rows = session.exec(
            diffs.order_by(col(StepRun.visual_change).desc(), col(Artifact.id))
            .limit(limit)).all()
    steps = [ChangedStep(step=artifact.name.removeprefix(DIFF_PREFIX),
                         share=row.visual_change or 0.0,
                         failed=row.error_kind == ErrorKind.visual_changed.value,
                         diff_url=artifact_url(artifact.id or 0))
             for artifact, row in rows]
    return LatestChanges(job_id=job_id, compared=compared, changed=changed, steps=steps)
