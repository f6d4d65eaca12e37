"""`python main.py notify add|list|test|remove` as a user runs it, against a real receiver
on 127.0.0.1: exit codes, the signing secret alone on stdout, masked URLs, the audit log."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from notify_receiver import start_receiver

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "tok-feedc0ffee123456"
pytestmark = pytest.mark.slow


@pytest.fixture
def receiver():
    found, server = start_receiver()
    yield found
    server.shutdown()


def test_notify_commands(tmp_path, receiver):
    env = {**os.environ, "JOBDECK_DATA_DIR": str(tmp_path / "data"),
           "JOBDECK_ALLOW_PRIVATE_HOSTS": f"127.0.0.1:{receiver.port}"}

    def cli(*args):
        return subprocess.run([sys.executable, str(ROOT / "main.py"), "notify", *args],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    made = cli("add", "ops-hook", f"{receiver.url}/hook/{TOKEN}", "--event", "job_failed",
               "--event", "approval_requested", "--runbook", "nightly")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert len(secret.splitlines()) == 1 and len(secret) >= 32  # the secret alone on stdout
    assert "shown only now" in made.stderr and TOKEN not in made.stderr

    bad = cli("add", "typo", "slakc://T000/B000/XXXX", "--event", "job_failed")
    assert bad.returncode == 2 and "Apprise cannot use this URL" in bad.stderr
    taken = cli("add", "ops-hook", f"{receiver.url}/other", "--event", "job_failed")
    assert taken.returncode == 1 and "exists already" in taken.stderr

    listed = cli("list")
    assert listed.returncode == 0 and "ops-hook" in listed.stdout
    assert "job_failed" in listed.stdout and "nightly" in listed.stdout
    assert "1 channels" in listed.stdout and TOKEN not in listed.stdout

    tested = cli("test", "1")
    assert tested.returncode == 0, tested.stderr
    assert "test message sent to channel 1" in tested.stdout
    assert len(receiver.to(f"/hook/{TOKEN}")) == 1
    receiver.answers[f"/hook/{TOKEN}"] = 503
    failed = cli("test", "1")
    assert failed.returncode == 1 and "HTTP 503" in failed.stderr
    assert cli("test", "99").returncode == 2

    removed = cli("remove", "1")
    assert removed.returncode == 0 and "channel 1 removed" in removed.stdout
