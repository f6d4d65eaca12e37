"""Schedules through the API of a running console, whose scheduler really fires them."""

import time

import pytest

pytestmark = pytest.mark.slow

RUNBOOK = """
version: 1
name: sched-table
title: Scheduled table
settings: {base_url: SITE, timeout_ms: 5000, retries: 0, screenshots: off}
steps:
  - {name: open, action: goto, url: /table}
"""


@pytest.fixture
def api(console, site):
    with console.client(timeout=30) as client:
        client.post("/api/runbooks", content=RUNBOOK.replace("SITE", site),
                    headers={"Content-Type": "application/x-yaml"}).raise_for_status()
        yield client


def test_create_see_pause_and_delete_a_schedule(api):
    bad = api.post("/api/schedules", json={"runbook": "sched-table", "cron": "0 25 * * *"})
    assert bad.status_code == 422 and "invalid cron expression" in bad.json()["detail"]
    two = api.post("/api/schedules", json={"runbook": "sched-table", "cron": "0 6 * * *",
                                           "interval_s": 60})
    assert two.status_code == 422 and "exactly one of" in two.json()["detail"]
    preview = api.post("/api/schedules/preview", json={
        "runbook": "sched-table", "cron": "0 6 * * 1-5", "timezone": "Europe/Berlin"})
    assert len(preview.json()["next_fire_times"]) == 5

    created = api.post("/api/schedules", json={"runbook": "sched-table", "cron": "0 6 * * *",
                                               "timezone": "Europe/Berlin"})
    assert created.status_code == 201
    schedule = created.json()
    assert len(schedule["next_fire_times"]) == 5 and schedule["pending_job_id"]
    pending = api.get(f"/api/jobs/{schedule['pending_job_id']}").json()
    assert pending["status"] == "scheduled" and pending["trigger"] == "schedule"

    paused = api.patch(f"/api/schedules/{schedule['id']}", json={"enabled": False}).json()
    assert paused["pending_job_id"] is None and paused["next_fire_times"] == []
    assert api.get(f"/api/jobs/{schedule['pending_job_id']}").status_code == 404

    assert api.delete(f"/api/schedules/{schedule['id']}").status_code == 204
    assert api.get(f"/api/schedules/{schedule['id']}").status_code == 404
    assert api.delete(f"/api/schedules/{schedule['id']}").status_code == 404


def test_the_console_scheduler_fires_into_the_queue(api):
    schedule = api.post("/api/schedules", json={"runbook": "sched-table", "interval_s": 2,
                                                "timezone": "UTC"}).json()
    try:
        deadline = time.monotonic() + 20
        while True:
            ran = [j for j in api.get("/api/jobs", params={"runbook": "sched-table",
                                                           "status": "completed"}
                                      ).json()["items"] if j["trigger"] == "schedule"]
            if ran:
                break
            assert time.monotonic() < deadline, "the schedule never ran a job"
            time.sleep(0.3)
    finally:
        api.delete(f"/api/schedules/{schedule['id']}")
    assert ran[0]["started_by"] == f"schedule {schedule['id']}"
