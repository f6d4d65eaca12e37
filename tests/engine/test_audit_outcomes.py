"""The audit log shows the real before → after of every job action: an action the worker
carries out (pause, resume, cancel, approve, reject) is completed with the status the job
reached, on real running jobs."""

import threading

from sqlmodel import select
from support import eventually

from engine.service.job_actions import act, audit_trail
from engine.service.jobs import get_job
from engine.store.db import read_scope
from models import Job, JobStatus

S = JobStatus
RUNBOOK = """
version: 1
name: NAME
title: Audited
settings: {base_url: SITE, timeout_ms: 60000, retries: 0, approval_timeout_s: 60}
steps:
  - {name: open, action: goto, url: /table}
  - {name: slow, action: goto, url: "/slow?seconds=2"}
  - {name: risky, action: goto, url: /table, approval: {message: Sure?}}
  - {name: slower, action: goto, url: "/slow?seconds=30"}
"""


def start(run_runbook, name: str) -> int:
    threading.Thread(target=run_runbook, args=(RUNBOOK.replace("NAME", name),),
                     daemon=True).start()
    return eventually(lambda: _job(name) and _job(name).status == S.running and _job(name).id)


def _job(name: str) -> Job | None:
    with read_scope() as session:
        return session.exec(select(Job).where(Job.runbook_name == name)).first()


def changes(job_id: int) -> list[tuple[str, str, str | None]]:
    return [(a.action, a.status_before, a.status_after) for a in audit_trail(job_id)]


def test_each_job_action_records_the_status_it_led_to(run_runbook):
    job_id = start(run_runbook, "audited")
    act(job_id, "pause", by="ann")
    assert changes(job_id) == [("pause", "running", None)]  # asked, not carried out yet
    eventually(lambda: get_job(job_id).job.status == S.paused)
    act(job_id, "resume", by="ann")
    eventually(lambda: get_job(job_id).job.status == S.waiting_for_approval)
    act(job_id, "approve", by="bob")
    eventually(lambda: get_job(job_id).job.current_step == "slower")
    act(job_id, "cancel", by="ann")
    eventually(lambda: get_job(job_id).job.status == S.cancelled)
    assert changes(job_id) == [("pause", "running", "paused"),
                               ("resume", "paused", "running"),
                               ("approve", "waiting_for_approval", "running"),
                               ("cancel", "running", "cancelled")]


def test_a_rejection_records_the_failure_it_caused(run_runbook):
    job_id = start(run_runbook, "rejected")
    eventually(lambda: get_job(job_id).job.status == S.waiting_for_approval)
    act(job_id, "reject", by="bob", comment="not today")
    eventually(lambda: get_job(job_id).job.status.is_final)
    assert changes(job_id) == [("reject", "waiting_for_approval", "failed")]
