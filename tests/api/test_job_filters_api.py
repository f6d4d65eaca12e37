"""`GET /api/jobs` with the jobs list's filters: each alone and combined, the error each
item carries, and a 422 that says what is wrong; the console in-process on a real SQLite
file, signed in as a viewer."""

import httpx
import pytest
import pytest_asyncio
from job_rows import TIMEOUT, add_job_rows
from nicegui.testing.user_simulation import user_simulation

from engine.identity import accounts
from pages.console import build_console

pytestmark = pytest.mark.asyncio
PASSWORD = "a-password-for-tests"


@pytest_asyncio.fixture
async def api(runtime, settings):
    async with user_simulation() as simulated:
        build_console(settings, with_demo=False)
        accounts.create_user("vera", "viewer", PASSWORD, by="tests")
        signed_in = await simulated.http_client.post(
            "/login", data={"name": "vera", "password": PASSWORD},
            headers={"Origin": "http://test"})
        assert signed_in.status_code == 303, signed_in.text
        yield simulated.http_client


async def listed(api: httpx.AsyncClient, ids: list[int], **query) -> list[int]:
    """The JOBS' numbers (1-based) the API lists, newest first."""
    answer = await api.get("/api/jobs", params=query)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == len(body["items"])
    return [ids.index(item["id"]) + 1 for item in body["items"]]


async def test_each_filter_alone_and_combined(api):
    ids = add_job_rows()
    assert await listed(api, ids) == [6, 5, 4, 3, 2, 1]
    assert await listed(api, ids, runbook="payroll") == [6, 4, 3]
    assert await listed(api, ids, status="failed") == [3, 2]
    assert await listed(api, ids, trigger="schedule,cli") == [5, 2]
    assert await listed(api, ids, started_by="bob") == [6, 3]
    assert await listed(api, ids, since="2026-11-30", until="2026-12-01") == [5, 4]
    assert await listed(api, ids, until="2026-11-02T03:00:00Z") == [1]  # until: before it
    assert await listed(api, ids, error_kind="element_not_found") == [2]
    assert await listed(api, ids, q="zurich") == [3]
    assert await listed(api, ids, q="Export inv") == [5, 2, 1]
    assert await listed(api, ids, runbook="invoices", status="failed,running",
                        since="2026-11-02", q="invoices") == [5, 2]
    assert await listed(api, ids, trigger="retry", started_by="bob", q="pay") == [6]


async def test_an_item_carries_its_error_kind_and_message(api):
    ids = add_job_rows()
    body = (await api.get("/api/jobs", params={"q": "locator"})).json()
    assert [(i["id"], i["error"]) for i in body["items"]] == [
        (ids[1], {"kind": "element_not_found", "message": TIMEOUT})]
    body = (await api.get("/api/jobs", params={"runbook": "invoices", "status": "completed"})
            ).json()
    assert [i["error"] for i in body["items"]] == [None]


@pytest.mark.parametrize("query, says", [
    ({"trigger": "hourly"}, "unknown trigger hourly: use one of manual, schedule, api, "
                            "rerun, retry, cli"),
    ({"since": "last week"}, 'since "last week" is not an ISO 8601 date'),
    ({"since": "2026-12-02", "until": "2026-12-01"}, "swap them"),
    ({"error_kind": "boom", "status": "done"}, "unknown status done: use one of scheduled"),
    ({"error_kind": "boom", "status": "done"}, "; unknown error_kind boom: use one of"),
])
async def test_a_bad_value_is_a_422_that_says_why(api, query, says):
    answer = await api.get("/api/jobs", params=query)
    assert answer.status_code == 422
    assert says in answer.json()["detail"]


async def test_the_filters_are_documented(api):
    document = (await api.get("/openapi.json")).json()
    names = {p["name"] for p in document["paths"]["/api/jobs"]["get"]["parameters"]}
    assert {"runbook", "status", "trigger", "started_by", "since", "until", "error_kind",
            "q"} <= names
