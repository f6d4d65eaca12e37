"""The engine's public API for runbooks and jobs: pages, API routes and the CLI call these."""

import logging
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import func
from sqlmodel import col, select

from engine.bus import events
from engine.errors import ActionRefused, InvalidInput, NotFound
from engine.identity import audit
from engine.queue.huey_queue import enqueue_job
from engine.runbook import Runbook as RunbookSpec
from engine.runbook import stored_runbook
from engine.runbook.templating import render_builtins
from engine.secrets.store import SecretStoreError
from engine.secrets.values import missing_secrets, secret_env_name
from engine.service import job_search
from engine.service.job_files import (
    JobFiles,
    check_files,
    discard_files,
    files_of_job,
    store_files,
)
from engine.service.job_search import JobFilter
from engine.service.runbooks import refuse_archived
from engine.settings import current_settings
from engine.store import job_counts
from engine.store.artifacts import artifact_file
from engine.store.artifacts import is_diff_image as is_diff_image  # for pages
from engine.store.db import read_scope, session_scope
from engine.store.disk import storage_guard
from models import (
    JOB_ACTIONS,
    Artifact,
    Job,
    JobAction,
    JobStatus,
    Runbook,
    StepRun,
    Trigger,
    utcnow,
)

log = logging.getLogger(__name__)


class InvalidParams(InvalidInput):
    """Unknown, missing or unusable parameters; the message lists each problem."""


@dataclass
class JobDetail:
    job: Job
    steps: list[StepRun]
    artifacts: list[Artifact]


def resolve_params(spec: RunbookSpec, given: dict[str, str],
                   files: JobFiles | None = None) -> dict[str, str]:
    """Given values plus defaults, and each file param's file name; InvalidParams for
    unknown or missing ones, and for files that are missing, too large or for a text
    param (job_files.check_files). `files`: param -> (file name, content); None where
    files cannot be given at all (a schedule)."""
    problems = [f'"{k}" is a secret, not a parameter: its value comes from the secret '
                "store (an admin sets it on the Secrets page), never from a job"
                if k in spec.secrets else f'unknown parameter "{k}" (this runbook takes: '
                f'{", ".join(spec.params) or "none"})' for k in given if k not in spec.params]
    values, file_problems = check_files(spec, given, files,
                                        current_settings().max_upload_bytes)
    problems += file_problems
    for name, param in spec.params.items():
        if param.type == "file":
            continue
        # "{{console_url}}/demo" means this console's demo, whether it is the default or
        # was given as is (the Run dialog offers the default for editing)
        if name in given:
            values[name] = render_builtins(str(given[name]), current_settings().console_url)
        elif param.default is not None:
            values[name] = render_builtins(param.default, current_settings().console_url)
        elif param.required:
            problems.append(f'missing required parameter "{name}"')
        else:
            values[name] = ""
    try:
        problems += [f'secret "{n}" is not set: an admin sets it on the Secrets page (or '
                     f'the environment variable {secret_env_name(n)})'
                     for n in missing_secrets(spec.secrets)]
    except SecretStoreError as exc:
        problems.append(str(exc))
    if problems:
        raise InvalidParams("; ".join(problems))
    return values


def create_job(runbook_name: str, params: dict[str, str] | None = None,
               trigger: Trigger = Trigger.manual, started_by: str | None = None,
               audit_source: str | None = None, audited: bool = False,
               files: JobFiles | None = None) -> Job:
    """Write a queued job for a stored runbook (not yet on the queue); `audited`: a person
    started it, which the audit log records in the same transaction. `files` (param ->
    (file name, bytes or a binary file)) are stored as the job's inputs in that same
    transaction: the job exists with all its files or not at all. StorageFull when the data
    directory's disk is full; RunbookArchived (a Conflict) when the runbook is archived."""
    data_dir, job = current_settings().data_dir, None
    try:
        with storage_guard(data_dir), session_scope() as session:
            row = session.exec(select(Runbook).where(Runbook.name == runbook_name)).first()
            if row is None:
                raise NotFound(f'no runbook named "{runbook_name}"')
            refuse_archived(row)  # RunbookArchived (409): restore it to run it
            spec = stored_runbook(row.source, f"{row.name}.yaml")
            values = resolve_params(spec, params or {}, files or {})
            now = utcnow()
            job = Job(runbook_id=row.id, runbook_name=row.name, runbook_title=row.title,
                      runbook_version=row.version, source=row.source, status=JobStatus.queued,
                      trigger=trigger, started_by=started_by, params=values, created_at=now,
                      queued_at=now, step_count=len(spec.steps))
            session.add(job)
            session.flush()
            assert job.id is not None  # the flush assigned it
            store_files(session, data_dir, job.id, files or {})
            event = events.record(session, events.JOB_STATUS, job.id, status=job.status.value)
            if audited:
                audit.record(started_by or trigger.value, "start", job_id=job.id,
                             source=audit_source, target=f"runbook {runbook_name}",
                             after=job.status.value, session=session)
    except BaseException:
        discard_files(data_dir, job.id if job else None, files)
        raise
    events.get_bus().publish(event)
    return job


