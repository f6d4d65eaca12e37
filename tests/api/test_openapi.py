"""/openapi.json documents every response body of the API (a named schema, not "object"),
and the API sends what the engine's builders make: no key dropped on the way out.
The console runs in-process, on a real SQLite file, signed in through the sign-in form."""

import httpx
import pytest
import pytest_asyncio
from nicegui.testing.user_simulation import user_simulation

from engine.identity import accounts
from engine.service.report import build_report, job_summary
from pages.console import build_console

pytestmark = pytest.mark.asyncio

PASSWORD = "a-password-for-tests"
# Bodies that are not JSON, so no JSON schema: said here, one by one
NOT_JSON = {
    ("get", "/api/jobs/{job_id}/events"): "text/event-stream",
    ("get", "/api/artifacts/{artifact_id}"): "application/octet-stream",
}
NO_BODY = {("delete", "/api/schedules/{schedule_id}"),  # 204 No Content
           ("delete", "/api/notifications/{channel_id}"),
           ("post", "/api/jobs/{job_id}/control/input")}
# What a client reads from a job in a list (engine/service/report.py's job_summary)
JOB_FIELDS = {"id", "runbook", "runbook_title", "runbook_version", "status", "trigger",
              "started_by", "created_at", "started_at", "finished_at", "step_count",
              "steps_done", "current_step", "worker", "error", "metrics", "schedule_id",
              "scheduled_for", "control", "rerun_of", "retry_of", "keep",
              "artifacts_deleted_at"}


@pytest_asyncio.fixture
async def api(runtime, settings):
    """A client of the whole console, signed in as a viewer (who may read everything)."""
    async with user_simulation() as simulated:
        build_console(settings, with_demo=False)
        accounts.create_user("vera", "viewer", PASSWORD, by="tests")
        signed_in = await simulated.http_client.post(
            "/login", data={"name": "vera", "password": PASSWORD},
            headers={"Origin": "http://test"})
        assert signed_in.status_code == 303, signed_in.text
        yield simulated.http_client


def json_schema_of(response: dict) -> dict | None:
    return response.get("content", {}).get("application/json", {}).get("schema")


def names_a_schema(schema: dict | None) -> bool:
    """A `$ref` to a component, or an array of them."""
    if not schema:
        return False
    if schema.get("type") == "array":
        return names_a_schema(schema.get("items"))
    return schema.get("$ref", "").startswith("#/components/schemas/")


async def test_every_api_response_body_has_a_named_schema(api: httpx.AsyncClient):
    document = (await api.get("/openapi.json")).json()
    operations = {(method, path): operation for path, item in document["paths"].items()
                  if path.startswith("/api/") for method, operation in item.items()}
    assert ("post", "/api/jobs/{job_id}/rerun") in operations  # the job actions are there
    assert set(NOT_JSON) | NO_BODY <= set(operations)
    undocumented = []
    for key, operation in operations.items():
        ok = {code: r for code, r in operation["responses"].items() if code.startswith("2")}
        assert ok, f"{key} documents no 2xx response"
        if key in NOT_JSON:
            documented = all(NOT_JSON[key] in r.get("content", {}) for r in ok.values())
        elif key in NO_BODY:
            documented = set(ok) == {"204"} and "content" not in ok["204"]
        else:
            documented = all(names_a_schema(json_schema_of(r)) for r in ok.values())
        if not documented:
            undocumented.append(key)
    assert not undocumented, f"response bodies without a schema: {sorted(undocumented)}"

    # POST /api/runbooks answers 201 (created, new version) or 200 (unchanged): both shown
    assert {"200", "201"} <= set(operations["post", "/api/runbooks"]["responses"])
    schemas = document["components"]["schemas"]
    listed = json_schema_of(operations["get", "/api/jobs"]["responses"]["200"])
    page = schemas[listed["$ref"].rsplit("/", 1)[1]]
    assert {"items", "total"} <= set(page["properties"])
    job_ref = page["properties"]["items"]["items"]["$ref"]
    summary = schemas[job_ref.rsplit("/", 1)[1]]
    assert JOB_FIELDS <= set(summary["properties"])
    assert JOB_FIELDS <= set(summary["required"])  # always sent, null when not known
    for action in ("approve", "cancel", "rerun", "retry"):  # an action answers with the job
        responses = operations["post", f"/api/jobs/{{job_id}}/{action}"]["responses"]
        assert [json_schema_of(r) for code, r in responses.items()
                if code.startswith("2")] == [{"$ref": job_ref}]


RUNBOOK = """
version: 1
name: shapes
title: Shapes
params:
  who: {default: ada, description: Whose table}
settings: {base_url: SITE, timeout_ms: 3000, retries: 0}
steps:
  - name: open
    action: goto
    url: /table
    capture:
      where: {url: true}
"""


async def test_the_api_sends_every_key_the_builders_make(run_runbook, api, settings):
    detail = run_runbook(RUNBOOK)
    job_id = detail.job.id
    assert detail.steps and detail.artifacts  # a step with a capture, and its screenshot

    report = build_report(job_id, settings.data_dir)
    for artifact in report["artifacts"]:  # the API's one change: a URL for the file's path
        artifact["url"] = f"/api/artifacts/{artifact['id']}"
        del artifact["path"]
    assert (await api.get(f"/api/jobs/{job_id}")).json() == report

    listed = (await api.get("/api/jobs")).json()
    assert listed == {"items": [job_summary(detail.job)], "total": 1}
    assert set(job_summary(detail.job)) == JOB_FIELDS

    runbook = (await api.get("/api/runbooks/shapes")).json()
    assert runbook["params"] == {"who": {"description": "Whose table", "default": "ada",
                                         "required": False, "type": "text"}}
    assert set(runbook) == {"name", "title", "version", "updated_at", "description",
                            "params", "secrets", "steps", "source", "archived_at",
                            "archived_by"}
    [entry] = (await api.get("/api/runbooks")).json()
    assert entry == {k: v for k, v in runbook.items() if k != "source"}
