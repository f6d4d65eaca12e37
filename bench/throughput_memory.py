"""Throughput and memory of the embedded queue and its workers.

Run from the repo root:  python bench/throughput_memory.py [--quick]

An embedded runtime (SQLite, the Huey queue, N worker threads each with its own Chromium)
and the demo site served on 127.0.0.1:
1. memory over time and throughput with 1 worker: 300 short jobs (goto + assert) queued at
   once on one worker: PSS (this process, its browsers) after the first job and after the
   last, open file descriptors, Chromium processes left once the worker stopped; and jobs
   per minute (one batch serves both, to keep `make bench` within 15 minutes).
2. throughput with 2 and 4 workers: 100 short jobs queued at once. For each batch: jobs per
   minute, the machine's busy CPU, and "gaps": the time in which fewer jobs ran than there
   are workers while a job was still waiting, and how much of it is left once the time the
   workers spent opening the next job's browser context (timed around the engine's
   prepare_spare_context) is taken out.
3. memory: PSS of this process and all its children while 1, 4 and 8 jobs run at once (one
   per worker, each inside a 6 s page load; then cancelled), the cost per extra concurrent
   job, and where it goes: Playwright's driver (node), Chromium's browser process, the
   job's renderer, Chromium's other processes (GPU, network, storage).
Puts its figures into docs/benchmarks.md's table (--quick: prints only).
"""

import argparse
import os
import socket
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import uvicorn
from report import Figure, publish

from engine.bus import events
from engine.demo_site import create_demo_app
from engine.runner import worker
from engine.runtime import Runtime
from engine.service import job_actions
from engine.service.jobs import get_job, start_job
from engine.service.runbooks import add_runbook
from engine.settings import Settings

SHORT = """version: 1
name: short
title: Short
settings: {base_url: SITE, timeout_ms: 10000, retries: 0, screenshots: off}
steps:
  - {name: open, action: goto, url: /table}
  - {name: check, action: assert, selector: "#invoices", text: INV-1001}
"""
LONG = SHORT.replace("name: short", "name: long").replace("/table", "/slow?seconds=6")


def serve_demo() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_demo_app(), host="127.0.0.1", port=port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return port


def tree() -> list[int]:
    """This process and all its descendants."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [os.getpid()]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += parents.get(pid, [])
    return found


def pss_mb(pids: list[int] | None = None) -> float:
    """PSS of this process and its children (the browsers), or of the given pids."""
    total = 0
    for pid in tree() if pids is None else pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def pss_by_kind() -> dict[str, float]:
    """PSS in MB of this process's children by kind: Playwright's driver (node), and
    Chromium's browser, renderer and other (GPU, network, storage) processes."""
    kinds: dict[str, float] = {}
    for pid in tree()[1:]:
        try:  # Chromium rewrites its children's command lines into one string
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if not cmd.split():  # a zombie or kernel thread
            continue
        kind = ("driver" if Path(cmd.split()[0].decode(errors="replace")).name == "node"
                else "renderer" if b"--type=renderer" in cmd
                else "other" if b"--type=" in cmd else "browser")
        kinds[kind] = kinds.get(kind, 0) + pss_mb([pid])
    return kinds


def pss_split() -> tuple[float, float]:
    """(this Python process, its browsers) in MB."""
    return pss_mb([os.getpid()]), pss_mb(tree()[1:])


def chromium_left() -> int:
    count = 0
    for pid in tree()[1:]:
        try:
            if b"chrom" in Path(f"/proc/{pid}/cmdline").read_bytes():
                count += 1
        except OSError:
            continue
    return count


FINISHED: set[int] = set()  # jobs whose job_finished event was published
FINISHED_CHANGED = threading.Condition()


def note_finished(event: events.Event) -> None:
    """A bus subscriber that fills FINISHED."""
    if event.kind == events.JOB_FINISHED:
        with FINISHED_CHANGED:
            FINISHED.add(event.job_id)
            FINISHED_CHANGED.notify_all()


