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
GREETING = """
version: 1
name: sched-greet
title: Scheduled greeting
params:
  who: {required: true, description: whom to greet}
  tone: {default: warm}
steps:
  - {name: open, action: goto, url: "http://127.0.0.1:9/{{who}}"}
"""


@pytest.fixture
def api(console, site):
    with console.client(timeout=30) as client:
        for source in (RUNBOOK.replace("SITE", site), GREETING):
            client.post("/api/runbooks", content=source,
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
        runs = api.get(f"/api/schedules/{schedule['id']}").json()["last_runs"]
    finally:
        api.delete(f"/api/schedules/{schedule['id']}")
    assert ran[0]["started_by"] == f"schedule {schedule['id']}"
    assert ran[0]["schedule_id"] == schedule["id"] and ran[0]["scheduled_for"]
    assert ran[0]["id"] in [run["id"] for run in runs]
    assert all(run["schedule_id"] == schedule["id"] for run in runs)


def test_params_overlap_and_the_scheduled_time_through_the_api(api):
    missing = api.post("/api/schedules", json={"runbook": "sched-greet", "cron": "0 6 * * *"})
    assert missing.status_code == 422
    assert missing.json()["detail"] == 'missing required parameter "who"'  # no CLI advice
    too_often = api.post("/api/schedules", json={"runbook": "sched-greet", "interval_s": 0,
                                                 "params": {"who": "ann"}})
    assert too_often.status_code == 422
    assert "shorter than the minimum of 1 s (JOBDECK_MIN_SCHEDULE_INTERVAL_SECONDS)" in \
        too_often.json()["detail"]
    created = api.post("/api/schedules", json={
        "runbook": "sched-greet", "cron": "0 6 * * 0-6", "timezone": "UTC",
        "params": {"who": "ann"}}).json()
    assert created["params"] == {"who": "ann", "tone": "warm"}
    assert created["overlap"] == "skip"  # the default
    try:
        pending = api.get(f"/api/jobs/{created['pending_job_id']}").json()
        assert pending["schedule_id"] == created["id"]
        assert pending["scheduled_for"] == created["next_fire_times"][0]
        listed = api.get("/api/jobs", params={"status": "scheduled"}).json()["items"]
        assert pending["scheduled_for"] in [j["scheduled_for"] for j in listed]
        changed = api.patch(f"/api/schedules/{created['id']}",
                            json={"overlap": "queue", "params": {"who": "bob"}}).json()
        assert changed["overlap"] == "queue" and changed["params"]["who"] == "bob"
        replaced = api.get(f"/api/jobs/{changed['pending_job_id']}").json()
        assert replaced["status"] == "scheduled" and replaced["schedule_id"] == created["id"]
        assert api.get(f"/api/jobs/{changed['pending_job_id']}/report").json()["params"][
            "who"] == "bob"  # the pending job was replaced with the new params
        bad = api.patch(f"/api/schedules/{created['id']}", json={"overlap": "pile-up"})
        assert bad.status_code == 422
    finally:
        api.delete(f"/api/schedules/{created['id']}")
    again = api.post("/api/schedules", json={"runbook": "sched-greet", "cron": "0 6 * * *",
                                             "params": {"who": "cy"}}).json()
    api.delete(f"/api/schedules/{again['id']}")
    assert again["id"] > created["id"]  # a deleted schedule's id is not given again


def test_health_names_the_process_that_runs_the_scheduler(api):
    health = api.get("/api/health").json()
    assert health["status"] == "ok" and health["database"] == "ok"
    assert health["scheduler"]["running"] and health["warnings"] == []
    assert health["scheduler"]["holder"].count(":") >= 3  # host:pid:tag:scheduler-…
    assert health["scheduler"]["since"] <= health["scheduler"]["expires_at"]
