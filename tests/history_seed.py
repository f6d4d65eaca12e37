"""Runbook history to look at, written straight into SQLite (no browser): a runbook with 30
jobs of mixed outcomes over 24 days, 5 of them from an older version that had another step,
with recovery marks on some steps and a daily schedule; a runbook that mostly fails; an
archived one. The tests read the figures they expect back from the database themselves."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import select

from engine.service.runbooks import add_runbook
from engine.service.schedules import create_schedule
from engine.store.db import session_scope
from models import Job, JobStatus, Runbook, StepRun, StepStatus, Trigger, utcnow

S = JobStatus
OLD = """version: 1
name: nightly-report
title: Nightly report
steps:
  - {name: open, action: goto, url: "http://127.0.0.1:9/"}
  - {name: sign-in, action: click, selector: "#go"}
  - {name: download-old, action: click, selector: "#old"}
  - {name: export, action: click, selector: "#export"}
"""
NEW = OLD.replace('  - {name: download-old, action: click, selector: "#old"}\n', "") + \
    '  - {name: check, action: click, selector: "#done"}\n'
OTHER = """version: 1
name: {name}
title: {title}
steps:
  - {{name: open, action: goto, url: "http://127.0.0.1:9/"}}
"""
# the 30 jobs' outcomes, oldest first; the newest still runs
OUTCOMES = ([S.completed] * 3 + [S.failed] + [S.completed] * 4 + [S.cancelled]
            + [S.completed] * 5 + [S.failed, S.failed] + [S.completed] * 5 + [S.failed]
            + [S.completed] * 3 + [S.failed, S.completed, S.cancelled, S.completed, S.running])
FAILS_AT = {"export": "element_not_found", "sign-in": "navigation_timeout"}
HOURS_APART = 20  # job i is made (29 - i) * 20 h ago: the last 9 within 7 days


@dataclass
class Seeded:
    job_ids: list[int]  # the 30 jobs of nightly-report, oldest first
    scheduled_id: int  # the schedule's pending job (status Scheduled: not a run)
    healed: int  # job whose sign-in healed
    changed: int  # job whose export's page changed 25 %
    restored: tuple[int, int]  # (job, the job its open step was restored from)
    now: datetime


def seed_history() -> Seeded:
    """Write the runbooks, jobs and step runs; needs the `runtime` fixture's database."""
    add_runbook(OLD)
    add_runbook(NEW)  # version 2: download-old gone, check new
    add_runbook(OTHER.format(name="wobbly-login", title="Wobbly login"))
    add_runbook(OTHER.format(name="retired", title="Retired"))
    now = utcnow()
    with session_scope() as session:
        rows = {r.name: r for r in session.exec(select(Runbook))}
        rows["retired"].archived_at, rows["retired"].archived_by = now, "admin"
        ids = [_job(session, rows["nightly-report"], i, status, now)
               for i, status in enumerate(OUTCOMES)]
        for i, status in enumerate([S.failed, S.failed, S.completed, S.failed]):
            job = Job(runbook_id=rows["wobbly-login"].id, runbook_name="wobbly-login",
                      runbook_title="Wobbly login", runbook_version=1, source="", status=status,
                      trigger=Trigger.schedule, created_at=now - timedelta(hours=10 + i),
                      duration_ms=900, steps_failed=int(status == S.failed),
                      error_kind="assertion_failed" if status == S.failed else None)
            session.add(job)
        _mark(session, ids)
    schedule = create_schedule("nightly-report", cron="0 3 * * *", timezone="UTC")
    with session_scope() as session:
        [pending] = session.exec(select(Job).where(Job.schedule_id == schedule.id)).all()
    return Seeded(ids, pending.id, ids[10], ids[12], (ids[15], ids[14]), now)


def _job(session, runbook: Runbook, i: int, status: JobStatus, now: datetime) -> int:
    old = i < 5
    names = ["open", "sign-in", "download-old", "export"] if old else \
        ["open", "sign-in", "export", "check"]
    made = now - timedelta(hours=(29 - i) * HOURS_APART)
    failing = "sign-in" if i % 2 else "export"
    steps: list[tuple[str, StepStatus, int]] = []
    for name in names:
        took = {"open": 300 + 10 * i, "sign-in": 800, "download-old": 5000,
                "export": 2000 + 100 * (i % 5), "check": 150}[name]
        if status == S.failed and name == failing:
            steps.append((name, StepStatus.failed, took))
            break
        if status == S.cancelled and name == "sign-in":
            steps.append((name, StepStatus.cancelled, took))
            break
        if status == S.running and name == "export":
            steps.append((name, StepStatus.running, took))
            break
        steps.append((name, StepStatus.success, took))
    ended = status != S.running
    job = Job(runbook_id=runbook.id, runbook_name=runbook.name, runbook_title=runbook.title,
              runbook_version=1 if old else 2, source="", status=status,
              trigger=Trigger.manual, created_at=made, queued_at=made, started_at=made,
              finished_at=made + timedelta(seconds=10) if ended else None,
              duration_ms=sum(t for _, _, t in steps) + 100 if ended else None,
              step_count=len(names), steps_done=len(steps),
              steps_succeeded=sum(s == StepStatus.success for _, s, _ in steps),
              steps_failed=int(status == S.failed), retry_count=i % 3,
              error_kind=FAILS_AT[failing] if status == S.failed else None,
              worker_id=None if ended else "seed",
              lease_expires_at=None if ended else now + timedelta(hours=1))
    session.add(job)
    session.flush()
    for ordinal, (name, step_status, took) in enumerate(steps, start=1):
        session.add(StepRun(job_id=job.id, ordinal=ordinal, name=name, action="click",
                            status=step_status, duration_ms=took,
                            error_kind=FAILS_AT[name] if step_status == StepStatus.failed
                            else None))
    return job.id


def _mark(session, ids: list[int]) -> None:
    """Issue 23's marks: a healed selector, a changed page (and one change too small to
    show), a step restored by a retry."""
    def step(job_id: int, name: str) -> StepRun:
        return session.exec(select(StepRun).where(StepRun.job_id == job_id,
                                                StepRun.name == name)).one()
    step(ids[10], "sign-in").candidate = 1
    step(ids[12], "export").visual_change = 0.25
    step(ids[13], "check").visual_change = 0.004
    step(ids[15], "open").restored_from = ids[14]
