"""`PUT /api/jobs/{id}/keep`, `GET /api/storage` and `POST /api/storage/sweep`: who may,
what they answer, and a kept job's files surviving a sweep that takes the others'."""

import pytest
import pytest_asyncio
from nicegui.testing.user_simulation import user_simulation
from retention_seed import bytes_of, files_of, runbook, seed_job

from engine.identity import accounts
from models import JobStatus
from pages.console import build_console

pytestmark = pytest.mark.asyncio
PASSWORD = "a-password-for-tests"


@pytest_asyncio.fixture
async def api(runtime, settings):
    """The whole console in this process; `api.as_(name, role)` signs its client in."""
    async with user_simulation() as simulated:
        build_console(settings, with_demo=False)
        client = simulated.http_client
        client.headers["Origin"] = "http://test"  # a session's writes come from its pages

        async def as_(name: str, role: str):
            accounts.create_user(name, role, PASSWORD, by="tests")
            client.cookies.clear()
            signed_in = await client.post("/login", data={"name": name, "password": PASSWORD},
                                          headers={"Origin": "http://test"})
            assert signed_in.status_code == 303, signed_in.text
            return client

        yield as_


async def test_keep_storage_and_sweep(api, settings):
    data = settings.data_dir
    alpha = runbook("alpha")
    old, kept_later = (seed_job(data, alpha, "alpha", JobStatus.failed, days)
                       for days in (40, 41))
    newest = seed_job(data, alpha, "alpha", JobStatus.completed, 1)

    viewer = await api("vera", "viewer")
    refused = await viewer.put(f"/api/jobs/{old}/keep", json={"keep": True})
    assert refused.status_code == 403 and "operator role" in refused.json()["detail"]
    assert (await viewer.get("/api/storage")).status_code == 403
    shown = (await viewer.get(f"/api/jobs/{old}")).json()
    assert (shown["keep"], shown["artifacts_deleted_at"]) == (False, None)

    operator = await api("olga", "operator")
    kept = await operator.put(f"/api/jobs/{kept_later}/keep", json={"keep": True})
    assert kept.status_code == 200 and kept.json()["keep"] is True
    assert (await operator.put("/api/jobs/999/keep", json={"keep": True})).status_code == 404
    bad = await operator.put(f"/api/jobs/{old}/keep", json={"keep": "maybe"})
    assert bad.status_code == 422
    assert (await operator.post("/api/storage/sweep")).status_code == 403

    admin = await api("ada", "admin")
    storage = (await admin.get("/api/storage")).json()
    assert (storage["days"], storage["per_runbook"], storage["kept_jobs"]) == (30, None, 1)
    assert (storage["next_jobs"], storage["next_bytes"]) == (1, bytes_of(data, old))
    [alpha_row] = storage["runbooks"]
    assert alpha_row["runbook"] == "alpha" and alpha_row["jobs"] == 3
    assert storage["last_sweep"] is None

    freed = bytes_of(data, old)
    swept = await admin.post("/api/storage/sweep")
    assert swept.status_code == 200
    assert swept.json() == {"jobs": [old], "bytes": freed, "failed": []}
    gone = (await admin.get(f"/api/jobs/{old}")).json()
    assert gone["artifacts_deleted_at"] is not None and gone["artifacts"] == []
    assert [s["name"] for s in gone["steps"]] == ["open"]  # its steps stay
    assert files_of(data, kept_later) and files_of(data, newest)
    after = (await admin.get("/api/storage")).json()
    assert after["next_jobs"] == 0 and after["last_sweep"] is not None
    late = await admin.put(f"/api/jobs/{old}/keep", json={"keep": True})
    assert late.status_code == 409 and "nothing left to keep" in late.json()["detail"]