def rerun_job(job_id: int, *, by: str = "someone", comment: str | None = None,
              source: str | None = None, params: dict[str, str] | None = None,
              files: JobFiles | None = None) -> Job:
    """A new job of the same runbook version, trigger `rerun`, pointing back at the
    original: its params, except those in `params` (text params: name -> new value), and
    copies of its input files, except those in `files` (file param -> (file name, bytes or
    a binary file)). Secrets are never params: they are looked up afresh when it runs.

    Raises NotFound: no such job; ActionRefused: the job has not finished; InvalidParams:
    an unknown param, a text value for a file param, a file that is gone, a secret no
    longer set (the message lists each); StorageFull/Unavailable: the disk refused."""
    data_dir, job, copied = current_settings().data_dir, None, None
    try:
        with storage_guard(data_dir), session_scope() as session, ExitStack() as opened:
            old = session.get(Job, job_id)
            if old is None:
                raise NotFound(f"there is no job {job_id}")
            if old.status not in JOB_ACTIONS[JobAction.rerun].statuses:
                raise ActionRefused(f"job {job_id} is {old.status.value.replace('_', ' ')}: "
                                    "only a finished job can be re-run")
            if (runbook := session.get(Runbook, old.runbook_id)) is not None:
                refuse_archived(runbook)
            spec = stored_runbook(old.source, f"{old.runbook_name}.yaml")
            kept, gone = files_of_job(data_dir, job_id, spec, old.params, opened)
            copied = {**kept, **(files or {})}
            gone = [name for name in gone if name not in copied]
            if gone:
                raise InvalidParams(f"job {job_id}'s file for {', '.join(gone)} is gone: "
                                    "give the file again (the Run dialog, or -p NAME=@FILE)")
            texts = {k: v for k, v in old.params.items()
                     if k not in copied and k in spec.params}
            values = resolve_params(spec, {**texts, **(params or {})}, copied)
            # what the person changed: a param given a new value, a file given anew (even
            # under the same name); not a param the old job lacked that took its default
            changed = sorted({k for k in params or {} if values.get(k) != old.params.get(k)}
                             | set(files or {}))
            now = utcnow()
            job = Job(runbook_id=old.runbook_id, runbook_name=old.runbook_name,
                      runbook_title=old.runbook_title, runbook_version=old.runbook_version,
                      source=old.source, status=JobStatus.queued, trigger=Trigger.rerun,
                      started_by=by, params=values, created_at=now, queued_at=now,
                      step_count=old.step_count, rerun_of=old.id)
            event = add_queued(session, job, data_dir, copied)
            # which params changed, never their values: the audit log outlives the jobs
            after = f"re-run as job {job.id}" + (
                f" (changed: {', '.join(changed)})" if changed else "")
            audit.record(by, "rerun", job_id=old.id, comment=comment, source=source,
                         before=old.status.value, after=after, session=session)
    except BaseException:
        discard_files(data_dir, job.id if job else None, copied)
        raise
    return published_and_queued(job, event)


def add_queued(session, job: Job, data_dir: Path, files: JobFiles) -> events.Event:
    """Insert a queued job made from another (a re-run, a retry) with copies of its input
    `files`, in the caller's transaction; `job.id` is set on return. Returns its status
    event, to publish once the transaction committed (published_and_queued)."""
    session.add(job)
    session.flush()
    assert job.id is not None  # the flush assigned it
    store_files(session, data_dir, job.id, files)
    return events.record(session, events.JOB_STATUS, job.id, status=job.status.value)


def published_and_queued(job: Job, event: events.Event) -> Job:
    """After add_queued's transaction committed: its status event, then onto the queue."""
    assert job.id is not None  # add_queued's flush assigned it
    events.get_bus().publish(event)
    enqueue_job(job.id)
    return job


def rerun_form(job_id: int) -> tuple[dict, dict[str, str], list[str]] | None:
    """What the Re-run dialog offers: (the params as the job's own runbook version declares
    them, shaped like Runbook.summary["params"]; the job's values, a file param's being the
    kept file's name; the secrets it uses, by name only). None: no such job."""
    with read_scope() as session:
        job = session.get(Job, job_id)
    if job is None:
        return None
    summary = stored_runbook(job.source, f"{job.runbook_name}.yaml").summary()
    return summary["params"], dict(job.params), summary["secrets"]


