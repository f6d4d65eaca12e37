"""Jobs with files, seeded straight into the test's SQLite and data directory, for the
retention tests (what a browser made is not what they test): each job gets a screenshot,
an input file and a snapshot on disk, their Artifact rows, a step row and an audit row."""

from datetime import timedelta
from pathlib import Path

from engine.identity import audit
from engine.service.runbooks import add_runbook
from engine.store.artifacts import ArtifactStore
from engine.store.db import session_scope
from engine.store.snapshots import snapshot_dir
from models import ArtifactKind, Job, JobStatus, StepRun, StepStatus, utcnow

SOURCE = """version: 1
name: {name}
title: {title}
steps: [{{name: open, action: goto, url: 'http://127.0.0.1:9/'}}]
"""


def runbook(name: str) -> int:
    """Store a one-step runbook; its id."""
    return add_runbook(SOURCE.format(name=name, title=name.title())).runbook.id


def seed_job(data_dir: Path, runbook_id: int, name: str, status: JobStatus,
             days_ago: float, *, keep: bool = False, retry_of: int | None = None,
             files: bool = True) -> int:
    """A job of `name` that ended `days_ago` (a running or waiting one started then), with
    its files; its id."""
    at = utcnow() - timedelta(days=days_ago)
    with session_scope() as session:
        job = Job(runbook_id=runbook_id, runbook_name=name, runbook_title=name.title(),
                  runbook_version=1, source=SOURCE.format(name=name, title=name.title()),
                  status=status, created_at=at, started_at=at, keep=keep, retry_of=retry_of,
                  finished_at=at if status.is_final else None, step_count=1, steps_done=1)
        session.add(job)
        session.flush()
        assert job.id is not None
        step = StepRun(job_id=job.id, ordinal=1, name="open", action="goto",
                       status=StepStatus.success, started_at=at, finished_at=at,
                       duration_ms=1200)
        session.add(step)
        session.flush()
        job_id, step_id = job.id, step.id
    audit.record("ada", "start", job_id=job_id)
    if files:
        store = ArtifactStore(data_dir, job_id)
        shot = store.new_path("after open", "png")
        shot.write_bytes(b"\x89PNG" + bytes(1000 + job_id))
        store.record(ArtifactKind.screenshot, "after open", shot, step_id)
        given = data_dir / "artifacts" / str(job_id) / "inputs" / "table" / "rows.csv"
        given.parent.mkdir(parents=True)
        given.write_text("a,b\n1,2\n")
        store.record(ArtifactKind.input, "rows.csv", given, None)
        snaps = snapshot_dir(data_dir, job_id)
        snaps.mkdir(parents=True)
        (snaps / "00001-00001.snap").write_bytes(bytes(300))
    return job_id


def files_of(data_dir: Path, job_id: int) -> list[str]:
    """The job's files on disk, relative to its directory, sorted."""
    folder = data_dir / "artifacts" / str(job_id)
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def bytes_of(data_dir: Path, job_id: int) -> int:
    folder = data_dir / "artifacts" / str(job_id)
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
