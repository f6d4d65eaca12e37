"""The console runs its jobs in a worker process that it supervises (`python main.py`, as a
user starts it): the process is its own, it comes back when it is killed (its job failed
as worker_lost at once, not after the lease), and it goes away with the console, however
the console goes."""

import os
import signal
import sqlite3
import time
from pathlib import Path

import httpx
import pytest
from support import command_line, descendants, process_parents, start_console

from engine.background.worker_process import settings_environment
from engine.settings import Settings

slow = pytest.mark.slow

# Leases and sweeps far beyond the test: a lost job can only have been failed by the
# console noticing that its worker process died.
NO_SWEEP = {"JOBDECK_LEASE_SECONDS": "600", "JOBDECK_SWEEP_INTERVAL_SECONDS": "3600",
            "JOBDECK_SHUTDOWN_GRACE_SECONDS": "1"}

QUICK = """
version: 1
name: quick
title: Opens a page
settings: {base_url: SITE, timeout_ms: 10000, retries: 0}
steps:
  - {name: open, action: goto, url: /table}
  - {name: check, action: assert, selector: "#invoices"}
"""

WAITING = """
version: 1
name: waits
title: Waits for a person
settings: {base_url: SITE, timeout_ms: 10000, retries: 0, approval_timeout_s: 600}
steps:
  - {name: open, action: goto, url: /table}
  - {name: risky, action: click, selector: "#invoices", approval: {message: Sure?}}
"""


def worker_processes(console_pid: int) -> list[int]:
    """The console's children that run `main.py worker`."""
    return [pid for pid, parent in process_parents().items()
            if parent == console_pid and " worker " in command_line(pid)]



def alive(pids: set[int]) -> set[int]:
    """Those of `pids` that still run (a zombie has already ended)."""
    left = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            left.add(pid)
    return left


