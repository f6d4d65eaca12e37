"""The job page's way back from a failure: Re-run opens the Run dialog filled with the job's
params (a file param keeps its file) and sends only what was edited, Retry from step…
lists the steps to start from and the runbook's diff since the job ran, starts at the last
step whose state was kept, and is shown disabled with the reason when the job cannot be
retried. NiceGUI's simulated user against the real console, a real SQLite file;
the jobs run in real Chromium against the demo site."""

import pytest
from nicegui.elements.upload_files import SmallFileUpload
from waiting import eventually

from engine.runbook import load_runbook
from engine.service.job_actions import audit_trail
from engine.service.jobs import get_job, list_jobs
from engine.service.recovery import retry_job, retry_options
from engine.service.runbooks import save_runbook
from engine.store.snapshots import list_snapshots, snapshot_dir
from models import ArtifactKind, JobStatus

pytestmark = pytest.mark.asyncio

MONTHLY = """
version: 1
name: monthly
title: Monthly invoices
params:
  month: {default: "2026-10", description: The month to export}
  invoice: {type: file, description: The cover letter}
secrets: [api_token]
settings: {base_url: SITE, timeout_ms: 1500, retries: 0, screenshots: off}
steps:
  - {name: open, action: goto, url: "/table?month={{month}}"}
"""
# fails at its last step: a button the page does not have
INVOICES = """
version: 1
name: invoices
title: Invoices
settings: {base_url: SITE, timeout_ms: 1500, retries: 0, screenshots: off}
steps:
  - {name: open, action: goto, url: /table}
  - name: rows
    action: extract
    selector: "#invoices tbody tr"
    fields: {number: td.number}
    into: invoices
  - {name: export, action: click, selector: "#export-button"}
"""
MENDED = INVOICES.replace('{name: export, action: click, selector: "#export-button"}',
                          "{name: export, action: export, collection: invoices, format: csv}")


def job_after(old: int):
    """The job started after job `old` (asserts there is one)."""
    [job], _ = list_jobs(limit=1)
    assert job.id != old, "no new job yet"
    return job


async def test_rerun_opens_the_run_dialog_with_the_jobs_params(user, run_runbook, settings,
                                                              monkeypatch):
    monkeypatch.setenv("JOBDECK_SECRET_API_TOKEN", "s3cret-token")
    done = run_runbook(MONTHLY, params={"month": "2026-09"},
                       files={"invoice": ("letter.pdf", b"%PDF-1.7 letter")})
    assert done.job.status == JobStatus.completed, done.job.error_message
    old = done.job.id

    await user.open(f"/jobs/{old}")
    await user.should_see("Re-run", retries=30)
    user.find(marker="action-rerun").click()
    await user.should_see(f"Re-run #{old}: Monthly invoices", retries=30)
    await user.should_see("2026-09")  # the job's value, not the default
    await user.should_see("Keeps the job's file letter.pdf")
    await user.should_see("Uses secrets: api_token")
    await user.should_not_see("s3cret-token")

    user.find(marker="param-month").clear().type("2026-11")
    user.find(marker="rerun-job").click()
    new = await eventually(lambda: job_after(old), timeout=15)
    assert new.params == {"month": "2026-11", "invoice": "letter.pdf"}
    assert new.rerun_of == old
    [kept] = [a for a in get_job(new.id).artifacts if a.kind == ArtifactKind.input]
    assert (settings.data_dir / kept.path).read_bytes() == b"%PDF-1.7 letter"
    await user.should_see("Re-run of", retries=30)  # the new job's page, linking back
    [audited] = audit_trail(old)
    assert audited.status_after == f"re-run as job {new.id} (changed: month)"


async def test_a_rerun_without_edits_keeps_every_param(user, run_runbook, monkeypatch):
    monkeypatch.setenv("JOBDECK_SECRET_API_TOKEN", "s3cret-token")
    # an emptied month: the dialog shows it empty, and must not put the default back
    old = run_runbook(MONTHLY, params={"month": ""},
                      files={"invoice": ("letter.pdf", b"%PDF-1.7 letter")}).job.id

    await user.open(f"/jobs/{old}")
    await user.should_see("Re-run", retries=30)
    user.find(marker="action-rerun").click()
    await user.should_see("Keeps the job's file letter.pdf", retries=30)
    user.find(marker="rerun-job").click()
    new = await eventually(lambda: job_after(old), timeout=15)
    assert new.params == {"month": "", "invoice": "letter.pdf"}
    [audited] = audit_trail(old)
    assert audited.status_after == f"re-run as job {new.id}"  # no "(changed: …)"


