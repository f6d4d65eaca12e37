"""Retention, the public API (docs/retention.md): keep a job's files (the Keep toggle),
what the artifacts take per runbook and what the next sweep will free (the Storage page,
GET /api/storage), and a sweep now (the Storage page's button).

The rules (which jobs are due, the sweep itself, its lease) are in engine/store/retention.py;
the daily sweep is engine/background/retention.py."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from engine.errors import Conflict, NotFound
from engine.identity import audit
from engine.identity.access import Actor, require
from engine.runner.leases import WORKER_ID
from engine.settings import current_settings
from engine.store import retention as store
from engine.store.db import read_scope, session_scope
from engine.store.retention import Rules, SweepResult
from engine.store.snapshots import snapshot_dir
from models import Artifact, Job

__all__ = ["Rules", "RunbookStorage", "StorageReport", "SweepResult", "rules", "set_keep",
           "storage_report", "sweep_now"]
CHUNK = 500  # job ids per IN list


@dataclass(frozen=True)
class RunbookStorage:
    """One runbook's artifact files: `jobs` with files, `bytes` (Artifact rows' sizes plus
    the jobs' snapshot files)."""

    runbook: str
    title: str
    jobs: int
    bytes: int


@dataclass(frozen=True)
class StorageReport:
    """What the artifacts take (largest runbook first), the settings in force, what the
    next sweep will free (`next_jobs`, `next_bytes`), how many jobs are kept, and when the
    last sweep ended (None: never)."""

    runbooks: list[RunbookStorage]
    total_bytes: int
    days: int
    per_runbook: int | None
    next_jobs: int
    next_bytes: int
    kept_jobs: int
    last_sweep: datetime | None


def rules() -> Rules:
    """The retention settings in force (JOBDECK_RETENTION_DAYS, _JOBS_PER_RUNBOOK)."""
    settings = current_settings()
    return Rules(settings.retention_days, settings.retention_jobs_per_runbook)


def set_keep(job_id: int, keep: bool, *, by: Actor) -> Job:
    """Keep (pin) a job's files from the retention sweep, or let them go again; audited as
    `job_kept` / `job_unkept` (nothing is recorded when it already was so). Returns the job.
    Forbidden below the role access.RULES gives `keep` (operator); NotFound for an unknown
    job; Conflict when keeping a job whose files were already swept."""
    with read_scope() as session:  # a refusal is audited with its job, when there is one
        known = session.get(Job, job_id) is not None
    require(by, "keep", job_id=job_id if known else None,
            target=None if known else f"job {job_id}")
    with session_scope() as session:
        # FOR UPDATE: a sweep's claim of this row and this change wait for each other
        job = session.get(Job, job_id, with_for_update=True)
        if job is None:
            raise NotFound(f"there is no job {job_id}")
        if keep and job.artifacts_deleted_at is not None:
            raise Conflict(f"job {job_id}'s artifacts were deleted by the retention sweep on "
                           f"{job.artifacts_deleted_at:%Y-%m-%d %H:%M} UTC: there is nothing "
                           "left to keep")
        if job.keep != keep:
            job.keep = keep
            session.add(job)
            audit.record(by.name, "job_kept" if keep else "job_unkept", job_id=job_id,
                         source=by.source, session=session)
    return job


def storage_report() -> StorageReport:
    """Bytes per runbook and what the next sweep would free now. Reads every artifact row's
    size and lists the snapshot folders of the jobs that still have files: call it off the
    UI loop."""
    data_dir = current_settings().data_dir
    in_force = rules()
    with read_scope() as session:
        sums = session.exec(
            select(Job.runbook_name, func.max(Job.runbook_title),
                   func.count(func.distinct(Artifact.job_id)), func.sum(Artifact.size))
            .join(Job, col(Job.id) == Artifact.job_id).group_by(Job.runbook_name)).all()
        kept = session.exec(select(func.count()).select_from(Job)
                            .where(col(Job.keep).is_(True))).one()
    by_runbook = {name: [title, jobs, int(size or 0)] for name, title, jobs, size in sums}
    for name, (title, size, job_ids) in _snapshot_bytes(data_dir).items():
        entry = by_runbook.setdefault(name, [title, 0, 0])
        entry[2] += size
        entry[1] = max(entry[1], job_ids)
    runbooks = sorted((RunbookStorage(name, title, jobs, size)
                       for name, (title, jobs, size) in by_runbook.items()),
                      key=lambda r: (-r.bytes, r.runbook))
    due, due_bytes = store.planned(data_dir, in_force) if in_force.active else ([], 0)
    return StorageReport(runbooks, sum(r.bytes for r in runbooks), in_force.days,
                         in_force.per_runbook, len(due), due_bytes, kept, store.last_sweep())


def _snapshot_bytes(data_dir) -> dict[str, tuple[str, int, int]]:
    """Per runbook: (title, bytes of its jobs' snapshot files, jobs with snapshots)."""
    root = data_dir / "artifacts"
    sizes: dict[int, int] = {}
    if root.is_dir():
        for folder in root.iterdir():
            if folder.name.isdigit():
                size = store.dir_bytes(snapshot_dir(data_dir, int(folder.name)))
                if size:
                    sizes[int(folder.name)] = size
    found: dict[str, tuple[str, int, int]] = {}
    ids = sorted(sizes)
    with read_scope() as session:
        for start in range(0, len(ids), CHUNK):
            rows = session.exec(select(Job.id, Job.runbook_name, Job.runbook_title)
                                .where(col(Job.id).in_(ids[start:start + CHUNK]))).all()
            for job_id, name, title in rows:
                _, size, jobs = found.get(name, (title, 0, 0))
                found[name] = (title, size + sizes[job_id], jobs + 1)
    return found


def sweep_now(*, by: Actor) -> SweepResult:
    """Run the retention sweep now, as the daily one does (the same lease: one console at a
    time); audited as `retention_swept`. Forbidden below the admin role (access rule
    `storage`); Conflict while another console sweeps."""
    require(by, "storage")
    outcome = store.leased_sweep(current_settings().data_dir, rules(),
                                 f"{WORKER_ID}:sweep-now")
    if isinstance(outcome, str):
        raise Conflict(f"a retention sweep is under way in {outcome}; try again in a few "
                       "minutes")
    audit.record(by.name, "retention_swept", source=by.source,
                 comment=f"deleted the files of {len(outcome.job_ids)} jobs "
                         f"({outcome.bytes} bytes)")
    return outcome
