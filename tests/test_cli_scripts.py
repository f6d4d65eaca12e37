"""The CLI in scripts and in a terminal: --json a script can parse, a run that says what
approval it waits for (and keeps saying so), the y/n question not overwritten by the
progress bar, and the four-eyes rule for `jobs approve --as`."""

import json
import os
import pty
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAIN = str(ROOT / "main.py")

APPROVAL_RUNBOOK = """
version: 1
name: cli-approve
title: CLI approve
settings: {screenshots: off, approval_timeout_s: 90}
steps:
  - {name: first, action: wait, ms: 0}
  - {name: send, action: approval, message: "Send 42 invoices?", risk: high}
  - {name: last, action: wait, ms: 0}
"""

FAILING_RUNBOOK = """
version: 1
name: cli-fails
title: CLI fails
settings: {screenshots: off, retries: 0, timeout_ms: 300}
steps:
  - {name: open, action: wait, ms: 0}
  - {name: check, action: assert, title: Invoices}
"""


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "JOBDECK_DATA_DIR": str(tmp_path / "data"),
            "JOBDECK_FOUR_EYES": "true", **extra}


def cli(tmp_path: Path, *args: str, stdin: str | None = None, **extra: str):
    return subprocess.run([sys.executable, MAIN, *args], cwd=tmp_path, input=stdin,
                          env=env_for(tmp_path, **extra), capture_output=True, text=True,
                          timeout=120)


class Lines:
    """A stream's lines as they come, read on a thread."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line)

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.text:
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.text}"
            time.sleep(0.1)
        return self.text


def test_a_script_waits_for_approval_and_another_user_approves(tmp_path):
    for name in ("rita", "vic"):
        made = cli(tmp_path, "users", "create", name, "--role", "approver",
                   "--password-stdin", stdin="long enough password\n")
        assert made.returncode == 0, made.stderr
    (tmp_path / "ap.yaml").write_text(APPROVAL_RUNBOOK)
    run = subprocess.Popen([sys.executable, MAIN, "run", "ap.yaml", "--as", "rita",
                            "--remind-every", "1"], cwd=tmp_path, env=env_for(tmp_path),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        out, err = Lines(run.stdout), Lines(run.stderr)
        notice = err.wait_for("/jobs/1")
        assert 'job 1 is waiting for approval of step "send" (high risk): Send 42 invoices?' \
            in notice
        assert "approve: python main.py jobs approve 1 --as NAME" in notice
        assert "or in the console: http://127.0.0.1:8080/jobs/1" in notice
        assert "who may decide: vic" in err.wait_for("who may decide")  # not rita, the starter

        listed = json.loads(cli(tmp_path, "jobs", "list", "--json").stdout)
        assert listed["total"] == 1
        assert [(j["id"], j["runbook"], j["status"], j["started_by"], j["steps_done"])
                for j in listed["items"]] == [(1, "cli-approve", "waiting_for_approval",
                                               "rita", 1)]
        table = cli(tmp_path, "jobs", "list", COLUMNS="80").stdout
        assert "waiting_for_approval" in table
        assert max(len(line) for line in table.splitlines()) <= 80

        shown = cli(tmp_path, "jobs", "show", "1").stdout
        assert 'waiting at  step "send" (high risk): Send 42 invoices?' in shown
        assert "started by  rita" in shown

        nameless = cli(tmp_path, "jobs", "approve", "1")
        assert nameless.returncode == 2 and "--as NAME" in nameless.stderr
        starter = cli(tmp_path, "jobs", "approve", "1", "--as", "rita")
        assert starter.returncode == 1
        assert "rita started job 1: another approver must approve it (the four-eyes rule)" \
            in " ".join(starter.stderr.split())
        assert cli(tmp_path, "jobs", "approve", "1", "--as", "nobody").returncode == 2
        err.wait_for("still waiting for approval of job 1 (")

        approved = cli(tmp_path, "jobs", "approve", "1", "--as", "vic", "-m", "checked")
        assert approved.returncode == 0, approved.stderr
        assert run.wait(60) == 0, out.text + err.text
    finally:
        run.kill()
        run.wait()
    assert "job 1 completed" in out.text
    assert "job 1: approved by vic" in err.text

    document = cli(tmp_path, "jobs", "show", "1", "--json").stdout
    report = json.loads(document)
    assert (report["status"], report["started_by"]) == ("completed", "rita")
    assert [s["name"] for s in report["steps"]] == ["first", "send", "last"]
    [shot] = report["artifacts"]
    assert shot["url"] == f"/api/artifacts/{shot['id']}" and "path" not in shot
    assert str(tmp_path) not in document  # no path on the server's disk


def test_show_a_failed_job_and_four_eyes_off(tmp_path):
    (tmp_path / "fails.yaml").write_text(FAILING_RUNBOOK)
    unknown = cli(tmp_path, "run", "fails.yaml", "--as", "ghost")
    assert unknown.returncode == 2 and 'there is no user named "ghost"' in unknown.stdout
    assert cli(tmp_path, "run", "fails.yaml").returncode == 1
    shown = cli(tmp_path, "jobs", "show", "1")
    assert shown.returncode == 0
    text = " ".join(shown.stdout.split())
    assert "status failed" in text and "started by cli" in text
    assert 'failed at step "check" (assert): assertion_failed' in text

    # With four eyes off, --as is optional: the job's status is what refuses here.
    off = cli(tmp_path, "jobs", "approve", "1", JOBDECK_FOUR_EYES="false")
    assert off.returncode == 1
    assert "can be approved only when waiting for approval" in off.stderr
    assert cli(tmp_path, "jobs", "show", "9").returncode == 2
    assert cli(tmp_path, "jobs", "list", "--status", "nonsense").returncode == 2


def test_the_terminal_question_is_not_overwritten_by_the_progress_bar(tmp_path):
    (tmp_path / "ap.yaml").write_text(APPROVAL_RUNBOOK)
    leader, follower = pty.openpty()
    run = subprocess.Popen([sys.executable, MAIN, "run", "ap.yaml"], cwd=tmp_path,
                           # four eyes off: else the one at the terminal may not answer
                           env=env_for(tmp_path, COLUMNS="100", TERM="xterm",
                                       JOBDECK_FOUR_EYES="false"),
                           stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    seen = b""

    def read(seconds: float, until: bytes | None = None) -> bytes:
        nonlocal seen
        got, deadline = b"", time.monotonic() + seconds
        while time.monotonic() < deadline and not (until and until in seen):
            if select.select([leader], [], [], 0.1)[0]:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the process has ended
                    break
                got += chunk
                seen += chunk
        return got

    try:
        read(60, until=b"[y/n] ")
        assert b"Send 42 invoices? [y/n] " in seen, seen[-500:]
        assert read(1.0) == b""  # the bar does not redraw over the question
        os.write(leader, b"y\n")
        read(60, until=b"job 1 completed")
        assert run.wait(30) == 0
    finally:
        run.kill()
        run.wait()
        os.close(leader)
    assert b"success   send (approval)" in seen
