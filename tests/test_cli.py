"""The command line as a user runs it: exit codes, printed steps and the JSON report."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import free_port, zero_padded_runbook

from engine.limits import CAPTURE_LIMIT, CUT_MARK, excerpt

ROOT = Path(__file__).resolve().parents[1]

RUNBOOK = """
version: 1
name: cli-quotes
title: CLI quotes
settings: {base_url: SITE, timeout_ms: 2000, retries: 0}
params:
  page: {default: "1"}
  tag: {required: true}
secrets: [token]
steps:
  - name: open
    action: goto
    url: "/quotes/page/{{page}}"
    capture:
      author: {selector: ".quote .author"}
      token_seen: {js: "'{{token}}'"}
  - {name: rows, action: extract, selector: .quote, fields: {text: .text}, into: quotes}
  - {name: save, action: export, collection: quotes, format: csv}
"""


def cli(tmp_path, *args, site_port=None, env=None):
    full_env = {**os.environ, "JOBDECK_DATA_DIR": str(tmp_path / "data"),
                "JOBDECK_SECRET_TOKEN": "tok-123", **(env or {})}
    if site_port:
        full_env["JOBDECK_ALLOW_PRIVATE_HOSTS"] = f"127.0.0.1:{site_port}"
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=tmp_path,
                          env=full_env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def runbook_file(tmp_path, site):
    path = tmp_path / "quotes.yaml"
    path.write_text(RUNBOOK.replace("SITE", site))
    return path


def test_validate_exit_codes(tmp_path, runbook_file):
    ok = cli(tmp_path, "validate", str(runbook_file))
    assert ok.returncode == 0 and "valid" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: bad\ntitle: Bad\nsteps:\n  - action: clik\n")
    result = cli(tmp_path, "validate", str(bad))
    assert result.returncode == 2
    assert f'{bad}:5:13: step "step-1": unknown action "clik" (did you mean "click"?)' \
        in result.stderr


def test_run_prints_steps_and_writes_the_report(tmp_path, runbook_file, site_port):
    report_path = tmp_path / "report.json"
    result = cli(tmp_path, "run", str(runbook_file), "-p", "tag=love", "-p", "page=2",
                 "--report-json", str(report_path), site_port=site_port)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "success   open (goto)" in result.stdout
    assert "token_seen='••••'" in result.stdout and "tok-123" not in result.stdout
    report = json.loads(report_path.read_text())
    assert report["status"] == "completed"
    assert report["params"] == {"page": "2", "tag": "love"}
    assert [s["name"] for s in report["steps"]] == ["open", "rows", "save"]
    assert report["steps"][0]["captures"]["token_seen"] == "••••"
    assert report["metrics"]["steps_succeeded"] == 3
    export = [a for a in report["artifacts"] if a["kind"] == "export"][0]
    assert Path(export["path"]).read_bytes().startswith(b"text\r\n")
    assert "tok-123" not in report_path.read_text()
    # Recorded like any queued job: the same database the console reads.
    listed = cli(tmp_path, "run", str(runbook_file), "-p", "tag=x", site_port=site_port)
    assert "job 2:" in listed.stdout


def test_run_failed_job_exits_1(tmp_path, runbook_file, site_port):
    result = cli(tmp_path, "run", str(runbook_file), "-p", "tag=x", "-p", "page=99",
                 site_port=site_port)
    assert result.returncode == 1
    assert "job 1 failed" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["-p", "nope=1"], 'unknown parameter "nope"'),
    ([], 'missing required parameter "tag"'),
    (["-p", "tag"], "write it as name=value"),
])
def test_run_bad_parameters_exit_2(tmp_path, runbook_file, args, message):
    result = cli(tmp_path, "run", str(runbook_file), *args)
    assert result.returncode == 2
    assert message in result.stdout + result.stderr


def test_run_missing_secret_exits_2(tmp_path, runbook_file):
    env = {k: v for k, v in os.environ.items() if k != "JOBDECK_SECRET_TOKEN"}
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "run", str(runbook_file),
                             "-p", "tag=x"], cwd=tmp_path, capture_output=True, text=True,
                            env={**env, "JOBDECK_DATA_DIR": str(tmp_path / "d")}, timeout=60)
    assert result.returncode == 2
    assert "JOBDECK_SECRET_TOKEN" in result.stdout


def test_run_invalid_runbook_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: bad\n")
    result = cli(tmp_path, "run", str(bad))
    assert result.returncode == 2
    assert 'missing required key "title"' in result.stdout


UPLOAD_RUNBOOK = """
version: 1
name: cli-upload
title: CLI upload
settings: {base_url: SITE, timeout_ms: 2000, retries: 0, screenshots: off}
params:
  invoice: {type: file}
  tag: {default: ""}
