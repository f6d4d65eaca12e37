"""Scale-out on the real PostgreSQL and Redis: a console process with no workers and
`main.py worker` processes sharing one database, queue and event channel."""

import json
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import psycopg
import pytest
import redis
from services import POSTGRES, REDIS
from support import command_line, descendants, process_env, start_console

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]

QUICK = """
version: 1
name: quick
title: Quick
settings: {base_url: SITE, timeout_ms: 10000, retries: 0}
steps:
  - {name: open, action: goto, url: /table}
  - {name: look, action: click, selector: "#invoices"}
  - {name: again, action: goto, url: /table}
"""

SLOW = """
version: 1
name: slow
title: Slow
settings: {base_url: SITE, timeout_ms: 60000, retries: 0, approval_timeout_s: 600}
steps:
  - {name: open, action: goto, url: /table}
  - {name: first wait, action: wait, ms: 1500}
  - {name: second wait, action: wait, ms: 1500}
  - {name: risky, action: click, selector: "#invoices", approval: {message: Sure?}}
  - {name: third wait, action: wait, ms: 1500}
  - {name: slow page, action: goto, url: "/slow?seconds=20"}
"""


class Cluster:
    """One console (no workers) and any number of worker processes on one test's PostgreSQL
    and Redis, sharing one data directory (the shared volume of docs/deploy.md)."""

    def __init__(self, tmp_path: Path, site: str, site_port: int, env: dict[str, str]):
        self.tmp_path, self.site, self.site_port = tmp_path, site, site_port
        self.env = {**env, "JOBDECK_SHUTDOWN_GRACE_SECONDS": "1"}
        self.data = tmp_path / "data"
        self.console, self.url = start_console(self.data, site_port, JOBDECK_WORKERS="0",
                                               **self.env)
        self.workers: list[subprocess.Popen] = []
        # jobs are started by an operator, so the admin may approve them (four eyes)
        self.operator = {"Authorization": f"Bearer {self.url.user_token('otto', 'operator')}"}

    def start_worker(self, **extra: str) -> subprocess.Popen:
        env = {**process_env(), **self.env, **extra, "JOBDECK_DATA_DIR": str(self.data),
               "JOBDECK_ALLOW_PRIVATE_HOSTS": f"127.0.0.1:{self.site_port}"}
        log = open(self.tmp_path / f"worker{len(self.workers)}.log", "w")
        worker = subprocess.Popen([sys.executable, "main.py", "worker"], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
        self.workers.append(worker)
        return worker

    def add_runbook(self, source: str) -> None:
        httpx.post(f"{self.url}/api/runbooks", content=source.replace("SITE", self.site),
                   headers={"Content-Type": "application/x-yaml", **self.url.headers}
                   ).raise_for_status()

    def start_job(self, runbook: str) -> int:
        response = httpx.post(f"{self.url}/api/runbooks/{runbook}/jobs", json={},
                              headers=self.operator)
        response.raise_for_status()
        return response.json()["id"]

    def job(self, job_id: int) -> dict:
        return httpx.get(f"{self.url}/api/jobs/{job_id}", headers=self.url.headers).json()

    def act(self, job_id: int, action: str) -> None:
        httpx.post(f"{self.url}/api/jobs/{job_id}/{action}", json={},
                   headers=self.url.headers).raise_for_status()

    def wait_for(self, job_id: int, *statuses: str, timeout: float = 90) -> dict:
        deadline = time.monotonic() + timeout
        while (job := self.job(job_id))["status"] not in statuses:
            assert time.monotonic() < deadline, (
                f"job {job_id} stayed {job['status']}, not {statuses}:\n{self.logs()}")
            time.sleep(0.2)
        return job

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}"
                         for p in sorted(self.tmp_path.glob("*.log")))

    def stop(self) -> None:
        for process in [*self.workers, self.console]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.workers, self.console]:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def cluster(tmp_path, site, site_port, scale_env):
    made = Cluster(tmp_path, site, site_port, scale_env)
    yield made
    made.stop()


