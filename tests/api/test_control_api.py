"""Take control through the API: who may, when, one holder at a time. The console runs
in-process on a real SQLite file; each person calls it with an API token of their own.
Jobs are put in the status a worker would have left them in (paused, waiting)."""

import pytest
import pytest_asyncio
from nicegui.testing.user_simulation import user_simulation

from engine.bus import events
from engine.identity import accounts
from engine.service.job_actions import audit_trail
from engine.service.jobs import create_job, get_job
from engine.service.runbooks import add_runbook
from engine.store.db import session_scope
from engine.store.transitions import transition_job
from models import JobStatus
from pages.console import build_console

pytestmark = pytest.mark.asyncio
PEOPLE = {"olga": "operator", "oscar": "operator", "vera": "viewer", "abe": "approver"}


@pytest_asyncio.fixture
async def api(runtime, settings):
    """A client of the whole console, and each person's Authorization header."""
    async with user_simulation() as simulated:
        build_console(settings, with_demo=False)
        headers = {}
        for name, role in PEOPLE.items():
            accounts.create_user(name, role, "a-password-for-tests", by="tests")
            token, _ = accounts.create_token(name, "tests", by="tests")
            headers[name] = {"Authorization": f"Bearer {token}"}
        yield simulated.http_client, headers


def job_in(status: JobStatus, started_by: str | None = None) -> int:
    """A job of a one-step runbook, moved to `status` as its worker would move it."""
    add_runbook("version: 1\nname: hands\ntitle: Hands on\nsteps:\n"
                "  - {name: open, action: goto, url: 'http://127.0.0.1:9/'}\n")
    job = create_job("hands", started_by=started_by)
    assert job.id is not None
    with session_scope() as session:
        transition_job(session, job.id, JobStatus.running)
        if status != JobStatus.running:
            transition_job(session, job.id, status)
    return job.id


async def test_a_running_job_and_a_viewer_are_refused_and_nothing_changes(api):
    client, as_ = api
    running = job_in(JobStatus.running)
    refused = await client.post(f"/api/jobs/{running}/control", headers=as_["olga"])
    assert refused.status_code == 409
    assert "running" in refused.json()["detail"] and "paused" in refused.json()["detail"]
    assert get_job(running).job.control_holder is None

    paused = job_in(JobStatus.paused)
    viewer = await client.post(f"/api/jobs/{paused}/control", headers=as_["vera"])
    assert viewer.status_code == 403
    assert "vera is a viewer" in viewer.json()["detail"]
    assert "operator" in viewer.json()["detail"]
    job = (await client.get("/api/jobs?status=paused", headers=as_["vera"])).json()
    assert [j["control"] for j in job["items"] if j["id"] == paused] == [None]
    assert (await client.post("/api/jobs/999999/control", headers=as_["olga"])
            ).status_code == 404


async def test_one_holder_at_a_time_inputs_from_the_holder_only(api):
    client, as_ = api
    job_id = job_in(JobStatus.paused)
    sent: list[events.Event] = []
    unsubscribe = events.get_bus().subscribe(
        lambda e: sent.append(e) if e.kind == events.CONTROL_INPUT else None)
    try:
        taken = await client.post(f"/api/jobs/{job_id}/control", headers=as_["olga"])
        assert taken.status_code == 200, taken.text
        assert taken.json()["control"]["holder"] == "olga"
        assert taken.json()["status"] == "paused"

        second = await client.post(f"/api/jobs/{job_id}/control", headers=as_["oscar"])
        assert second.status_code == 409
        assert "olga holds control" in second.json()["detail"]
        other_input = await client.post(f"/api/jobs/{job_id}/control/input",
                                        json={"type": "text", "text": "x"},
                                        headers=as_["oscar"])
        assert other_input.status_code == 409 and "olga" in other_input.json()["detail"]
        bad = await client.post(f"/api/jobs/{job_id}/control/input",
                                json={"type": "click", "x": 1.5, "y": 0.5},
                                headers=as_["olga"])
        assert bad.status_code == 422
        typed = await client.post(f"/api/jobs/{job_id}/control/input",
                                  json={"type": "text", "text": "123456"}, headers=as_["olga"])
        assert typed.status_code == 204, typed.text
        assert [e.data["input"] for e in sent] == [{"type": "text", "text": "123456"}]
        not_his = await client.delete(f"/api/jobs/{job_id}/control", headers=as_["oscar"])
        assert not_his.status_code == 409

        left = await client.delete(f"/api/jobs/{job_id}/control", headers=as_["olga"])
        assert left.status_code == 200
        assert left.json()["control"] is None and left.json()["status"] == "paused"
        assert (await client.post(f"/api/jobs/{job_id}/control", headers=as_["oscar"])
                ).json()["control"]["holder"] == "oscar"
        handed = await client.post(f"/api/jobs/{job_id}/control/hand-back",
                                   headers=as_["oscar"])
        assert handed.status_code == 200, handed.text
        assert handed.json()["control"] is None
        assert get_job(job_id).job.requested_action == "resume"  # the worker resumes it
    finally:
        unsubscribe()


async def test_a_waiting_job_needs_an_approver_who_did_not_start_it(api):
    client, as_ = api
    job_id = job_in(JobStatus.waiting_for_approval, started_by="abe")
    operator = await client.post(f"/api/jobs/{job_id}/control", headers=as_["olga"])
    assert operator.status_code == 403 and "approver" in operator.json()["detail"]
    starter = await client.post(f"/api/jobs/{job_id}/control", headers=as_["abe"])
    assert starter.status_code == 403 and "four-eyes" in starter.json()["detail"]
    assert get_job(job_id).job.control_holder is None
    refusals = [e for e in audit_trail(job_id) if e.action == "take_control_refused"]
    assert [e.actor for e in refusals] == ["olga", "abe"]  # in the audit log, as any refusal