def reruns_of(job_id: int) -> list[Job]:
    """The jobs that re-ran this one, oldest first."""
    with read_scope() as session:
        return list(session.exec(select(Job).where(Job.rerun_of == job_id).order_by(col(Job.id))))


def retries_of(job_id: int) -> list[Job]:
    """The jobs that retried this one from a step (Job.retry_of), oldest first."""
    with read_scope() as session:
        return list(session.exec(select(Job).where(Job.retry_of == job_id)
                                 .order_by(col(Job.id))))


def start_job(runbook_name: str, params: dict[str, str] | None = None,
              trigger: Trigger = Trigger.manual, started_by: str | None = None,
              source: str | None = None, files: JobFiles | None = None) -> Job:
    """Queue a job: the row (with its input `files`, see create_job) is committed first,
    then its id goes onto the queue, so a worker never starts it before its files exist."""
    job = create_job(runbook_name, params, trigger, started_by, audit_source=source,
                     audited=True, files=files)
    assert job.id is not None  # create_job committed the row
    enqueue_job(job.id)
    return job


def job_runbook(job_id: int) -> RunbookSpec | None:
    """The runbook version a job ran, parsed from its stored YAML (one row read, not its
    steps or artifacts); None: no such job. RunbookInvalid when that YAML no longer reads."""
    with read_scope() as session:
        job = session.get(Job, job_id)
    return None if job is None else stored_runbook(job.source, f"{job.runbook_name}.yaml")


def job_exists(job_id: int) -> bool:
    with read_scope() as session:
        return session.get(Job, job_id) is not None


def get_job(job_id: int) -> JobDetail | None:
    """A job with its step runs (in order) and artifacts."""
    with read_scope() as session:
        job = session.get(Job, job_id)
        if job is None:
            return None
        steps = session.exec(select(StepRun).where(StepRun.job_id == job_id)
                             .order_by(col(StepRun.ordinal))).all()
        artifacts = session.exec(select(Artifact).where(Artifact.job_id == job_id)
                                 .order_by(col(Artifact.id))).all()
        return JobDetail(job, list(steps), list(artifacts))


def list_jobs(status: list[JobStatus] | None = None, search: str | None = None,
              limit: int = 50, offset: int = 0, runbook: str | None = None,
              count_total: bool = True, *, filters: JobFilter | None = None
              ) -> tuple[list[Job], int | None]:
    """Newest first (created_at, then id), with how many match in all for pagination (None
    when not asked for). `filters` (job_search.parse_filter) narrows by everything the list
    offers; `status`, `search` (its `q`) and `runbook` are added to it."""
    found = _combined(filters, status, search, runbook)
    with read_scope() as session:
        dialect = session.connection().dialect.name
        jobs = session.exec(job_search.jobs_query(found, dialect)
                            .offset(offset).limit(limit)).all()
        if not count_total:
            return list(jobs), None
        if found.narrows:
            count = job_search.where(select(func.count()).select_from(Job), found, dialect)
            return list(jobs), session.exec(count).one()
        counts = job_counts.read(session.connection())
        return list(jobs), sum(counts.get(s.value, 0) for s in (found.statuses or JobStatus))


def count_jobs_by_status(search: str | None = None, runbook: str | None = None, *,
                         filters: JobFilter | None = None) -> dict[JobStatus, int]:
    """How many jobs have each status (the list's tab counts) among those `filters` (its
    statuses aside), `search` and `runbook` admit; absent statuses count 0. Unfiltered,
    one read of the counts the database keeps (engine/store/job_counts.py)."""
    found = _combined(filters, None, search, runbook).with_statuses(())
    with read_scope() as session:
        if found.narrows:
            dialect = session.connection().dialect.name
            query = job_search.where(select(Job.status, func.count()).group_by(Job.status),
                                     found, dialect)
            counts = {s.value: n for s, n in session.exec(query).all()}
        else:
            counts = job_counts.read(session.connection())
    return {status: counts.get(status.value, 0) for status in JobStatus}


def _combined(filters: JobFilter | None, status: list[JobStatus] | None,
              search: str | None, runbook: str | None) -> JobFilter:
    found = filters or JobFilter()
    if status:
        found = found.with_statuses(status)
    if search or runbook:
        found = replace(found, q=search or found.q, runbook=runbook or found.runbook)
    return found


def get_artifact(artifact_id: int) -> Artifact | None:
    with read_scope() as session:
        return session.get(Artifact, artifact_id)


def artifact_path(artifact: Artifact) -> Path | None:
    """The artifact's file, only if it lies inside its own job's directory (else None)."""
    return artifact_file(current_settings().data_dir, artifact)
