"""Recovery through the API: re-run with changed params, and Retry from step N (the steps
one can retry from, the runbook's diff, refusals with their reason, a retried job that
completes with the old job's collected rows). The console in-process on a real SQLite
file, signed in as an operator; the jobs run in real Chromium against the demo site."""

import csv
import io

import httpx
import pytest
import pytest_asyncio
from nicegui.testing.user_simulation import user_simulation
from sqlalchemy import update
from support import in_browser_thread

from engine.bus.events import get_bus
from engine.identity import accounts
from engine.runbook import load_runbook
from engine.runner.worker import execute_job
from engine.secrets import store as secret_store
from engine.service.job_actions import audit_trail
from engine.service.jobs import create_job, get_job
from engine.service.runbooks import save_runbook
from engine.store.db import session_scope
from models import Job, JobStatus
from pages.console import build_console

pytestmark = pytest.mark.asyncio

PASSWORD = "a-password-for-tests"
MONTHLY = """
version: 1
name: monthly
title: Monthly invoices
params:
  month: {default: "2026-10", description: The month to export}
  status: {default: paid}
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
    fields: {number: td.number, customer: td.customer}
    into: invoices
  - {name: export, action: click, selector: "#export-button"}
"""
# the same runbook, mended: the export step exports what the job collected
MENDED = INVOICES.replace('{name: export, action: click, selector: "#export-button"}',
                          "{name: export, action: export, collection: invoices, format: csv}")


@pytest_asyncio.fixture
async def api(runtime, settings):
    """A client of the whole console, signed in as an operator (who may re-run and retry)."""
    async with user_simulation() as simulated:
        build_console(settings, with_demo=False)
        accounts.create_user("olga", "operator", PASSWORD, by="tests")
        signed_in = await simulated.http_client.post(
            "/login", data={"name": "olga", "password": PASSWORD},
            headers={"Origin": "http://test"})
        assert signed_in.status_code == 303, signed_in.text
        yield simulated.http_client


def post(api: httpx.AsyncClient, path: str, body: dict | None = None):
    return api.post(path, json=body, headers={"Origin": "http://test"})


def run_job(runtime, settings, job_id: int):
    in_browser_thread(execute_job, job_id, settings=settings, bus=get_bus(),
                      heartbeat=runtime.heartbeat)
    return get_job(job_id)


async def test_rerun_with_changed_params(api, run_runbook):
    secret_store.set_secret("api_token", "s3cret-token", by="tests")
    done = run_runbook(MONTHLY, params={"status": "open"})
    assert done.job.status == JobStatus.completed
    old = done.job.id

    again = await post(api, f"/api/jobs/{old}/rerun",
                       {"params": {"month": "2026-11"}, "comment": "November too"})
    assert again.status_code == 201, again.text
    job = again.json()
    assert (job["trigger"], job["rerun_of"], job["retry_of"]) == ("rerun", old, None)
    new = (await api.get(f"/api/jobs/{job['id']}")).json()
    # the given value replaces the old one; the others are the old job's, not the defaults
    assert new["params"] == {"month": "2026-11", "status": "open"}
    assert (await api.get(f"/api/jobs/{old}")).json()["params"] == {"month": "2026-10",
                                                                    "status": "open"}
    [audited] = audit_trail(old)
    assert audited.comment == "November too"
    assert audited.status_after == f"re-run as job {job['id']} (changed: month)"

    plain = await post(api, f"/api/jobs/{old}/rerun")  # no body: the same params
    assert plain.status_code == 201
    assert get_job(plain.json()["id"]).job.params == {"month": "2026-10", "status": "open"}
    assert audit_trail(old)[-1].status_after == f"re-run as job {plain.json()['id']}"

    unknown = await post(api, f"/api/jobs/{old}/rerun", {"params": {"monht": "2026-11"}})
    assert unknown.status_code == 422
    assert 'unknown parameter "monht" (this runbook takes: month, status)' in \
        unknown.json()["detail"]
    secret = await post(api, f"/api/jobs/{old}/rerun", {"params": {"api_token": "x"}})
    assert secret.status_code == 422
    assert secret.json()["detail"].startswith('"api_token" is a secret, not a parameter')
    assert len((await api.get("/api/jobs")).json()["items"]) == 3  # no job for the refusals


async def test_retry_options_refusals_and_a_retry_that_completes(api, run_runbook, runtime,
                                                                 settings, site):
    failed = run_runbook(INVOICES)
    assert failed.job.status == JobStatus.failed
    old = failed.job.id
    ordinals = {s.name: s.ordinal for s in failed.steps}

    options = (await api.get(f"/api/jobs/{old}/retry")).json()
    assert [(p["ordinal"], p["name"], p["status"]) for p in options["points"]] == [
        (ordinals["open"], "open", "success"), (ordinals["rows"], "rows", "success"),
        (ordinals["export"], "export", "failed")]
    assert options["default"] == ordinals["export"] and options["refused"] is None
    assert (options["job_version"], options["current_version"], options["diff"]) == (1, 1, "")

    unknown = await post(api, f"/api/jobs/{old}/retry", {"from_step": "exprot"})
    assert unknown.status_code == 422 and 'has no step "exprot"' in unknown.json()["detail"]
    bad_version = await post(api, f"/api/jobs/{old}/retry", {"version": "newest"})
    assert bad_version.status_code == 422
    assert (await api.get("/api/jobs/99999/retry")).status_code == 404
    assert (await post(api, "/api/jobs/99999/retry")).status_code == 404

    running = create_job("invoices")
    with session_scope() as session:
        session.exec(update(Job).where(Job.id == running.id).values(status=JobStatus.running))
    refused = await post(api, f"/api/jobs/{running.id}/retry")
    assert refused.status_code == 409
    assert refused.json()["detail"] == (f"job {running.id} is running: only a failed or "
                                        "cancelled job can be retried")
    listed = (await api.get(f"/api/jobs/{running.id}/retry")).json()
    assert "only a failed or cancelled job can be retried" in listed["refused"]

    save_runbook(load_runbook(MENDED.replace("SITE", site), "invoices.yaml"))
    changed = (await api.get(f"/api/jobs/{old}/retry")).json()
    assert (changed["job_version"], changed["current_version"]) == (1, 2)
    assert '-  - {name: export, action: click, selector: "#export-button"}' in \
        changed["diff"].splitlines()
    assert "+  - {name: export, action: export, collection: invoices, format: csv}" in \
        changed["diff"].splitlines()

    retried = await post(api, f"/api/jobs/{old}/retry",
                         {"from_step": "export", "version": "new", "comment": "mended"})
    assert retried.status_code == 201, retried.text
    job = retried.json()
    assert (job["trigger"], job["retry_of"], job["runbook_version"]) == ("retry", old, 2)

    run_job(runtime, settings, job["id"])
    done = (await api.get(f"/api/jobs/{job['id']}")).json()
    assert done["status"] == "completed", done["error"]
    restored = {s["name"]: s["restored_from"] for s in done["steps"]}
    assert restored == {"open": old, "rows": old, "export": None}  # only export ran again
    [export] = [a for a in done["artifacts"] if a["kind"] == "export"]
    rows = list(csv.DictReader(io.StringIO((await api.get(export["url"])).text)))
    assert len(rows) == 12 and rows[0]["number"] == "INV-1001"  # the old job's rows, once
