"""Scale-out on PostgreSQL and Redis: worker processes, the Redis queue, memory per job.

Run from the repo root:  python bench/scale_out.py [--quick]

Needs the PostgreSQL and Redis of tests/services.py (JOBDECK_TEST_POSTGRES/_REDIS). This
process serves the demo site and enqueues; `main.py worker` processes (one job at a time
each) run the jobs, as on a scaled-out deployment, each round on a new database:
1. throughput with 1, 2 and 4 worker processes: a batch of short jobs (goto + assert)
   queued at once, jobs per minute from the first enqueue to the last job's end (after one
   warm-up job per worker, so browsers are started);
2. enqueue -> start on RedisHuey: one idle worker process, jobs enqueued one at a time 1 s
   apart; the time from the job's row being made (then enqueued) to a worker claiming it (both
   written to PostgreSQL by different processes on one clock);
3. memory per concurrent job: PSS of every worker process with everything it started
   (Playwright's driver, Chromium), sampled after the batch while each is inside a 6 s
   page load, divided by the number of jobs; this is what docs/deploy.md sizes workers
   with. Nothing is sampled during the batch: reading /proc would compete with the jobs.
Puts its figures into docs/benchmarks.md's table (--quick: prints only).
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import psycopg  # noqa: E402
import redis  # noqa: E402
from job_batches import (  # noqa: E402
    FINISHED,
    FINISHED_CHANGED,
    LONG,
    SHORT,
    note_finished,
    pss_mb,
    serve_demo,
    wait_finished,
)
from report import Figure, publish, spread  # noqa: E402
from services import HOW, POSTGRES, REDIS  # noqa: E402

from engine.bus import events  # noqa: E402
from engine.runtime import Runtime  # noqa: E402
from engine.service.jobs import start_job  # noqa: E402
from engine.service.runbooks import add_runbook  # noqa: E402
from engine.settings import Settings  # noqa: E402


class Deployment:
    """A new PostgreSQL database and Redis prefix, with N worker processes on them."""

    def __init__(self, workers: int, port: int, tmp: Path):
        self.name = f"jobdeck_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.name}"')
        base = POSTGRES.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        self.env = {"DATABASE_URL": f"{base}/{self.name}", "REDIS_URL": REDIS,
                    "JOBDECK_REDIS_PREFIX": self.name, "JOBDECK_DATA_DIR": str(tmp),
                    "JOBDECK_ALLOW_PRIVATE_HOSTS": f"127.0.0.1:{port}",
                    "JOBDECK_SHUTDOWN_GRACE_SECONDS": "1"}
        self.runtime = Runtime(Settings(
            database_url=self.env["DATABASE_URL"], redis_url=REDIS, redis_prefix=self.name,
            data_dir=tmp, allow_private_hosts=f"127.0.0.1:{port}", workers=0))
        with FINISHED_CHANGED:
            FINISHED.clear()  # job ids start again at 1 in each new database
        events.get_bus().subscribe(note_finished)
        add_runbook(SHORT.replace("SITE", f"http://127.0.0.1:{port}"))
        add_runbook(LONG.replace("SITE", f"http://127.0.0.1:{port}"))
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        self.logs = [open(tmp / f"worker{i}.log", "w+") for i in range(workers)]
        self.processes = [subprocess.Popen([sys.executable, "main.py", "worker"], cwd=ROOT,
                                           env={**env, **self.env}, stdout=log,
                                           stderr=subprocess.STDOUT) for log in self.logs]
        for path in (tmp / f"worker{i}.log" for i in range(workers)):
            while "worker with" not in path.read_text():
                time.sleep(0.1)

    def run(self, count: int) -> list[int]:
        return [start_job("short").id for _ in range(count)]

    def times(self, job_ids: list[int]) -> list[tuple]:
        with psycopg.connect(self.env["DATABASE_URL"].replace("+psycopg", "")) as db:
            return db.execute("SELECT created_at, started_at, finished_at, status FROM job "
                              "WHERE id = ANY(%s) ORDER BY id", (job_ids,)).fetchall()

    def worker_pss(self) -> float:
        """PSS in MB of the worker processes and everything they started."""
        from job_batches import tree  # its tree() starts at this process

        mine = set(tree())
        workers = {p.pid for p in self.processes}
        descendants = [p for p in mine if p != os.getpid() and _ancestor_in(p, workers)]
        return pss_mb(descendants)

    def close(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            process.wait(60)
        self.runtime.stop()
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        client = redis.Redis.from_url(REDIS)
        for key in client.scan_iter(match=f"*{self.name}*"):
            client.delete(key)


def _ancestor_in(pid: int, ancestors: set[int]) -> bool:
    while pid > 1:
        if pid in ancestors:
            return True
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return False
    return False


def throughput_and_memory(workers: int, batch: int, port: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="jobdeck-bench-") as tmp:
        deployment = Deployment(workers, port, Path(tmp))
        try:
            wait_finished(deployment.run(workers))  # warm-up: every worker's browser starts
            started = time.time()  # nothing polls while the batch runs: it would compete
            job_ids = deployment.run(batch)
            wait_finished(job_ids)
            rows = deployment.times(job_ids)
            assert all(r[3] == "completed" for r in rows), rows
            seconds = max(r[2] for r in rows).timestamp() - started
            per_job = memory_per_job(deployment, workers)
        finally:
            deployment.close()
    return batch / seconds * 60, per_job


def memory_per_job(deployment: "Deployment", workers: int) -> float:
    """PSS per running job, sampled while every worker is inside a 6 s page load."""
    job_ids = [start_job("long").id for _ in range(workers)]
    deadline = time.monotonic() + 60
    while len([r for r in deployment.times(job_ids) if r[1] is not None]) < workers:
        assert time.monotonic() < deadline, "the workers did not all start a long job"
        time.sleep(0.2)
    time.sleep(1.0)  # inside the page load
    samples = []
    for _ in range(3):
        samples.append(deployment.worker_pss() / workers)
        time.sleep(0.5)
    wait_finished(job_ids)
    return statistics.median(samples)


def enqueue_to_start(samples: int, port: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="jobdeck-bench-") as tmp:
        deployment = Deployment(1, port, Path(tmp))
        try:
            wait_finished(deployment.run(1))
            latencies = []
            for _ in range(samples):
                time.sleep(1.0)  # the worker sits idle in its blocking pop
                job_ids = deployment.run(1)
                wait_finished(job_ids)
                queued, started, _, _ = deployment.times(job_ids)[0]
                latencies.append((started - queued).total_seconds() * 1000)
        finally:
            deployment.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer jobs; print only")
    args = parser.parse_args()
    try:
        psycopg.connect(POSTGRES, connect_timeout=3).close()
        redis.Redis.from_url(REDIS, socket_connect_timeout=3).ping()
    except (psycopg.OperationalError, redis.RedisError) as exc:  # `make bench` goes on
        print(f"bench/scale_out.py skipped: it needs PostgreSQL and Redis ({exc}): {HOW}")
        return
    batch, samples = (8, 5) if args.quick else (30, 15)
    pool = (1, 2) if args.quick else (1, 2, 4)
    port = serve_demo()
    figures, rates, memory = [], {}, {}
    for workers in pool:
        rates[workers], memory[workers] = throughput_and_memory(workers, batch, port)
        figures.append(Figure(
            f"Scale-out throughput, {workers} worker process{'es' if workers > 1 else ''} "
            f"({batch} short jobs, PostgreSQL + Redis)", f"{rates[workers]:.0f} jobs/min",
            ratio=f"{rates[workers] / rates[1]:.2f}× 1 process" if workers > 1 else ""))
    latencies = enqueue_to_start(samples, port)
    figures.append(Figure("Enqueue → start on RedisHuey (idle worker process, 1 s apart)",
                          f"{statistics.median(latencies):.1f} ms", spread(latencies),
                          target="≤ 20 ms", met=statistics.median(latencies) <= 20))
    per_job = [memory[w] for w in pool]
    figures.append(Figure("Memory per concurrent job: a worker process with its driver and "
                          "Chromium, PSS while all run a job",
                          f"{statistics.median(per_job):.0f} MB",
                          spread(per_job, "{:.0f}", " MB"),
                          ratio=", ".join(f"{w} proc: {memory[w]:.0f} MB" for w in pool)))
    publish("scale_out", "python bench/scale_out.py" + (" --quick" if args.quick else ""),
            figures, quick=args.quick)


if __name__ == "__main__":
    main()
