"""Stopping the console: SIGTERM ends the process, and a job it was running is failed with
a clear reason instead of being left running."""

import signal
import sqlite3
import time

import httpx
import pytest

from support import start_console

pytestmark = pytest.mark.slow

WAITING_RUNBOOK = """
version: 1
name: waits
title: Waits for a person
settings: {base_url: SITE, timeout_ms: 3000, retries: 0, approval_timeout_s: 600}
steps:
  - {name: open, action: goto, url: /table}
  - {name: risky, action: click, selector: "#invoices", approval: {message: Sure?}}
"""


def test_sigterm_stops_the_server_and_fails_the_running_job(tmp_path, site, site_port):
    data = tmp_path / "data"
    process, url = start_console(data, site_port, JOBDECK_SHUTDOWN_GRACE_SECONDS="1")
    try:
        httpx.post(f"{url}/api/runbooks", content=WAITING_RUNBOOK.replace("SITE", site),
                   headers={"Content-Type": "application/x-yaml"}).raise_for_status()
        job = httpx.post(f"{url}/api/runbooks/waits/jobs", json={}).json()
        deadline = time.monotonic() + 30
        while httpx.get(f"{url}/api/jobs/{job['id']}").json()["status"] != (
                "waiting_for_approval"):
            assert time.monotonic() < deadline, "the job never reached its approval"
            time.sleep(0.2)
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
