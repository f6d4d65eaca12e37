"""Server-Sent Events of a job, read with a real HTTP client from a running console."""

import json

import httpx
import pytest
from test_api import add

pytestmark = pytest.mark.slow

SLOW_RUNBOOK = """
version: 1
name: sse-steps
title: Steps to stream
settings: {base_url: SITE, timeout_ms: 5000, retries: 0, screenshots: off}
steps:
  - {name: open, action: goto, url: /late?delay_ms=300}
  - {name: wait-items, action: wait, selector: .late-item}
  - {name: table, action: goto, url: /table}
  - {name: form, action: goto, url: /form}
"""


def read_events(client: httpx.Client, job_id: int, last_event_id: str | None = None,
                stop_after: int | None = None) -> list[dict]:
    """Parse the SSE stream into events; stop after `stop_after` recorded events."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    found, current = [], {}
    with client.stream("GET", f"/api/jobs/{job_id}/events", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith(":"):
                continue  # a keep-alive comment
            if not line:
                if current:
                    found.append(current)
                    if stop_after and sum("id" in e for e in found) >= stop_after:
                        return found
                current = {}
                continue
            key, _, value = line.partition(":")
            current[key] = value.lstrip(" ")
    return found


def recorded(events: list[dict]) -> list[tuple[int, str, dict]]:
    return [(int(e["id"]), e["event"], json.loads(e["data"])) for e in events if "id" in e]


def test_events_arrive_in_order_and_a_reconnect_misses_nothing(console, site):
    with console.client(timeout=60) as client:
        assert add(client, SLOW_RUNBOOK, site).status_code in (200, 201)
        job = client.post("/api/runbooks/sse-steps/jobs", json={}).json()

        # a client that drops after three events, then comes back with Last-Event-ID
        first = recorded(read_events(client, job["id"], stop_after=3))
        rest = recorded(read_events(client, job["id"], last_event_id=str(first[-1][0])))
        # and one that reads the whole stream in one go, after the fact
        whole = recorded(read_events(client, job["id"]))

    assert first + rest == whole  # nothing missed, nothing twice
    ids = [event_id for event_id, _, _ in whole]
    assert ids == sorted(set(ids))
    kinds = [(kind, data.get("name", data.get("status"))) for _, kind, data in whole]
    assert kinds == [
        ("job_status", "queued"), ("job_status", "running"),
        ("step_started", "open"), ("step_finished", "open"),
        ("step_started", "wait-items"), ("step_finished", "wait-items"),
        ("step_started", "table"), ("step_finished", "table"),
        ("step_started", "form"), ("step_finished", "form"),
        ("job_status", "completed"), ("job_finished", "completed"),
    ]
    report = whole[-1][2]
    assert report["job_id"] == job["id"] and len(report["steps"]) == 4


def test_unknown_job_and_bad_event_id(console, site):
    with console.client(timeout=10) as client:
        assert client.get("/api/jobs/987654/events").status_code == 404
        add(client, SLOW_RUNBOOK, site)
        job = client.post("/api/runbooks/sse-steps/jobs", json={}).json()
        bad = client.get(f"/api/jobs/{job['id']}/events", headers={"Last-Event-ID": "abc"})
        assert bad.status_code == 422
        assert "Last-Event-ID" in bad.json()["detail"]
