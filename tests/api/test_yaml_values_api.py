"""A runbook added over the API keeps its values as written (`zip: 01234` is "01234"),
merge keys included, from the stored runbook to the job that runs it."""

import time

import pytest
from support import zero_padded_runbook

pytestmark = pytest.mark.slow

def test_a_zero_padded_value_with_a_merge_key_through_the_api(console, site):
    with console.client(timeout=30) as api:
        added = api.post("/api/runbooks", content=zero_padded_runbook("api-zero-padded", site),
                         headers={"Content-Type": "application/x-yaml"})
        assert added.status_code in (200, 201), added.text
        assert added.json()["params"]["zip"]["default"] == "01234"
        assert added.json()["params"]["zip"]["description"] == "007"
        started = api.post("/api/runbooks/api-zero-padded/jobs", json={})
        assert started.status_code == 201, started.text
        job_id = started.json()["id"]
        deadline = time.monotonic() + 60
        while (job := api.get(f"/api/jobs/{job_id}").json())["status"] not in (
                "completed", "failed", "cancelled") and time.monotonic() < deadline:
            time.sleep(0.2)
    assert job["status"] == "completed", job["error"]
    assert job["params"] == {"zip": "01234"}
    steps = {s["name"]: s for s in job["steps"]}
    assert steps["read"]["captures"] == {"name": "01234", "comment": "01234"}
    assert steps["same"]["status"] == "success"
