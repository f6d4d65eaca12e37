"""The shipped examples run against the console that runs them, on whatever port it
listens: their `site` defaults to {{console_url}}/demo. Through the console's API and
through `main.py run --console`."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import process_env

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def _finish(client, job_id: int, seconds: float = 90) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("completed", "failed", "cancelled", "waiting_for_approval"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.3)


def test_every_example_runs_on_a_console_on_a_random_port(console):
    assert not console.endswith(":8080")  # the examples used to assume this port
    with console.client(timeout=30) as client:
        for name in ("contact-form", "quotes-export", "sign-in", "real-web-tour",
                     "download-report"):
            started = client.post(f"/api/runbooks/{name}/jobs", json={"params": {}})
            assert started.status_code == 201, started.text
            job = _finish(client, started.json()["id"])
            report = client.get(f"/api/jobs/{job['id']}").json()
            assert report["params"]["site"] == f"{console}/demo"  # the real address
            if name == "download-report":  # it stops for a person's approval: it got there
                assert job["status"] == "waiting_for_approval", job
                client.post(f"/api/jobs/{job['id']}/cancel").raise_for_status()
            else:
                assert job["status"] == "completed", (name, job["error"])


def test_the_cli_runs_an_example_against_a_running_console(console, tmp_path):
    done = subprocess.run(
        [sys.executable, "main.py", "run", "data/runbooks/contact-form.yaml",
         "--console", str(console)], cwd=ROOT, capture_output=True, text=True, timeout=180,
        env={**process_env(), "JOBDECK_DATA_DIR": str(tmp_path / "data")})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "completed" in done.stdout
