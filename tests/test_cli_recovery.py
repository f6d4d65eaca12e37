"""Recovery from the terminal: `jobs rerun ID -p k=v` and `jobs retry ID [--from STEP]
[--version old|new]`, with their exit codes (engine/cli/errors.py). Real subprocesses on a
real SQLite file; the failed job runs in real Chromium against the demo site."""

import json

from test_cli import cli

# fails at its last step: a button the page does not have
RUNBOOK = """
version: 1
name: cli-invoices
title: CLI invoices
params:
  month: {default: "2026-10"}
settings: {base_url: SITE, timeout_ms: 1500, retries: 0, screenshots: off}
steps:
  - {name: open, action: goto, url: "/table?month={{month}}"}
  - {name: rows, action: extract, selector: "#invoices tbody tr", fields: {n: td.number},
     into: invoices}
  - {name: export, action: click, selector: "#export-button"}
"""


def shown(tmp_path, job_id: int) -> dict:
    result = cli(tmp_path, "jobs", "show", str(job_id), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_rerun_with_params_and_retry_from_a_step(tmp_path, site_port):
    (tmp_path / "rb.yaml").write_text(RUNBOOK.replace("SITE", f"http://127.0.0.1:{site_port}"))
    ran = cli(tmp_path, "run", "rb.yaml", site_port=site_port)
    assert ran.returncode == 1  # failed at "export"
    assert shown(tmp_path, 1)["status"] == "failed"

    rerun = cli(tmp_path, "jobs", "rerun", "1", "-p", "month=2026-11", "-m", "November")
    assert rerun.returncode == 0, rerun.stderr
    assert "job 1 re-run as job 2 (queued)" in rerun.stdout
    assert shown(tmp_path, 2)["params"] == {"month": "2026-11"}
    assert shown(tmp_path, 2)["rerun_of"] == 1

    unknown = cli(tmp_path, "jobs", "rerun", "1", "-p", "monht=2026-11")
    assert unknown.returncode == 2 and 'unknown parameter "monht"' in unknown.stderr
    malformed = cli(tmp_path, "jobs", "rerun", "1", "-p", "month")
    assert malformed.returncode == 2 and "write it as name=value" in malformed.stderr

    no_step = cli(tmp_path, "jobs", "retry", "1", "--from", "exprot")
    assert no_step.returncode == 2 and 'has no step "exprot"' in no_step.stderr
    version = cli(tmp_path, "jobs", "retry", "1", "--version", "newest")
    assert version.returncode == 2 and 'version must be "old" or "new"' in version.stderr
    queued = cli(tmp_path, "jobs", "retry", "2")  # the re-run waits: no worker runs here
    assert queued.returncode == 1
    assert "only a failed or cancelled job can be retried" in queued.stderr
    assert cli(tmp_path, "jobs", "retry", "99").returncode == 2

    retried = cli(tmp_path, "jobs", "retry", "1", "--from", "rows")
    assert retried.returncode == 0, retried.stderr
    assert "job 1 retried as job 3 (queued), from step rows" in retried.stdout
    job = shown(tmp_path, 3)
    assert (job["trigger"], job["retry_of"], job["params"]) == ("retry", 1, {"month": "2026-10"})
    assert "retry of    job 1" in cli(tmp_path, "jobs", "show", "3").stdout
    # wide enough that no column folds: job 1's row ends with what it offers now
    listed = cli(tmp_path, "jobs", "list", env={"COLUMNS": "200"})
    [first] = [line for line in listed.stdout.splitlines() if line.split()[:1] == ["1"]]
    assert first.split()[-2:] == ["rerun,", "retry"]
