"""Retention (docs/retention.md): which finished jobs' files the sweep deletes, deleting
them, and the lease that lets one console at a time sweep.

A job's files are its directory `<data>/artifacts/<job id>/`: screenshots, videos, traces,
exports, downloads, the files given when it started (`inputs/`) and its browser snapshots
(`snapshots/`). The sweep deletes that directory and the job's Artifact rows, and marks the
job `artifacts_deleted_at`; the job's row, its step rows and figures, its events and the
audit log stay.

A finished job (completed, failed, cancelled) is due when it ended more than
`days` ago, or it is beyond the newest `per_runbook` finished jobs of its runbook, unless
it is kept (`Job.keep`), it is its runbook's newest completed job (the baseline that visual
checks compare screenshots with, engine/runner/visual.py), or a retry of it has not ended
yet (it restores the job's snapshots when it starts). Running, waiting, paused, queued and
scheduled jobs are never due."""

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, delete, false, func, not_, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from engine.store.db import read_scope, session_scope
from models import Artifact, Job, JobStatus, SchedulerLock, utcnow

log = logging.getLogger(__name__)

FINAL = (JobStatus.completed, JobStatus.failed, JobStatus.cancelled)
BATCH = 50  # jobs per transaction: SQLite's write lock is held while their files go
# The sweep's lease is a second row of the scheduler's lock table (the scheduler's is id
# 1): whoever holds it sweeps; `since` is when the last sweep ended.
LEASE_ID = 2
LEASE_SECONDS = 600.0  # renewed after each batch; a console that died frees it after this


@dataclass(frozen=True)
class Rules:
    """JOBDECK_RETENTION_DAYS (0: no age limit) and JOBDECK_RETENTION_JOBS_PER_RUNBOOK
    (None: no count limit)."""

    days: int
    per_runbook: int | None

    @property
    def active(self) -> bool:
        return self.days > 0 or self.per_runbook is not None


@dataclass
class SweepResult:
    """What one sweep did: the jobs whose files it deleted and the bytes freed."""

    job_ids: list[int] = field(default_factory=list)
    bytes: int = 0
    failed: list[int] = field(default_factory=list)  # jobs whose files could not all go


def _retry_pending(job_id_column):
    """A retry of the job that has not ended: it will restore (or restores) its snapshots."""
    retry = aliased(Job)
    return select(retry.id).where(col(retry.retry_of) == job_id_column,
                                  col(retry.status).not_in(FINAL)).exists()


def due_jobs(rules: Rules, now: datetime | None = None):
    """The one query: the ids of the jobs whose files are due for the sweep, oldest id
    first (a SELECT to execute; nothing when neither limit is set)."""
    ended = func.coalesce(Job.finished_at, Job.created_at)
    newest_first = (ended.desc(), col(Job.id).desc())
    ranked = sa_select(  # seven columns: more than sqlmodel's select() types
        col(Job.id).label("id"), col(Job.status).label("status"), col(Job.keep).label("keep"),
        col(Job.artifacts_deleted_at).label("deleted_at"), ended.label("ended"),
        # 1 = the newest finished job of its runbook
        func.row_number().over(partition_by=col(Job.runbook_id), order_by=newest_first
                               ).label("rank"),
        # 1 = the newest of its runbook with this status: the newest completed is kept
        func.row_number().over(partition_by=(col(Job.runbook_id), col(Job.status)),
                               order_by=newest_first).label("rank_in_status"),
    ).where(col(Job.status).in_(FINAL)).subquery()
    limits = []
    if rules.days > 0:
        limits.append(ranked.c.ended < (now or utcnow()) - timedelta(days=rules.days))
    if rules.per_runbook is not None:
        limits.append(ranked.c.rank > rules.per_runbook)
    return (select(ranked.c.id)
            .where(ranked.c.deleted_at.is_(None), ranked.c.keep == false(),
                   not_(and_(ranked.c.status == JobStatus.completed,
                             ranked.c.rank_in_status == 1)),
                   ~_retry_pending(ranked.c.id), or_(*limits) if limits else false())
            .order_by(ranked.c.id))


def job_dir(data_dir: Path, job_id: int) -> Path:
    return data_dir.resolve() / "artifacts" / str(job_id)


def dir_bytes(folder: Path) -> int:
    """Bytes of the files under `folder` (symlinks not followed; 0 when it is absent)."""
    if not folder.is_dir() or folder.is_symlink():
        return 0
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
        except OSError:  # deleted meanwhile
            pass
    return total


def planned(data_dir: Path, rules: Rules, now: datetime | None = None) -> tuple[list[int], int]:
    """What the next sweep would delete now: (job ids, bytes on disk)."""
    with read_scope() as session:
        ids = list(session.exec(due_jobs(rules, now)))
    return ids, sum(dir_bytes(job_dir(data_dir, job_id)) for job_id in ids)