async def test_a_file_chosen_in_the_rerun_dialog_replaces_the_jobs_file(user, run_runbook,
                                                                         settings, monkeypatch):
    monkeypatch.setenv("JOBDECK_SECRET_API_TOKEN", "s3cret-token")
    old = run_runbook(MONTHLY, files={"invoice": ("letter.pdf", b"%PDF-1.7 letter")}).job.id

    await user.open(f"/jobs/{old}")
    await user.should_see("Re-run", retries=30)
    user.find(marker="action-rerun").click()
    await user.should_see("Keeps the job's file letter.pdf", retries=30)
    picker = user.find(marker="file-invoice").elements.pop()
    # the same file name, another content: still a change
    await picker.handle_uploads([SmallFileUpload("letter.pdf", "application/pdf",
                                                 _data=b"%PDF-1.7 second letter")])
    user.find(marker="rerun-job").click()
    new = await eventually(lambda: job_after(old), timeout=15)
    assert new.params == {"month": "2026-10", "invoice": "letter.pdf"}
    [given] = [a for a in get_job(new.id).artifacts if a.kind == ArtifactKind.input]
    assert (settings.data_dir / given.path).read_bytes() == b"%PDF-1.7 second letter"
    [audited] = audit_trail(old)
    assert audited.status_after == f"re-run as job {new.id} (changed: invoice)"


async def test_retry_lists_the_steps_and_the_runbooks_diff(user, run_runbook, site):
    failed = run_runbook(INVOICES)
    assert failed.job.status == JobStatus.failed
    old = failed.job.id
    export = next(s.ordinal for s in failed.steps if s.name == "export")
    save_runbook(load_runbook(MENDED.replace("SITE", site), "invoices.yaml"))

    await user.open(f"/jobs/{old}")
    await user.should_see("Retry from step…", retries=30)
    user.find(marker="action-retry").click()
    await user.should_see(f"Retry job #{old} from a step", retries=30)
    [select] = user.find(marker="retry-step").elements
    assert list(select.options.values()) == [
        f"{s.name} — {'failed' if s.name == 'export' else 'success'}"
        for s in failed.steps]
    assert select.value == export  # the failed step first
    await user.should_see("The runbook changed since this job ran: version 1 → 2")
    await user.should_see('-  - {name: export, action: click, selector: "#export-button"}')
    await user.should_see("+  - {name: export, action: export, collection: invoices, "
                          "format: csv}")
    await user.should_see("run the job's version 1")
    user.find(marker="retry-version").elements.pop().set_value("new")
    user.find(marker="retry-job").click()

    new = await eventually(lambda: job_after(old), timeout=15)
    assert (new.retry_of, new.runbook_version, new.resume["from_ordinal"]) == (old, 2, export)
    await user.should_see("Retry of", retries=30)  # the new job's page, linking back
    await user.open(f"/jobs/{old}")
    await user.should_see("Retried as", retries=30)


async def test_retry_starts_at_the_last_step_whose_state_was_kept(user, run_runbook,
                                                                   settings):
    failed = run_runbook(INVOICES)
    assert failed.job.status == JobStatus.failed
    old = failed.job.id
    list_snapshots(settings.data_dir, old)[-1].path.unlink()  # the state after "rows"
    rows = next(s.ordinal for s in failed.steps if s.name == "rows")
    assert retry_options(old).default == rows  # not "export": its state is gone

    await user.open(f"/jobs/{old}")
    await user.should_see("Retry from step…", retries=30)
    user.find(marker="action-retry").click()
    await user.should_see(f"Retry job #{old} from a step", retries=30)
    [select] = user.find(marker="retry-step").elements
    assert list(select.options.values()) == [f"{s.name} — success"
                                             for s in failed.steps if s.name != "export"]
    assert select.value == rows
    user.find(marker="retry-job").click()
    new = await eventually(lambda: job_after(old), timeout=15)
    assert new.resume["from_ordinal"] == rows
    assert retry_job(old).resume["from_ordinal"] == rows  # the API's and CLI's default too


async def test_a_job_that_cannot_be_retried_says_why(user, run_runbook, settings):
    failed = run_runbook(INVOICES.replace("retries: 0,", "retries: 0, resume: false,"))
    assert failed.job.status == JobStatus.failed

    await user.open(f"/jobs/{failed.job.id}")
    await user.should_see("Retry from step…", retries=30)
    [button] = user.find(marker="action-retry").elements
    assert not button.enabled
    await user.should_see("ran with settings.resume: false, so it kept no browser state")

    lost = run_runbook(INVOICES).job.id
    for snapshot in list_snapshots(settings.data_dir, lost):  # as if deleted with artifacts
        snapshot.path.unlink()
    assert snapshot_dir(settings.data_dir, lost).is_dir()
    await user.open(f"/jobs/{lost}")
    await user.should_see("Retry from step…", retries=30)
    [button] = user.find(marker="action-retry").elements
    assert not button.enabled
    await user.should_see(f"job {lost} has no browser snapshot to resume from")