def wait_finished(ids: list[int], timeout: float = 3600) -> None:
    """Until every job in `ids` published job_finished (no polling of the database, which
    would compete with the workers)."""
    with FINISHED_CHANGED:
        if not FINISHED_CHANGED.wait_for(lambda: FINISHED.issuperset(ids), timeout=timeout):
            raise SystemExit(f"jobs did not finish: {sorted(set(ids) - FINISHED)[:5]} …")


def run_batch(runbook: str, count: int) -> list:
    """Queue `count` jobs at once, wait for them to finish, then read them once."""
    ids = [start_job(runbook).id for _ in range(count)]
    wait_finished(ids)
    return [get_job(i).job for i in ids]


# (when it started, ms) each time a worker opened its next job's context ahead of time
PREPARING: list[tuple[datetime, float]] = []


def _timed_prepare(original):
    def prepare(settings) -> None:
        started_at, started = datetime.now(timezone.utc), time.perf_counter()
        original(settings)
        PREPARING.append((started_at, (time.perf_counter() - started) * 1000))
    return prepare


worker.prepare_spare_context = _timed_prepare(worker.prepare_spare_context)


def busy_cores() -> tuple[float, float]:
    """(busy, total) CPU time of the whole machine so far, in seconds (from /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    ticks = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - idle) / ticks, sum(fields) / ticks


def idle_gaps_ms(jobs: list, workers: int) -> float:
    """Worker time spent between jobs while jobs waited: over each stretch, the workers
    without a job (as many as there were waiting jobs to take) times its length."""
    moments = sorted({t for j in jobs for t in (j.created_at, j.started_at, j.finished_at)})
    idle = 0.0
    for start, end in zip(moments, moments[1:]):
        middle = start + (end - start) / 2
        running = sum(j.started_at <= middle < j.finished_at for j in jobs)
        waiting = sum(j.created_at <= middle < j.started_at for j in jobs)
        idle += (end - start).total_seconds() * 1000 * min(workers - running, waiting)
    return idle


def throughput(runtime: Runtime, workers: int, count: int, rates: dict, between=None,
               rate_over: int | None = None, started: bool = False):
    """Queue `count` short jobs at once on `workers` workers: the throughput figure, jobs
    a minute over the first `rate_over` to finish (all by default). `between(jobs)` runs
    after the batch, before the workers stop; `started`: the workers are up and warm."""
    if not started:
        runtime.start_workers(workers)
        run_batch("short", workers)  # warm: every worker has its browser
    busy_before, total_before = busy_cores()
    jobs = run_batch("short", count)
    busy_after, total_after = busy_cores()
    first, last_claim = min(j.created_at for j in jobs), max(j.started_at for j in jobs)
    preparing = sum(ms for at, ms in PREPARING if first <= at < last_claim)  # jobs waited
    if between is not None:
        between(jobs)
    runtime.stop()
    cores = os.cpu_count() * (busy_after - busy_before) / (total_after - total_before)
    counted = sorted(jobs, key=lambda j: j.finished_at)[:rate_over or len(jobs)]
    span = max(j.finished_at for j in counted) - first
    rates[workers] = len(counted) / span.total_seconds() * 60
    gaps = idle_gaps_ms(jobs, workers)
    failed = sum(j.status.value != "completed" for j in jobs)
    idle = max(gaps - preparing, 0) / len(jobs)
    figure = Figure(
        f"Throughput: {count} short jobs (goto + assert) queued at once, {workers} "
        f"worker(s){f', jobs a minute over the first {rate_over}' if rate_over else ''}. "
        "Gaps: time a worker was between jobs while one waited, and what "
        "is left of it besides opening the next job's browser context"
        + (f"; {failed} failed" if failed else ""),
        f"{rates[workers]:.0f} jobs a minute; gaps {gaps / len(jobs):.0f} ms a job, "
        f"{idle:.0f} ms besides the next context; CPU busy {cores:.1f} of "
        f"{os.cpu_count()} cores", "", "no idle gaps (≤ 20 ms a job); scales with cores",
        "" if workers == 1 else f"{rates[workers] / rates[1]:.2f} × 1 worker",
        met=idle <= 20 and (workers == 1 or rates[workers] / rates[1] >= 1.5))
    print(figure.name, figure.median, flush=True)
    return figure


def memory_over_time(runtime: Runtime, long_run: int, rates: dict,
                     rate_over: int) -> list[Figure]:
    """The 1-worker throughput figure (over the first `rate_over` jobs, as the other
    batches) and memory over time, from one long batch on one worker session."""
    before = {}

    def remember(_jobs) -> None:  # PSS and open files after the batch, workers still up
        before["end"] = pss_split(), len(os.listdir("/proc/self/fd"))

    runtime.start_workers(1)
    run_batch("short", 1)
    start_python, start_browser = pss_split()
    start_fds = len(os.listdir("/proc/self/fd"))
    rate = throughput(runtime, 1, long_run, rates, between=remember, started=True,
                      rate_over=min(long_run, rate_over))
    time.sleep(1)
    left = chromium_left()
    (end_python, end_browser), end_fds = before["end"]
    growth = (end_python + end_browser) / (start_python + start_browser)
    return [rate, Figure(
        f"Memory over time: {long_run} short jobs on one worker (browser recycled every 50 "
        "jobs): PSS after the first job vs after the last, Python process + Chromium; open "
        "files; Chromium processes left after stop",
        f"{start_python:.0f} + {start_browser:.0f} MB vs {end_python:.0f} + "
        f"{end_browser:.0f} MB; {start_fds} vs {end_fds} fds; {left} left", "",
        "flat; none left", f"{growth:.2f} last / first",
        met=growth <= 1.10 and end_fds <= start_fds + 2 and left == 0)]


def memory_per_job(runtime: Runtime, concurrency: tuple[int, ...]) -> Figure:
    memory, kinds = {}, {}
    for workers in concurrency:
        runtime.start_workers(workers)
        ids = [start_job("long").id for _ in range(workers)]
        time.sleep(4)  # every job inside its slow step
        memory[workers] = pss_mb()
        kinds[workers] = pss_by_kind()
        for job_id in ids:  # done measuring: no need to wait for the slow page
            job_actions.act(job_id, "cancel", by="bench")
        while not all(get_job(i).job.status.is_final for i in ids):
            time.sleep(0.2)
        runtime.stop()
    low, high = min(memory), max(memory)
    per_job = (memory[high] - memory[low]) / (high - low)
    extra = {k: (kinds[high].get(k, 0) - kinds[low].get(k, 0)) / (high - low)
             for k in ("driver", "browser", "renderer", "other")}
    figure = Figure(
        "Memory: PSS of this process + its browsers with " + ", ".join(map(str, memory))
        + " jobs at once (one worker thread, with its own Chromium, per job)",
        " / ".join(f"{m:.0f} MB" for m in memory.values()) + "; an extra job: " + ", ".join(
            f"{k} {v:.0f} MB" for k, v in extra.items()), "", "≤ 80 MB per extra job",
        f"{per_job:.0f} MB per extra job", met=per_job <= 80)
    print(figure.name, figure.median, flush=True)
    return figure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer jobs; print only")
    args = parser.parse_args()
    batch, long_run = (6, 8) if args.quick else (100, 300)
    concurrency = (1, 2) if args.quick else (1, 4, 8)
    pool = (2,) if args.quick else (2, 4)
    port = serve_demo()
    with tempfile.TemporaryDirectory(prefix="jobdeck-bench-") as tmp:
        runtime = Runtime(Settings(data_dir=Path(tmp), allow_private_hosts=f"127.0.0.1:{port}"))
        site = f"http://127.0.0.1:{port}"
        add_runbook(SHORT.replace("SITE", site))
        add_runbook(LONG.replace("SITE", site))
        rates: dict[int, float] = {}
        events.get_bus().subscribe(note_finished)
        one_worker, over_time = memory_over_time(runtime, long_run, rates, batch)
        figures = [one_worker, *[throughput(runtime, w, batch, rates) for w in pool],
                   memory_per_job(runtime, concurrency), over_time]
    publish("throughput_memory", "python bench/throughput_memory.py"
            + (" --quick" if args.quick else ""), figures, quick=args.quick)


if __name__ == "__main__":
    main()
