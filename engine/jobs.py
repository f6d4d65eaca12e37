"""The engine's public API for runbooks and jobs: pages, API routes and the CLI call these."""

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func
from sqlmodel import select

from engine import events
from engine.db import session_scope
from engine.queue import enqueue_job
from engine.runbook import Runbook as RunbookSpec
from engine.runbook import RunbookInvalid, load_runbook, load_runbook_file
from engine.secrets import missing_secrets, secret_env_name
from models import Artifact, Job, JobStatus, Runbook, StepRun, Trigger, utcnow

log = logging.getLogger(__name__)


class InvalidParams(ValueError):
    """Unknown, missing or unusable parameters; the message lists each problem."""


@dataclass
class JobDetail:
    job: Job
    steps: list[StepRun]
    artifacts: list[Artifact]


def save_runbook(spec: RunbookSpec) -> Runbook:
    """Store a validated runbook; its version rises when the source changed."""
    with session_scope() as session:
        row = session.exec(select(Runbook).where(Runbook.name == spec.name)).first()
        if row is None:
            row = Runbook(name=spec.name, title=spec.title, source=spec.source,
                          summary=spec.summary())
        elif row.source != spec.source:
            row.version += 1
            row.title, row.source, row.summary = spec.title, spec.source, spec.summary()
            row.updated_at = utcnow()
        session.add(row)
    return row


def load_runbook_dir(directory: Path) -> dict[str, list[str]]:
    """Store every valid *.yaml runbook in a directory; returns the errors of invalid ones."""
    problems: dict[str, list[str]] = {}
    for path in sorted(directory.glob("*.y*ml")):
        try:
            save_runbook(load_runbook_file(path))
        except RunbookInvalid as exc:
            problems[str(path)] = exc.errors
            log.warning("runbook %s is invalid and was not loaded:\n%s", path, exc)
    return problems


def list_runbooks() -> list[Runbook]:
    with session_scope() as session:
        return list(session.exec(select(Runbook).order_by(Runbook.name)))


def resolve_params(spec: RunbookSpec, given: dict[str, str]) -> dict[str, str]:
    """Given values plus defaults; InvalidParams for unknown or missing ones."""
    problems = [f'unknown parameter "{k}" (this runbook takes: '
                f'{", ".join(spec.params) or "none"})' for k in given if k not in spec.params]
    values = {}
    for name, param in spec.params.items():
        if name in given:
            values[name] = str(given[name])
        elif param.default is not None:
            values[name] = param.default
        elif param.required:
            problems.append(f'missing required parameter "{name}" (pass -p {name}=VALUE)')
        else:
            values[name] = ""
    problems += [f'secret "{n}" is not set: set the environment variable {secret_env_name(n)}'
                 for n in missing_secrets(spec.secrets)]
    if problems:
        raise InvalidParams("; ".join(problems))
    return values


def create_job(runbook_name: str, params: dict[str, str] | None = None,
               trigger: Trigger = Trigger.manual, started_by: str | None = None) -> Job:
    """Write a queued job for a stored runbook (not yet on the queue)."""
    with session_scope() as session:
        row = session.exec(select(Runbook).where(Runbook.name == runbook_name)).first()
        if row is None:
            raise LookupError(f'no runbook named "{runbook_name}"')
        spec = load_runbook(row.source, f"{row.name}.yaml")
        values = resolve_params(spec, params or {})
        now = utcnow()
        job = Job(runbook_id=row.id, runbook_name=row.name, runbook_title=row.title,
                  runbook_version=row.version, source=row.source, status=JobStatus.queued,
                  trigger=trigger, started_by=started_by, params=values, created_at=now,
                  queued_at=now, step_count=len(spec.steps))
        session.add(job)
        session.flush()
        event = events.record(session, events.JOB_STATUS, job.id, status=job.status.value)
    events.get_bus().publish(event)
    return job


def start_job(runbook_name: str, params: dict[str, str] | None = None,
              trigger: Trigger = Trigger.manual, started_by: str | None = None) -> Job:
    """Queue a job: the row is committed first, then its id goes onto the queue."""
    job = create_job(runbook_name, params, trigger, started_by)
    enqueue_job(job.id)
    return job


def get_job(job_id: int) -> JobDetail | None:
    """A job with its step runs (in order) and artifacts."""
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None:
            return None
        steps = session.exec(select(StepRun).where(StepRun.job_id == job_id)
                             .order_by(StepRun.ordinal)).all()
        artifacts = session.exec(select(Artifact).where(Artifact.job_id == job_id)
                                 .order_by(Artifact.id)).all()
        return JobDetail(job, list(steps), list(artifacts))


def list_jobs(status: list[JobStatus] | None = None, search: str | None = None,
              limit: int = 50, offset: int = 0) -> tuple[list[Job], int]:
    """Newest first, with the total count for pagination."""
    query = select(Job)
    count = select(func.count()).select_from(Job)
    if status:
        query, count = query.where(Job.status.in_(status)), count.where(Job.status.in_(status))
    if search:
        like = f"%{search}%"
        query = query.where(Job.runbook_name.like(like) | Job.runbook_title.like(like))
        count = count.where(Job.runbook_name.like(like) | Job.runbook_title.like(like))
    with session_scope() as session:
        jobs = session.exec(query.order_by(Job.created_at.desc(), Job.id.desc())
                            .offset(offset).limit(limit)).all()
        return list(jobs), session.exec(count).one()
