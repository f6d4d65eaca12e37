"""The REST API against a running console: runbooks, jobs, artifacts, errors."""

import csv
import io
import time

import httpx
import pytest

pytestmark = pytest.mark.slow

EXPORT_RUNBOOK = """
version: 1
name: api-invoices
title: Invoices via the API
settings: {base_url: SITE, timeout_ms: 2000, retries: 0, screenshots: off}
params:
  status: {default: paid}
steps:
  - {name: open, action: goto, url: /table}
  - name: rows
    action: extract
    selector: "#invoices tbody tr"
    fields: {number: td.number, customer: td.customer, status: td.status}
    into: invoices
  - {name: save, action: export, collection: invoices, format: csv, filename: invoices.csv}
"""


@pytest.fixture
def api(console):
    with console.client(timeout=30) as client:
        yield client


def add(api, yaml_text: str, site: str) -> httpx.Response:
    return api.post("/api/runbooks", content=yaml_text.replace("SITE", site),
                    headers={"Content-Type": "application/x-yaml"})


def wait_finished(api, job_id: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = api.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {job['status']}")


def test_adding_a_runbook_created_unchanged_new_version_invalid(api, site):
    first = add(api, EXPORT_RUNBOOK.replace("api-invoices", "api-versions"), site)
    assert first.status_code == 201 and first.json()["outcome"] == "created"
    again = add(api, EXPORT_RUNBOOK.replace("api-invoices", "api-versions"), site)
    assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
    changed = add(api, EXPORT_RUNBOOK.replace("api-invoices", "api-versions")
                  .replace("Invoices via", "Invoices through"), site)
    assert changed.status_code == 201
    assert changed.json()["outcome"] == "new_version" and changed.json()["version"] == 2

    bad = add(api, "version: 1\nname: broken\ntitle: Broken\nsteps:\n  - action: clik\n", site)
    assert bad.status_code == 422
    body = bad.json()
    assert "invalid" in body["detail"]
    assert any(":5:" in e and 'did you mean "click"' in e for e in body["errors"])
    assert {"line": 5, "column": 13, "step": "step-1", "suggestion": "click",
            "message": 'unknown action "clik"', "path": "runbook.yaml"} in body["problems"]
    assert api.get("/api/runbooks/broken").status_code == 404  # nothing was stored

    wrong_type = api.post("/api/runbooks", json={"yaml": "x"})
    assert wrong_type.status_code == 415
    assert "application/x-yaml" in wrong_type.json()["detail"]


def test_start_a_job_and_fetch_it_with_its_artifacts(api, site):
    assert add(api, EXPORT_RUNBOOK, site).status_code in (200, 201)
    started = api.post("/api/runbooks/api-invoices/jobs", json={"params": {"status": "open"}})
    assert started.status_code == 201
    job = started.json()
    assert job["status"] == "queued" and job["trigger"] == "api"

    done = wait_finished(api, job["id"])
    assert done["status"] == "completed", done["error"]
    assert [s["name"] for s in done["steps"]] == ["open", "rows", "save"]
    assert done["metrics"]["steps_succeeded"] == 3
    assert done["params"] == {"status": "open"}
    [export] = [a for a in done["artifacts"] if a["kind"] == "export"]
    assert "path" not in export  # server paths stay on the server

    inline = api.get(export["url"])
    assert inline.status_code == 200
    rows = list(csv.DictReader(io.StringIO(inline.content.decode("utf-8"))))
    assert len(rows) == 12 and rows[0]["number"] == "INV-1001"
    assert inline.headers["x-content-type-options"] == "nosniff"
    assert inline.headers["content-disposition"].startswith("attachment")  # CSV never inline
    assert f"job-{job['id']}-invoices.csv" in inline.headers["content-disposition"]

    listed = api.get("/api/jobs", params={"runbook": "api-invoices", "status": "completed"})
    assert job["id"] in [j["id"] for j in listed.json()["items"]]
    report = api.get(f"/api/jobs/{job['id']}/report")
    assert report.json()["job_id"] == job["id"]
    assert "attachment" in report.headers["content-disposition"]


def test_bad_requests_get_clear_errors(api, site):
    add(api, EXPORT_RUNBOOK, site)
    missing = api.post("/api/runbooks/no-such-runbook/jobs", json={})
    assert missing.status_code == 404 and "no-such-runbook" in missing.json()["detail"]
    unknown_param = api.post("/api/runbooks/api-invoices/jobs", json={"params": {"x": "1"}})
    assert unknown_param.status_code == 422
    assert 'unknown parameter "x"' in unknown_param.json()["detail"]
    assert api.get("/api/jobs/999999").status_code == 404
    assert api.get("/api/artifacts/999999").status_code == 404
    bad_status = api.get("/api/jobs", params={"status": "done"})
    assert bad_status.status_code == 422 and "completed" in bad_status.json()["detail"]

    job = api.post("/api/runbooks/api-invoices/jobs", json={}).json()
    wait_finished(api, job["id"])
    refused = api.post(f"/api/jobs/{job['id']}/approve")
    assert refused.status_code == 409
    assert "can be approved only when waiting for approval" in refused.json()["detail"]
    assert api.post(f"/api/jobs/{job['id']}/pause").status_code == 409
    rerun = api.post(f"/api/jobs/{job['id']}/rerun")
    assert rerun.status_code == 201 and rerun.json()["trigger"] == "rerun"
    assert api.post("/api/jobs/999999/cancel").status_code == 404


def test_api_docs_work_offline(api):
    page = api.get("/docs")
    assert page.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()  # no internet needed
    assert api.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    paths = api.get("/openapi.json").json()["paths"]
    assert {"/api/jobs", "/api/jobs/{job_id}/events", "/api/runbooks",
            "/api/runbooks/{name}/jobs", "/api/artifacts/{artifact_id}"} <= set(paths)
    assert not any(p.startswith("/_nicegui") or p == "/jobs" for p in paths)