class EventStream:
    """The console's Server-Sent Events of one job, read in a thread as a client would."""

    def __init__(self, url: str, job_id: int):
        self.events: list[tuple[int, str, dict]] = []
        self.connected = threading.Event()
        self.finished = threading.Event()
        threading.Thread(target=self._read, args=(url, job_id), daemon=True).start()

    def _read(self, url: str, job_id: int) -> None:
        event_id, kind = None, None
        with httpx.stream("GET", f"{url}/api/jobs/{job_id}/events", timeout=180,
                          headers=url.headers) as response:
            for line in response.iter_lines():
                if line.startswith("id:"):
                    event_id = int(line[3:])
                elif line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    self.events.append((event_id, kind, json.loads(line[5:])))
                    self.connected.set()
                    if kind == "job_finished":
                        self.finished.set()
                        return

    def ids(self, kind: str) -> list[int]:
        return [event_id for event_id, k, _ in self.events if k == kind]


def recorded(pg_url: str, query: str, *args) -> list[tuple]:
    with psycopg.connect(pg_url.replace("+psycopg", "")) as db:
        return db.execute(query, args).fetchall()


def test_two_workers_run_twenty_jobs_exactly_once_and_the_console_sees_every_step(
        cluster, pg_url):
    cluster.add_runbook(QUICK)
    job_ids = [cluster.start_job("quick") for _ in range(20)]  # queued: no worker yet
    streams = {job_id: EventStream(cluster.url, job_id) for job_id in job_ids}
    assert all(s.connected.wait(30) for s in streams.values())  # each has read the record
    cluster.start_worker()
    cluster.start_worker()
    for job_id, stream in streams.items():
        assert stream.finished.wait(180), f"job {job_id}: no report\n{cluster.logs()}"

    jobs = recorded(pg_url, "SELECT id, status, worker_id FROM job ORDER BY id")
    assert [(i, s) for i, s, _ in jobs] == [(i, "completed") for i in job_ids]
    workers = {w.pid for w in cluster.workers}
    ran_on = {int(worker_id.split(":")[1]) for _, _, worker_id in jobs}
    assert ran_on == workers  # both workers took jobs from the one queue
    assert cluster.job(job_ids[0])["worker"] == jobs[0][2]  # the console says which
    claims = recorded(pg_url, "SELECT job_id, count(*) FROM jobevent WHERE kind = 'job_status'"
                      " AND data->>'status' = 'running' GROUP BY job_id")
    assert sorted(claims) == [(i, 1) for i in job_ids]  # each ran exactly once
    steps = recorded(pg_url, "SELECT job_id, count(*) FROM steprun GROUP BY job_id")
    assert sorted(steps) == [(i, 3) for i in job_ids]
    for job_id, stream in streams.items():  # every step event crossed to the console live
        finished = recorded(pg_url, "SELECT id FROM jobevent WHERE job_id = %s AND kind = "
                            "'step_finished' ORDER BY id", job_id)
        assert stream.ids("step_finished") == [row[0] for row in finished]
        assert len(finished) == 3


def chromium_children(pid: int) -> set[int]:
    """Chromium processes descended from `pid`."""
    return {p for p in descendants(pid) if "chrom" in command_line(p)}




def test_a_worker_killed_mid_job_leaves_a_lost_job_and_the_others_finish(cluster, pg_url):
    # Short leases so the test need not wait the default 75 s (docs/deploy.md).
    cluster.env.update(JOBDECK_LEASE_SECONDS="3", JOBDECK_SWEEP_INTERVAL_SECONDS="1")
    cluster.add_runbook(SLOW.replace(', approval: {message: Sure?}', ''))
    cluster.add_runbook(QUICK)
    first, second = cluster.start_worker(), cluster.start_worker()
    doomed = cluster.start_job("slow")
    cluster.wait_for(doomed, "running")
    victim = next(w for w in (first, second) if str(w.pid) in recorded(
        pg_url, "SELECT worker_id FROM job WHERE id = %s", doomed)[0][0])
    browsers = chromium_children(victim.pid)
    assert browsers, "the worker runs its job in Chromium"
    others = [cluster.start_job("quick") for _ in range(3)]
    time.sleep(1.0)
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)

    lost = cluster.wait_for(doomed, "failed", timeout=60)
    assert lost["error"]["kind"] == "worker_lost"
    assert "stopped" in lost["error"]["message"] and "Re-run" in lost["error"]["message"]
    for job_id in others:
        assert cluster.wait_for(job_id, "completed", "failed")["status"] == "completed"
    deadline = time.monotonic() + 15
    while (left := {p for p in browsers if Path(f"/proc/{p}").exists()
                    and "chrom" in command_line(p)}) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"Chromium processes left behind by the killed worker: {left}"