def _delete_files(data_dir: Path, job_id: int) -> int:
    """Delete the job's directory; the bytes it held. OSError when some could not go."""
    folder = job_dir(data_dir, job_id)
    if folder.is_symlink():  # never follow one out of the data directory
        folder.unlink()
        return 0
    if not folder.exists():
        return 0
    size = dir_bytes(folder)
    shutil.rmtree(folder)
    return size


def sweep(data_dir: Path, rules: Rules, now: datetime | None = None,
          renew: Callable[[], None] | None = None) -> SweepResult:
    """Delete the due jobs' files and Artifact rows, BATCH jobs per transaction, and mark
    each job `artifacts_deleted_at`. Safe to run twice at once: each batch claims its jobs
    again inside its transaction (still due, not kept, not marked), so a job is deleted by
    one sweep only. A job whose files cannot all be deleted (permissions) keeps its rows
    and is tried again by the next sweep. `renew` is called after each batch (the lease)."""
    result = SweepResult()
    with read_scope() as session:
        due = list(session.exec(due_jobs(rules, now)))
    for start in range(0, len(due), BATCH):
        _sweep_batch(data_dir, due[start:start + BATCH], result)
        if renew is not None:
            renew()
    if result.job_ids:
        log.info("retention: deleted the files of %d jobs (%d bytes)", len(result.job_ids),
                 result.bytes)
    return result


def _sweep_batch(data_dir: Path, ids: list[int], result: SweepResult) -> None:
    with session_scope() as session:
        # the claim: rows locked (PostgreSQL) or the write lock taken (SQLite) before the
        # files go, then checked again, so a Keep or another sweep since the query wins
        claimed = list(session.exec(
            select(Job.id).where(col(Job.id).in_(ids), col(Job.status).in_(FINAL),
                                 col(Job.keep).is_(False),
                                 col(Job.artifacts_deleted_at).is_(None),
                                 ~_retry_pending(Job.id))
            .with_for_update(skip_locked=True)))
        done = []
        for job_id in claimed:
            assert job_id is not None
            try:
                result.bytes += _delete_files(data_dir, job_id)
                done.append(job_id)
            except OSError as exc:
                log.warning("retention: cannot delete the files of job %s: %s", job_id, exc)
                result.failed.append(job_id)
        if done:
            session.exec(delete(Artifact).where(col(Artifact.job_id).in_(done)))
            session.exec(update(Job).where(col(Job.id).in_(done))
                         .values(artifacts_deleted_at=utcnow()))
        result.job_ids.extend(done)


def take_lease(holder: str, seconds: float = LEASE_SECONDS) -> str | None:
    """Take or renew the sweep's lease; who holds it when someone else does (compare-and-
    set, like the scheduler's lock: FOR UPDATE on PostgreSQL, IMMEDIATE on SQLite)."""
    now = utcnow()
    try:
        with session_scope() as session:
            lease = session.get(SchedulerLock, LEASE_ID, with_for_update=True)
            if lease is not None and lease.holder != holder and lease.expires_at > now:
                return lease.holder
            lease = lease or SchedulerLock(id=LEASE_ID, holder=holder, expires_at=now)
            lease.holder = holder
            lease.expires_at = now + timedelta(seconds=seconds)
            session.add(lease)
    except IntegrityError:  # another process made the row a moment ago
        return "another console"
    return None


def release_lease(holder: str) -> None:
    """Free the lease after a sweep and note when it ended (`last_sweep`)."""
    with session_scope() as session:
        lease = session.get(SchedulerLock, LEASE_ID, with_for_update=True)
        if lease is not None and lease.holder == holder:
            lease.since = lease.expires_at = utcnow()
            session.add(lease)


def last_sweep() -> datetime | None:
    """When the last sweep ended, by any console; None before the first."""
    with read_scope() as session:
        lease = session.get(SchedulerLock, LEASE_ID)
        return lease.since if lease is not None else None


def _renew(holder: str) -> None:
    other = take_lease(holder)
    if other is not None:  # a batch took longer than the lease: the claims keep it safe
        log.warning("retention: %s took the sweep's lease over", other)


def leased_sweep(data_dir: Path, rules: Rules, holder: str) -> SweepResult | str:
    """A sweep while holding the lease (renewed after each batch, freed at the end); the
    holder's name instead when another console sweeps now."""
    other = take_lease(holder)
    if other is not None:
        return other
    try:
        return sweep(data_dir, rules, renew=lambda: _renew(holder))
    finally:
        release_lease(holder)
