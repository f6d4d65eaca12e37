"""Leases: a worker renews its jobs' leases; the sweeper fails jobs whose lease ran out."""

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, update
from sqlmodel import col, select

from engine.bus import events
from engine.runner.records import job_figures
from engine.service.report import publish_report
from engine.store import job_counts
from engine.store.db import database_now, session_scope
from engine.store.transitions import TransitionRefused, transition_job
from models import ACTIVE_STATUSES, ErrorKind, Job, JobStatus, StepRun, StepStatus, utcnow

log = logging.getLogger(__name__)
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Heartbeat:
    """One thread per process renewing the leases of the jobs this process runs."""

    def __init__(self, lease_seconds: float):
        self.lease_seconds = lease_seconds
        self.held: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, job_id: int) -> None:
        with self._lock:
            self.held.add(job_id)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="jobdeck-heartbeat",
                                                daemon=True)
                self._thread.start()

    def release(self, job_id: int) -> None:
        with self._lock:
            self.held.discard(job_id)

    def expiry(self):
        return database_now() + timedelta(seconds=self.lease_seconds)

    def _loop(self) -> None:
        pause = self.lease_seconds / 3
        while not self._stop.wait(pause):
            with self._lock:
                held = list(self.held)
            pause = self.lease_seconds / 3
            if not held:
                continue
            try:  # while the database is away this waits in its reconnect, so the renewal
                # lands as soon as it is back (the sweeper allows a lease for that)
                with session_scope() as session:
                    session.exec(update(Job)
                                 .where(col(Job.id).in_(held), col(Job.worker_id) == WORKER_ID)
                                 .values(lease_expires_at=self.expiry()))
            except Exception:
                log.exception("renewing leases failed")
                pause = min(1.0, pause)  # try again soon, not a third of a lease later


def database_time() -> datetime:
    """Now by the database's clock, as a value (database_now() is an SQL expression on
    PostgreSQL, evaluated whenever the statement finally runs)."""
    with session_scope() as session:
        now = session.exec(select(func.now())).one() if session.get_bind().dialect.name == (
            "postgresql") else utcnow()
    return now if now.tzinfo else now.replace(tzinfo=timezone.utc)


def sweep_lost_jobs(bus: events.EventBus, data_dir: Path,
                    expired_before: datetime | None = None) -> list[int]:
    """Fail every active job whose lease expired (before `expired_before`, a database time
    read earlier; default: now): its worker died. Returns their ids."""
    def reason(job: Job) -> str:
        where = f" during step {job.current_step!r}" if job.current_step else ""
        return (f"the worker {job.worker_id} stopped{where} (crashed or was killed) and its "
                "lease expired; artifacts recorded so far are kept. Re-run the job")

    cutoff = database_now() if expired_before is None else expired_before
    return _fail_jobs(col(Job.lease_expires_at) < cutoff, reason, bus, data_dir)


def fail_held_jobs(heartbeat: Heartbeat, bus: events.EventBus, data_dir: Path) -> list[int]:
    """At shutdown: fail the jobs this process still runs, instead of leaving them running."""
    held = list(heartbeat.held)
    if not held:
        return []

    def reason(job: Job) -> str:
        where = f" during step {job.current_step!r}" if job.current_step else ""
        return (f"Jobdeck was stopped{where} before the job finished; artifacts recorded so "
                "far are kept. Re-run the job")

    return _fail_jobs(col(Job.id).in_(held) & (col(Job.worker_id) == WORKER_ID), reason, bus,
                      data_dir)


def _fail_jobs(which, reason, bus: events.EventBus, data_dir: Path) -> list[int]:
    now = utcnow()
    lost = []
    with session_scope() as session:
        found = session.exec(select(Job.id).where(col(Job.status).in_(ACTIVE_STATUSES),
                                                  which)).all()
    for job_id in found:  # a transaction each: PostgreSQL's count rows stay locked briefly
        with session_scope() as session:
            job = session.exec(select(Job).where(Job.id == job_id,
                                                 col(Job.status).in_(ACTIVE_STATUSES),
                                                 which)).first()  # still lost?
            if job is None:
                continue
            try:
                if job.status == JobStatus.paused:  # the table has no paused → failed: go
                    # through running, unseen, in one transaction (its three count rows
                    # locked in name order first, as every single move locks its two)
                    job_counts.lock(session.connection(), ["failed", "paused", "running"])
                    transition_job(session, job.id, JobStatus.running,
                                   only_from={JobStatus.paused})
                transition_job(session, job.id, JobStatus.failed, only_from=set(ACTIVE_STATUSES),
                               error_kind=ErrorKind.worker_lost.value, error_message=reason(job),
                               finished_at=now, lease_expires_at=None, current_step=None,
                               duration_ms=int((now - job.started_at).total_seconds() * 1000)
                               if job.started_at else None)
            except TransitionRefused:
                session.rollback()
                continue
            session.exec(update(StepRun).where(StepRun.job_id == job.id,
                                               col(StepRun.status) == StepStatus.running)
                         .values(status=StepStatus.failed, finished_at=now,
                                 error_kind=ErrorKind.worker_lost.value,
                                 error_message="the worker stopped while this step ran"))
            # the step failed just now counts like any other (one rule: records.job_figures)
            steps = session.exec(select(StepRun).where(StepRun.job_id == job.id)).all()
            session.exec(update(Job).where(col(Job.id) == job.id).values(**job_figures(steps)))
            lost.append(events.record(session, events.JOB_STATUS, job.id, status="failed"))
    for event in lost:
        log.warning("job %s failed: worker lost", event.job_id)
        bus.publish(event)
        publish_report(event.job_id, bus, data_dir)
    return [event.job_id for event in lost]
