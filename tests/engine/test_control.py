"""Job actions: each in each status, races, and their effect on real running jobs."""

import threading
import time

import pytest
from sqlmodel import select
from support import step

from engine.service.job_actions import ActionRefused, act, audit_trail
from engine.service.jobs import create_job, get_job
from engine.service.runbooks import add_runbook
from engine.store.db import session_scope
from engine.store.transitions import transition_job
from models import JOB_ACTIONS, AuditEvent, ErrorKind, Job, JobStatus, StepRun, StepStatus, Trigger

S = JobStatus
PATH = {S.queued: [], S.running: [S.running], S.paused: [S.running, S.paused],
        S.waiting_for_approval: [S.running, S.waiting_for_approval],
        S.completed: [S.running, S.completed], S.failed: [S.running, S.failed],
        S.cancelled: [S.cancelled]}
RUNBOOK = "version: 1\nname: ctl\ntitle: Ctl\nsteps: [{action: goto, url: 'http://127.0.0.1:9/'}]\n"


def job_in(status: JobStatus) -> int:
    job = create_job("ctl")
    with session_scope() as session:
        for target in PATH[status]:
            transition_job(session, job.id, target)
    return job.id


def row(job_id: int) -> Job:
    return get_job(job_id).job


@pytest.mark.parametrize("status", list(PATH))
@pytest.mark.parametrize("action", ["approve", "reject", "pause", "resume", "cancel", "rerun"])
def test_each_action_in_each_status(runtime, status, action):
    add_runbook(RUNBOOK)
    job_id = job_in(status)
    if status not in JOB_ACTIONS[action].statuses:
        with pytest.raises(ActionRefused, match=f"job {job_id} is"):
            act(job_id, action, by="ann")
        after = row(job_id)
        assert (after.status, after.requested_action) == (status, None)  # nothing changed
        assert audit_trail(job_id) == []
        return
    result = act(job_id, action, by="ann", comment="why not")
    after = row(job_id)
    if action == "rerun":
        assert result.trigger == Trigger.rerun and result.rerun_of == job_id
        assert result.status == S.queued and result.params == after.params
    elif action == "cancel" and status == S.queued:
        assert after.status == S.cancelled and after.error_kind == ErrorKind.cancelled.value
    else:  # for the worker to carry out
        assert (after.status, after.requested_action, after.requested_by) == (
            status, action, "ann")
    [audit] = audit_trail(job_id)
    assert (audit.actor, audit.action, audit.comment, audit.status_before) == (
        "ann", action, "why not", status.value)


@pytest.mark.parametrize("first,second", [("approve", "approve"), ("approve", "cancel"),
                                          ("cancel", "cancel"), ("reject", "approve")])
def test_racing_actions_one_wins(runtime, first, second):
    add_runbook(RUNBOOK)
    job_id = job_in(S.waiting_for_approval)
    outcomes, barrier = [], threading.Barrier(2)

    def attempt(action):
        barrier.wait()
        try:
            act(job_id, action, by=action)
            outcomes.append(("won", action))
        except ActionRefused as exc:
            outcomes.append(("refused", str(exc)))

    threads = [threading.Thread(target=attempt, args=(a,)) for a in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o[0] for o in outcomes) == ["refused", "won"]
    assert "pending" in next(o[1] for o in outcomes if o[0] == "refused")
    with session_scope() as session:
        assert len(session.exec(select(AuditEvent).where(AuditEvent.job_id == job_id)).all()) == 1


SLOW = """
version: 1
name: NAME
title: Slow
settings: {base_url: SITE, timeout_ms: 60000, retries: 0}
steps:
  - {name: sign-in-page, action: goto, url: /login}
  - {name: user, action: fill, selector: "#username", value: demo}
  - {name: password, action: fill, selector: "#password", value: demo-password}
  - {name: submit, action: click, selector: {test_id: login-submit}}
  - {name: slow, action: goto, url: "/slow?seconds=SECONDS"}
  - name: who
    action: goto
    url: /quotes/page/1
    capture:
      who: {selector: "#whoami"}
"""


def start_in_background(run_runbook, yaml_text):
    result = {}
    thread = threading.Thread(target=lambda: result.update(detail=run_runbook(yaml_text)))
    thread.start()
    return thread, result


