"""Kill -9 the console that runs the scheduler and start two more at once, as a restart
policy would: schedules fire again within the lock's lease plus one renewal, each occurrence
exactly once, and every occurrence of the outage is either made up or recorded as missed."""

import os
import signal
import subprocess
import time
from datetime import datetime, timedelta

import pytest
from support import eventually, start_console

pytestmark = pytest.mark.slow
LEASE = 6  # seconds; renewed every 2 s (the default is 30 s, renewed every 10 s)
INTERVAL = 5
RUNBOOK = "version: 1\nname: beat\ntitle: Beat\nsteps: [{action: goto, url: 'http://127.0.0.1:9/'}]\n"


def fired(client, schedule_id: int) -> list[datetime]:
    """The occurrences the schedule queued a job for (its pending one excluded)."""
    items = client.get("/api/jobs", params={"limit": 200}).json()["items"]
    return sorted(datetime.fromisoformat(j["scheduled_for"]) for j in items
                  if j["schedule_id"] == schedule_id and j["status"] != "scheduled")


def test_a_killed_scheduler_is_taken_over_and_fires_each_occurrence_once(tmp_path, site_port):
    data = tmp_path / "data"
    env = {"JOBDECK_WORKERS": "0", "JOBDECK_SCHEDULER_LEASE_SECONDS": str(LEASE),
           "JOBDECK_MIN_SCHEDULE_INTERVAL_SECONDS": "1"}
    first, url = start_console(data, site_port, log_name="first.log", **env)
    consoles = [first]
    try:
        with url.client(timeout=30) as client:
            client.post("/api/runbooks", content=RUNBOOK,
                        headers={"Content-Type": "application/x-yaml"}).raise_for_status()
            schedule = client.post("/api/schedules", json={
                "runbook": "beat", "interval_s": INTERVAL, "timezone": "UTC",
                "overlap": "allow"}).json()
            eventually(lambda: fired(client, schedule["id"]), 20, "the first console to fire")
            killed_holder = client.get("/api/health").json()["scheduler"]["holder"]
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        killed_at = datetime.now().astimezone()
        # two consoles restart at once and race for the lock
        for name in ("second", "third"):
            process, url = start_console(data, site_port, log_name=f"{name}.log", **env)
            consoles.append(process)
        with url.client(timeout=30) as client:
            after = eventually(lambda: [t for t in fired(client, schedule["id"])
                                    if t > killed_at], 60, "a fire after the kill")
            # the first fire after the kill came within lease + renewal + one interval
            # (the consoles' own start-up time included)
            assert after[0] - killed_at <= timedelta(seconds=LEASE + LEASE / 3 + INTERVAL + 15)
            time.sleep(3 * INTERVAL)
            times = fired(client, schedule["id"])
            health = client.get("/api/health").json()
            misses = client.get(f"/api/schedules/{schedule['id']}").json()["misses"]
        assert len(times) == len(set(times))  # exactly once per occurrence
        missed = {datetime.fromisoformat(m["at"]) for m in misses}
        step = timedelta(seconds=INTERVAL)
        expected = [times[0] + i * step for i in range(round((times[-1] - times[0]) / step) + 1)]
        # every occurrence since the first either ran or is recorded as missed, none both
        assert sorted(set(times) | missed) == expected and not set(times) & missed
        assert len([t for t in times if t > killed_at]) >= 3  # it keeps firing
        assert health["status"] == "ok"
        assert health["scheduler"]["holder"] != killed_holder
    finally:
        for process in consoles:
            if process.poll() is None:
                process.terminate()
        for process in consoles:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