steps:
  - {name: open, action: goto, url: /}
"""


def test_run_gives_a_file_param_its_file_with_at(tmp_path, site, site_port):
    (tmp_path / "up.yaml").write_text(UPLOAD_RUNBOOK.replace("SITE", site))
    (tmp_path / "Rechnung März.pdf").write_bytes(b"%PDF-1.7\x00\xff")
    done = cli(tmp_path, "run", "up.yaml", "-p", "invoice=@Rechnung März.pdf",
               "--report-json", "r.json", site_port=site_port)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["params"] == {"invoice": "Rechnung März.pdf", "tag": ""}
    [given] = [a for a in report["artifacts"] if a["kind"] == "input"]
    assert Path(given["path"]).read_bytes() == b"%PDF-1.7\x00\xff"


@pytest.mark.parametrize("args, message", [
    ([], 'file param "invoice" needs a file'),
    (["-p", "invoice=@nowhere.pdf"], "cannot read the file nowhere.pdf"),
    (["-p", "invoice=@up.yaml", "-p", "tag=@up.yaml"], '"tag" is a text param, not a file'),
])
def test_run_without_a_usable_file_exits_2(tmp_path, site, args, message):
    (tmp_path / "up.yaml").write_text(UPLOAD_RUNBOOK.replace("SITE", site))
    result = cli(tmp_path, "run", "up.yaml", *args)
    assert result.returncode == 2
    assert message in " ".join(result.stdout.split())  # rich wraps long lines


def test_jobs_list_and_actions_from_the_terminal(tmp_path, site_port):
    """A job run from the terminal, then listed, re-run, and the re-run cancelled."""
    (tmp_path / "rb.yaml").write_text(RUNBOOK.replace("SITE", f"http://127.0.0.1:{site_port}"))
    assert cli(tmp_path, "run", "rb.yaml", "-p", "tag=love", site_port=site_port).returncode == 0

    listed = cli(tmp_path, "jobs", "list")
    assert listed.returncode == 0
    assert "cli-quotes" in listed.stdout and "completed" in listed.stdout
    assert "rerun" in listed.stdout  # what can be done now

    refused = cli(tmp_path, "jobs", "pause", "1")
    assert refused.returncode == 1 and "can be paused only when running" in refused.stderr

    rerun = cli(tmp_path, "jobs", "rerun", "1", "-m", "again please")
    assert rerun.returncode == 0 and "re-run as job 2" in rerun.stdout
    cancelled = cli(tmp_path, "jobs", "cancel", "2")  # queued: no worker runs here
    assert cancelled.returncode == 0 and "job 2 is cancelled" in cancelled.stdout

    assert cli(tmp_path, "jobs", "cancel", "99").returncode == 2


@pytest.mark.parametrize("env, message", [
    ({"DATABASE_URL": "mysql://ada:s3cret-pw@db/jobs"},
     "invalid setting DATABASE_URL: Jobdeck runs on PostgreSQL"),
    ({"REDIS_URL": "db.internal:6379"}, "invalid setting REDIS_URL: use redis://"),
    ({"JOBDECK_PORT": "eighty"}, "invalid setting JOBDECK_PORT"),
])
def test_a_bad_setting_is_one_line_naming_the_variable(tmp_path, env, message):
    result = cli(tmp_path, "jobs", "list", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(message), result.stderr
    assert "Traceback" not in result.stderr and "s3cret-pw" not in result.stderr


@pytest.mark.parametrize("command", [["jobs", "list"], ["db", "upgrade"], ["db", "current"]])
def test_an_unreachable_database_says_so_without_its_password(tmp_path, command):
    url = f"postgresql+psycopg://ada:s3cret-pw@127.0.0.1:{free_port()}/jobs"  # nothing there
    result = cli(tmp_path, *command, env={"DATABASE_URL": url})
    assert result.returncode == 1
    assert result.stderr.startswith("cannot reach the database postgresql+psycopg://ada:***@")
    assert "check DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr and "s3cret-pw" not in result.stderr


def test_users_and_tokens_from_the_terminal(tmp_path):
    def run(*args, stdin: str | None = None):
        return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=tmp_path,
                              input=stdin, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "JOBDECK_DATA_DIR": str(tmp_path / "data")})

    made = run("users", "create", "rita", "--role", "approver", "--password-stdin",
               stdin="correct horse battery\n")
    assert made.returncode == 0 and "user rita created (approver)" in made.stdout
    assert "correct horse" not in made.stdout + made.stderr
    again = run("users", "create", "rita", "--role", "viewer", "--password-stdin",
                stdin="another password\n")
    assert again.returncode == 2 and 'already a user named "rita"' in again.stderr
    bad_role = run("users", "create", "tom", "--role", "boss", "--password-stdin", stdin="x" * 9)
    assert bad_role.returncode == 2 and "unknown role 'boss'" in bad_role.stderr
    short = run("users", "create", "tom", "--role", "viewer", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "at least 8 characters" in short.stderr
    generated = run("users", "create", "gus", "--role", "operator", stdin="")
    assert generated.returncode == 0 and "password (shown only now):" in generated.stdout

    token = run("tokens", "create", "rita", "--label", "nightly")
    assert token.returncode == 0 and token.stdout.startswith("jd_")
    assert len(token.stdout.strip().splitlines()) == 1  # stdout is the token alone
    assert "shown only now" in token.stderr
    assert run("tokens", "create", "nobody").returncode == 2

    changed = run("users", "set", "rita", "--role", "viewer", "--disable")
    assert changed.returncode == 0
    listed = run("users", "list")
    assert "rita" in listed.stdout and "viewer" in listed.stdout and "disabled" in listed.stdout
    db = (tmp_path / "data" / "jobdeck.db").read_bytes()
    assert b"correct horse" not in db and token.stdout.strip().encode() not in db


def test_secrets_from_the_terminal_are_stored_for_the_owner_only(tmp_path):
    env = {**os.environ, "JOBDECK_DATA_DIR": str(tmp_path / "data")}
    key = subprocess.run([sys.executable, str(ROOT / "main.py"), "secrets", "key"], env=env,
                         capture_output=True, text=True, timeout=60).stdout.strip()
    stored = subprocess.run([sys.executable, str(ROOT / "main.py"), "secrets", "set", "api"],
                            input="v@lue-123\n", env={**env, "JOBDECK_SECRETS_KEY": key},
                            capture_output=True, text=True, timeout=60)
    assert stored.returncode == 0 and "secret api set" in stored.stdout
    path = tmp_path / "data" / "secrets.json"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert "v@lue-123" not in path.read_text()  # encrypted with the key
    bad_key = subprocess.run([sys.executable, str(ROOT / "main.py"), "secrets", "set", "api"],
                             input="x\n", env={**env, "JOBDECK_SECRETS_KEY": "nope"},
                             capture_output=True, text=True, timeout=60)
    assert bad_key.returncode == 1 and "not a Fernet key" in bad_key.stderr


def test_reading_commands_touch_no_event_bus(tmp_path):
    """`jobs list` and `users list` read the database only: with a REDIS_URL where nothing
    answers they neither wait for Redis nor warn about it (the bus is never connected)."""
    env = {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    for command in (["jobs", "list"], ["users", "list"]):
        result = cli(tmp_path, *command, env=env)
        assert result.returncode == 0, result.stderr
        assert "Redis" not in result.stderr, result.stderr


def test_a_zero_padded_value_through_validate_and_run(tmp_path, site, site_port):
    """`zip: 01234` stays "01234": typed into the form, through a merge key too, read back
    from the page, and compared; the CLI prints it as the page has it."""
    path = tmp_path / "zero.yaml"
    path.write_text(zero_padded_runbook("cli-zero-padded", site))
    assert cli(tmp_path, "validate", str(path)).returncode == 0
    done = cli(tmp_path, "run", str(path), "--report-json", "r.json", site_port=site_port)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "name='01234', comment='01234'" in " ".join(done.stdout.split())  # rich wraps
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["params"] == {"zip": "01234"}
    steps = {s["name"]: s for s in report["steps"]}
    assert steps["read"]["captures"] == {"name": "01234", "comment": "01234"}
    assert steps["same"]["status"] == "success"  # equals compared "01234" with "01234"


def test_run_prints_an_excerpt_of_a_5_mb_capture(tmp_path):
    (tmp_path / "big.yaml").write_text(
        "version: 1\nname: cli-big\ntitle: Big\nsettings: {screenshots: off}\nsteps:\n"
        "  - {name: big, action: wait, ms: 0, capture: {big: {js: \"'x'.repeat(5242880)\"}}}\n")
    done = cli(tmp_path, "run", "big.yaml")
    assert done.returncode == 0, done.stdout[:2000] + done.stderr[-2000:]
    unwrapped = done.stdout.replace("\n", "")  # rich folds long lines
    kept = "x" * CAPTURE_LIMIT + CUT_MARK  # the capture itself is cut at 64 KiB
    assert f"big='{excerpt(kept)}'" in unwrapped
    assert len(done.stdout) < 5000