def test_pause_resume_approve_and_cancel_cross_processes(cluster, pg_url):
    cluster.add_runbook(SLOW)
    cluster.start_worker()
    job_id = cluster.start_job("slow")
    cluster.wait_for(job_id, "running")
    cluster.act(job_id, "pause")  # asked of the console, obeyed by the worker
    paused = cluster.wait_for(job_id, "paused", timeout=30)
    assert paused["steps_done"] < 4  # before the approval step
    cluster.act(job_id, "resume")
    cluster.wait_for(job_id, "waiting_for_approval", timeout=30)
    cluster.act(job_id, "approve")
    running = cluster.wait_for(job_id, "running", timeout=30)
    deadline = time.monotonic() + 30
    while cluster.job(job_id)["current_step"] != "slow page":
        assert time.monotonic() < deadline, cluster.logs()
        time.sleep(0.2)
    started = time.monotonic()
    cluster.act(job_id, "cancel")  # interrupts the 20 s page load in the other process
    cancelled = cluster.wait_for(job_id, "cancelled", timeout=15)
    assert time.monotonic() - started < 10
    assert running["status"] == "running"
    steps = {s["name"]: s["status"] for s in cancelled["steps"]}
    assert steps["risky"] == "success" and steps["third wait"] == "success"
    trail = recorded(pg_url, "SELECT action FROM auditevent WHERE job_id = %s ORDER BY id",
                     job_id)
    assert [action for action, in trail] == ["start", "pause", "resume", "approve", "cancel"]


def test_workers_and_console_ride_out_lost_connections(cluster, pg_url, redis_prefix):
    cluster.add_runbook(SLOW.replace(', approval: {message: Sure?}', '').replace(
        '"/slow?seconds=20"', "/table"))
    cluster.start_worker()
    job_id = cluster.start_job("slow")
    stream = EventStream(cluster.url, job_id)
    assert stream.connected.wait(30)
    cluster.wait_for(job_id, "running")
    while cluster.job(job_id)["steps_done"] < 1:
        time.sleep(0.1)
    database = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        # PostgreSQL away for 3 s: no new connections, and every open one cut
        admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        cut = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = %s", (database,)).fetchall()
        client = redis.Redis.from_url(REDIS)
        ours = [c["id"] for c in client.client_list() if c["name"] == f"jobdeck-{redis_prefix}"]
        for connection_id in ours:  # and every Redis connection of Jobdeck's
            client.client_kill_filter(_id=connection_id)
        time.sleep(3)
        admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
    assert len(cut) >= 2 and len(ours) >= 4  # the console's and the worker's, both kinds

    assert stream.finished.wait(60), cluster.logs()
    done = cluster.job(job_id)
    assert done["status"] == "completed", done["error"]
    steps = recorded(pg_url, "SELECT name, count(*) FROM steprun WHERE job_id = %s "
                     "GROUP BY name", job_id)
    assert sorted(count for _, count in steps) == [1] * 6  # nothing recorded twice
    finished = recorded(pg_url, "SELECT id FROM jobevent WHERE job_id = %s AND kind = "
                        "'step_finished' ORDER BY id", job_id)
    assert stream.ids("step_finished") == [row[0] for row in finished]  # none lost
    after = cluster.start_job("slow")  # the queue works again too
    assert cluster.wait_for(after, "completed", "failed")["status"] == "completed"


def test_a_schedule_of_the_console_runs_its_job_on_a_worker(cluster, pg_url):
    cluster.add_runbook(QUICK)
    cluster.start_worker()
    at = datetime.now(timezone.utc) + timedelta(seconds=3)
    made = httpx.post(f"{cluster.url}/api/schedules", headers=cluster.url.headers,
                      json={"runbook": "quick", "at": at.isoformat()})
    assert made.status_code == 201, made.text
    deadline = time.monotonic() + 60
    while not (rows := recorded(pg_url, "SELECT id, status, trigger, worker_id FROM job "
                                "WHERE schedule_id = %s AND status = 'completed'",
                                made.json()["id"])):
        assert time.monotonic() < deadline, cluster.logs()
        time.sleep(0.3)
    (job_id, _, trigger, worker_id), = rows
    assert trigger == "schedule"
    assert worker_id.split(":")[1] == str(cluster.workers[0].pid)  # not the console
