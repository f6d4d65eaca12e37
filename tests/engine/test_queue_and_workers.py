"""Jobs through the real queue: embedded worker threads, claims, and a worker killed -9."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.bus import events
from engine.runbook import load_runbook
from engine.runner.leases import Heartbeat
from engine.runner.worker import claim
from engine.service.jobs import create_job, get_job, start_job
from engine.service.runbooks import save_runbook
from engine.store.db import session_scope
from engine.store.transitions import TransitionRefused, transition_job
from models import ErrorKind, JobStatus, StepStatus

ROOT = Path(__file__).resolve().parents[2]


def store(site: str, steps: str, name: str = "queued") -> str:
    save_runbook(load_runbook(f"""
version: 1
name: {name}
title: Queued
settings: {{base_url: "{site}", timeout_ms: 3000}}
steps:
{steps}
""", "q.yaml"))
    return name


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_started_job_runs_on_an_embedded_worker(runtime, site):
    name = store(site, "  - {action: goto, url: /}\n  - {action: assert, title: Jobdeck demo site}")
    runtime.start_workers(1)
    job = start_job(name)
    assert get_job(job.id).job.status in (JobStatus.queued, JobStatus.running)
    detail = wait_for(lambda: (d := get_job(job.id)).job.status.is_final and d, what="job end")
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    assert detail.job.worker_id and detail.job.started_at and detail.job.finished_at
    assert [s.status for s in detail.steps] == [StepStatus.success, StepStatus.success]


def test_a_job_is_claimed_once(runtime, site):
    name = store(site, "  - {action: goto, url: /}")
    job = create_job(name)
    heartbeat = Heartbeat(30)
    assert claim(job.id, heartbeat, events.get_bus()).status == JobStatus.running
    assert claim(job.id, heartbeat, events.get_bus()) is None


def test_transitions_outside_the_table_are_refused(runtime, site):
    name = store(site, "  - {action: goto, url: /}")
    job = create_job(name)
    with session_scope() as session:
        with pytest.raises(TransitionRefused, match="queued: it cannot become completed"):
            transition_job(session, job.id, JobStatus.completed)
        transition_job(session, job.id, JobStatus.cancelled)
        with pytest.raises(TransitionRefused, match="cancelled: it cannot become running"):
            transition_job(session, job.id, JobStatus.running)


def _worker(settings, site_port) -> subprocess.Popen:
    env = {**os.environ, "JOBDECK_DATA_DIR": str(settings.data_dir),
           "JOBDECK_ALLOW_PRIVATE_HOSTS": f"127.0.0.1:{site_port}",
           "JOBDECK_LEASE_SECONDS": "2", "JOBDECK_SWEEP_INTERVAL_SECONDS": "0.5"}
    # Its own session, so that kill -9 takes its Chromium down with it, like a lost machine.
    return subprocess.Popen([sys.executable, str(ROOT / "main.py"), "worker"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


@pytest.mark.slow
def test_killed_worker_leaves_no_running_job(runtime, settings, site, site_port):
    name = store(site, "  - {name: open, action: goto, url: /}\n"
                       "  - {name: long, action: wait, ms: 60000}")
    worker = _worker(settings, site_port)
    try:
        job = start_job(name)
        wait_for(lambda: any(s.name == "long" for s in get_job(job.id).steps),
                 what="the long step to start")
        kept = get_job(job.id).artifacts
        assert kept, "the first step's screenshot was recorded"
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
        assert get_job(job.id).job.status == JobStatus.running  # nobody knows yet
        worker = _worker(settings, site_port)  # the restarted worker sweeps
        detail = wait_for(lambda: (d := get_job(job.id)).job.status.is_final and d,
                          what="the sweeper")
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
    assert detail.job.status == JobStatus.failed
    assert detail.job.error_kind == ErrorKind.worker_lost
    assert "long" in detail.job.error_message
    long = [s for s in detail.steps if s.name == "long"][0]
    assert long.status == StepStatus.failed and long.error_kind == ErrorKind.worker_lost
    # the step the worker died in counts as failed, as the page and the API say
    assert (detail.job.steps_succeeded, detail.job.steps_failed, detail.job.steps_done) == (
        1, 1, 2)
    assert [a.id for a in detail.artifacts] == [a.id for a in kept]
    assert all((settings.data_dir / a.path).is_file() for a in detail.artifacts)