def still_alive_after(pids: set[int], timeout: float) -> set[int]:
    """Those of `pids` that still run after waiting up to `timeout` s for them to end."""
    deadline = time.monotonic() + timeout
    while (left := alive(pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def wait_for(predicate, what: str, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def add_runbook(url, yaml_text: str, site: str) -> None:
    httpx.post(f"{url}/api/runbooks", content=yaml_text.replace("SITE", site),
               headers={"Content-Type": "application/x-yaml", **url.headers}
               ).raise_for_status()


def start_job(url, runbook: str) -> int:
    started = httpx.post(f"{url}/api/runbooks/{runbook}/jobs", headers=url.headers, json={})
    assert started.status_code == 201, started.text
    return started.json()["id"]


def job(url, job_id: int) -> dict:
    return httpx.get(f"{url}/api/jobs/{job_id}", headers=url.headers, timeout=30).json()


def finished(url, job_id: int) -> dict:
    return wait_for(lambda: (j := job(url, job_id))["status"] in (
        "completed", "failed", "cancelled") and j, f"job {job_id} to finish")


def stop(process) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait(60)


def test_the_worker_process_runs_on_the_consoles_settings(tmp_path, monkeypatch):
    """Options of the console's command line too (--port): the child must not read other
    values from the environment it inherits."""
    monkeypatch.setenv("JOBDECK_PORT", "1")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://elsewhere/db")
    console = Settings(data_dir=tmp_path / "data", port=9123, four_eyes=False,
                       secrets_key="a-key", database_url=None, redis_url="redis://r:6379/0",
                       allow_private_hosts="10.0.0.5,intranet:8443", lease_seconds=7.5,
                       browser_sandbox=None, workers=3)
    monkeypatch.setattr(os, "environ", settings_environment(console))
    assert Settings() == console


@slow
@pytest.mark.parametrize("shape", ["sqlite", "postgresql-redis"])
def test_jobs_run_in_a_worker_process_of_their_own_while_the_api_answers(
        tmp_path, site, site_port, shape, request):
    """Out of the box the two share events over the link; with Redis, through Redis."""
    shared = request.getfixturevalue("scale_env") if shape == "postgresql-redis" else {}
    console, url = start_console(tmp_path / "data", site_port, JOBDECK_WORKERS="2",
                                 **NO_SWEEP, **shared)
    try:
        workers = wait_for(lambda: worker_processes(console.pid), "the worker process")
        assert len(workers) == 1 and workers[0] != console.pid
        add_runbook(url, QUICK, site)
        jobs = [start_job(url, "quick") for _ in range(6)]
        reads_while_running = 0  # the job list, read again and again while jobs run
        with url.client(timeout=30) as client:
            while True:
                listed = client.get("/api/jobs", params={"limit": 10})
                assert listed.status_code == 200, listed.text
                statuses = {j["status"] for j in listed.json()["items"]}
                if not statuses & {"queued", "running"}:
                    break
                reads_while_running += "running" in statuses
        done = [finished(url, job_id) for job_id in jobs]
        assert worker_processes(console.pid) == workers  # one worker process all along
    finally:
        stop(console)
    assert reads_while_running > 0
    assert [j["status"] for j in done] == ["completed"] * len(jobs), done
    assert {j["worker"].split(":")[1] for j in done} == {str(workers[0])}  # host:pid:tag
    log = (tmp_path / "console.log").read_text()
    assert f"[worker {workers[0]}]" in log  # its lines are in the console's log, tagged


@slow
def test_a_killed_worker_process_is_started_again_and_only_its_job_is_lost(tmp_path, site,
                                                                          site_port):
    console, url = start_console(tmp_path / "data", site_port, **NO_SWEEP)
    try:
        add_runbook(url, WAITING, site)
        add_runbook(url, QUICK, site)
        held = start_job(url, "waits")
        wait_for(lambda: job(url, held)["status"] == "waiting_for_approval",
                 "the job to wait for its approval")
        [first] = worker_processes(console.pid)
        browsers = {p for p in descendants(first) if "chrom" in command_line(p)}
        assert browsers, "the worker process runs the job in Chromium"

        os.kill(first, signal.SIGKILL)
        lost = finished(url, held)  # long before any lease could run out
        second = wait_for(lambda: [p for p in worker_processes(console.pid) if p != first],
                          "a new worker process")
        after = finished(url, start_job(url, "quick"))
        left = still_alive_after(browsers, 30)
    finally:
        stop(console)
    assert (lost["status"], lost["error"]["kind"]) == ("failed", "worker_lost")
    assert str(first) in lost["error"]["message"] and "Re-run" in lost["error"]["message"]
    assert after["status"] == "completed", after["error"]
    assert after["worker"].split(":")[1] == str(second[0])
    assert not left, f"Chromium left behind by the killed worker process: {left}"
    log = (tmp_path / "console.log").read_text()
    assert f"the worker process {first} was killed by SIGKILL" in log


@slow
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_the_worker_process_goes_away_with_the_console(tmp_path, site, site_port, how):
    console, url = start_console(tmp_path / "data", site_port, **NO_SWEEP)
    try:
        add_runbook(url, WAITING, site)
        held = start_job(url, "waits")
        wait_for(lambda: job(url, held)["status"] == "waiting_for_approval",
                 "the job to wait for its approval")
        [worker] = worker_processes(console.pid)
        family = descendants(console.pid)  # the worker, its Playwright driver, Chromium
        assert worker in family and any("chrom" in command_line(p) for p in family)
        console.send_signal(how)
        code = console.wait(60)
        left = still_alive_after(family, 60)
    finally:
        if console.poll() is None:
            console.kill()
            console.wait(10)
        for pid in alive(descendants(worker)) | alive({worker}):  # never leave one behind
            os.kill(pid, signal.SIGKILL)
    assert code in (0, -how, 128 + how)  # uvicorn re-raises it; Ctrl+C ends in 130
    assert not left, f"left behind: {[command_line(p) for p in left]}"
    # the worker process stopped gracefully, even when its console was killed: the held job
    # failed with a reason instead of staying in wait
    with sqlite3.connect(tmp_path / "data" / "jobdeck.db") as db:
        status, kind, message = db.execute(
            "select status, error_kind, error_message from job where id = ?",
            (held,)).fetchone()
    assert (status, kind) == ("failed", "worker_lost")
    assert "Jobdeck was stopped" in message