def wait_until(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def running_step(name: str) -> bool:
    with session_scope() as session:
        return session.exec(select(StepRun).where(
            StepRun.name == name, StepRun.status == StepStatus.running)).first() is not None


def test_cancel_interrupts_a_step_blocked_on_a_slow_page(run_runbook):
    thread, result = start_in_background(
        run_runbook, SLOW.replace("NAME", "cancel-me").replace("SECONDS", "30"))
    wait_until(lambda: running_step("slow"))
    job_id = next(s.job_id for s in _running("slow"))
    asked = time.monotonic()
    act(job_id, "cancel", by="ann")
    thread.join(60)
    took = time.monotonic() - asked
    detail = result["detail"]
    assert detail.job.status == S.cancelled
    assert "cancelled by ann" in detail.job.error_message
    assert step(detail, "slow").error_kind == ErrorKind.cancelled.value
    assert step(detail, "slow").status == StepStatus.cancelled
    assert step(detail, "who").status == StepStatus.skipped
    assert took < 15, "the job waited for the slow page instead of being interrupted"


def _running(name):
    with session_scope() as session:
        return session.exec(select(StepRun).where(StepRun.name == name,
                                                  StepRun.status == StepStatus.running)).all()


def test_pause_keeps_the_browser_and_resume_continues_the_session(run_runbook):
    thread, result = start_in_background(
        run_runbook, SLOW.replace("NAME", "pause-me").replace("SECONDS", "1"))
    wait_until(lambda: running_step("slow"))
    job_id = next(s.job_id for s in _running("slow"))
    act(job_id, "pause", by="ann")
    wait_until(lambda: row(job_id).status == S.paused)
    time.sleep(1.5)  # paused: the next step does not start
    assert not _started("who", job_id)
    with pytest.raises(ActionRefused):
        act(job_id, "pause", by="bob")
    act(job_id, "resume", by="ann")
    thread.join(60)
    detail = result["detail"]
    assert detail.job.status == S.completed, detail.job.error_message
    assert step(detail, "who").captures["who"] == "Signed in as demo"  # same session
    assert [a.action for a in audit_trail(job_id)] == ["pause", "resume"]


def _started(name, job_id):
    with session_scope() as session:
        return session.exec(select(StepRun).where(StepRun.name == name,
                                                  StepRun.job_id == job_id)).first()


def test_cancel_while_waiting_for_approval_cancels_that_step_and_skips_the_rest(run_runbook):
    thread, result = start_in_background(run_runbook, """
        version: 1
        name: waits
        title: Waits
        settings: {base_url: SITE, timeout_ms: 5000, retries: 0, approval_timeout_s: 60}
        steps:
          - {name: open, action: goto, url: /table}
          - {name: risky, action: click, selector: "#invoices", approval: {message: Sure?}}
          - {name: after, action: goto, url: /table}
        """)
    wait_until(lambda: _job_with_status(S.waiting_for_approval))
    job_id = _job_with_status(S.waiting_for_approval).id
    act(job_id, "cancel", by="ann", comment="not today")
    thread.join(30)
    detail = result["detail"]
    assert detail.job.status == S.cancelled
    assert step(detail, "risky").status == StepStatus.cancelled  # awaited, then stopped
    assert "cancelled by ann while waiting for approval" in step(detail, "risky").error_message
    assert [s.name for s in detail.steps if s.status == StepStatus.skipped] == ["after"]
    assert (detail.job.steps_cancelled, detail.job.steps_failed) == (1, 0)


def _job_with_status(status):
    with session_scope() as session:
        return session.exec(select(Job).where(Job.status == status)).first()


@pytest.mark.parametrize("status", [S.paused, S.waiting_for_approval])
def test_a_paused_or_waiting_job_whose_worker_died_fails_as_worker_lost(runtime, settings,
                                                                        status):
    from datetime import timedelta

    from engine.bus.events import get_bus
    from engine.runner.leases import sweep_lost_jobs
    from models import utcnow

    add_runbook(RUNBOOK)
    job_id = job_in(status)
    with session_scope() as session:  # its worker stopped renewing the lease a while ago
        job = session.get(Job, job_id)
        job.lease_expires_at = utcnow() - timedelta(seconds=5)
        session.add(job)
    assert sweep_lost_jobs(get_bus(), settings.data_dir) == [job_id]
    after = row(job_id)
    assert after.status == S.failed and after.error_kind == ErrorKind.worker_lost.value
    with pytest.raises(ActionRefused):
        act(job_id, "resume" if status == S.paused else "approve")


def test_cancel_inside_a_repeat_ends_the_job_cancelled(run_runbook):
    thread, result = start_in_background(run_runbook, """
        version: 1
        name: loop
        title: Loop
        settings: {base_url: SITE, timeout_ms: 60000, retries: 0}
        steps:
          - name: again
            action: repeat
            max: 5
            while: {exists: "body"}
            steps:
              - {name: wait-a-bit, action: goto, url: "/slow?seconds=30"}
          - {name: after, action: goto, url: /table}
        """)
    wait_until(lambda: running_step("wait-a-bit"))
    act(next(s.job_id for s in _running("wait-a-bit")), "cancel", by="ann")
    thread.join(60)
    detail = result["detail"]
    assert detail.job.status == S.cancelled, detail.job.error_message
    assert step(detail, "again").error_kind == ErrorKind.cancelled.value
    assert step(detail, "after").status == StepStatus.skipped
