"""Stopping the console: SIGTERM ends the process, and a job it was running is failed with
a clear reason instead of being left running."""

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from support import process_env, start_console

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent

WAITING_RUNBOOK = """
version: 1
name: waits
title: Waits for a person
settings: {base_url: SITE, timeout_ms: 3000, retries: 0, approval_timeout_s: 600}
steps:
  - {name: open, action: goto, url: /table}
  - {name: risky, action: click, selector: "#invoices", approval: {message: Sure?}}
"""


def start_waiting_job(url: str, site: str) -> dict:
    """A job of WAITING_RUNBOOK, once it waits for approval (a worker holds it)."""
    httpx.post(f"{url}/api/runbooks", content=WAITING_RUNBOOK.replace("SITE", site),
               headers={"Content-Type": "application/x-yaml", **url.headers}
               ).raise_for_status()
    job = httpx.post(f"{url}/api/runbooks/waits/jobs", headers=url.headers, json={}).json()
    deadline = time.monotonic() + 60
    while httpx.get(f"{url}/api/jobs/{job['id']}", headers=url.headers).json()["status"] != (
            "waiting_for_approval"):
        assert time.monotonic() < deadline, "no worker brought the job to its approval"
        time.sleep(0.2)
    return job


def test_sigterm_stops_the_server_and_fails_the_running_job(tmp_path, site, site_port):
    data = tmp_path / "data"
    process, url = start_console(data, site_port, JOBDECK_SHUTDOWN_GRACE_SECONDS="1")
    try:
        job = start_waiting_job(url, site)
        process.send_signal(signal.SIGTERM)
        code = process.wait(60)  # before the fix, Huey's signal handlers swallowed this
    finally:
        if process.poll() is None:
            process.kill()
    assert code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has shut down
    with sqlite3.connect(data / "jobdeck.db") as db:
        status, kind, message = db.execute(
            "select status, error_kind, error_message from job where id = ?",
            (job["id"],)).fetchone()
    assert (status, kind) == ("failed", "worker_lost")
    assert "Jobdeck was stopped" in message and "Re-run" in message


def test_sigterm_stops_the_server_while_a_client_keeps_a_request_open(tmp_path, site_port):
    """A live event stream (or any long request) must not keep the console from stopping:
    open requests get the shutdown grace, then they are closed."""
    data = tmp_path / "data"
    process, url = start_console(data, site_port, JOBDECK_SHUTDOWN_GRACE_SECONDS="1")
    done = threading.Event()

    def long_request() -> None:  # the demo page that answers after its longest, 60 s
        try:
            httpx.get(f"{url}/demo/slow?seconds=60", timeout=120)
        except httpx.HTTPError:
            pass
        done.set()

    threading.Thread(target=long_request, daemon=True).start()
    try:
        time.sleep(1.0)  # the request is in the server
        process.send_signal(signal.SIGTERM)
        code = process.wait(40)  # before the fix: stuck until the page answered
    finally:
        if process.poll() is None:
            process.kill()
    assert code in (0, -signal.SIGTERM)
    assert done.wait(10)  # the client was let go, not left hanging


def test_sigterm_stops_a_worker_process_gracefully(tmp_path, site, site_port):
    """`main.py worker`: SIGTERM takes no new job and fails the held one with a reason."""
    data = tmp_path / "data"
    console, url = start_console(data, site_port, JOBDECK_WORKERS="0")
    env = process_env()
    env.update({"JOBDECK_DATA_DIR": str(data), "JOBDECK_SHUTDOWN_GRACE_SECONDS": "1",
                "JOBDECK_ALLOW_PRIVATE_HOSTS": f"127.0.0.1:{site_port}"})
    with open(tmp_path / "worker.log", "w") as log:
        worker = subprocess.Popen([sys.executable, "main.py", "worker"], env=env, stdout=log,
                                  stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        job = start_waiting_job(url, site)
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(60)
        done = httpx.get(f"{url}/api/jobs/{job['id']}", headers=url.headers).json()
    finally:
        for process in (worker, console):
            if process.poll() is None:
                process.terminate()
                process.wait(30)
    assert code == 0, (tmp_path / "worker.log").read_text()[-2000:]
    assert done["status"] == "failed" and done["error"]["kind"] == "worker_lost"
    assert "Jobdeck was stopped" in done["error"]["message"]
