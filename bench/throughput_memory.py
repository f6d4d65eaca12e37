"""Throughput and memory of the embedded queue and its workers.

Run from the repo root:  python bench/throughput_memory.py [--quick]

An embedded runtime (SQLite, the Huey queue, N worker threads each with its own Chromium)
and the demo site served on 127.0.0.1:
1. throughput: 100 short jobs (goto + assert) queued at once, with 1, 2 and 4 workers:
   jobs per minute, and "gaps": the total time in which fewer jobs ran than there are
   workers while a job was still waiting (a worker between two jobs: recording the end,
   opening the next context, claiming; 0 would mean no time between jobs at all).
2. memory: PSS of this process and all its children (the browsers) while 1, 4 and 8 jobs
   run at once (one per worker), and the cost per extra concurrent job.
3. memory over time: 300 short jobs on one worker: PSS after the first and after the
   last, open file descriptors, and Chromium processes left once the workers stopped.
Writes the "## Throughput and memory" section of docs/benchmarks.md.
"""

import argparse
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import uvicorn

from engine.jobs import get_job, start_job
from engine.runbooks import add_runbook
from engine.runtime import Runtime
from engine.settings import Settings
from pages.demo_site import create_demo_app
from report import machine, write_section

SECTION = "## Throughput and memory (bench/throughput_memory.py)"
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


def pss_mb() -> float:
    total = 0
    for pid in tree():
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def chromium_left() -> int:
    count = 0
    for pid in tree()[1:]:
        try:
            if b"chrom" in Path(f"/proc/{pid}/cmdline").read_bytes():
                count += 1
        except OSError:
            continue
    return count


def run_batch(runbook: str, count: int) -> list:
    ids = [start_job(runbook).id for _ in range(count)]
    while True:
        jobs = [get_job(i).job for i in ids]
        if all(j.status.is_final for j in jobs):
            return jobs
        time.sleep(0.2)


def idle_gaps_ms(jobs: list, workers: int) -> float:
    """Time in which fewer than `workers` jobs ran while another one waited."""
    moments = sorted({t for j in jobs for t in (j.created_at, j.started_at, j.finished_at)})
    idle = 0.0
    for start, end in zip(moments, moments[1:]):
        middle = start + (end - start) / 2
        running = sum(j.started_at <= middle < j.finished_at for j in jobs)
        waiting = sum(j.created_at <= middle < j.started_at for j in jobs)
        if waiting and running < workers:
            idle += (end - start).total_seconds() * 1000
    return idle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer jobs (about 2 minutes)")
    args = parser.parse_args()
    batch, long_run = (20, 40) if args.quick else (100, 300)
    concurrency = (1, 2) if args.quick else (1, 4, 8)
    rows = []
    port = serve_demo()
    with tempfile.TemporaryDirectory(prefix="jobdeck-bench-") as tmp:
        runtime = Runtime(Settings(data_dir=Path(tmp), allow_private_hosts=f"127.0.0.1:{port}"))
        site = f"http://127.0.0.1:{port}"
        add_runbook(SHORT.replace("SITE", site))
        add_runbook(LONG.replace("SITE", site))
        for workers in (1, 2, 4):
            runtime.start_workers(workers)
            run_batch("short", workers)  # warm: every worker has its browser
            jobs = run_batch("short", batch)
            runtime.stop()
            span = (max(j.finished_at for j in jobs) - min(j.created_at for j in jobs))
            per_minute = len(jobs) / span.total_seconds() * 60
            failed = sum(j.status.value != "completed" for j in jobs)
            rows.append((f"Throughput, {batch} short jobs, {workers} worker(s): jobs a minute; "
                         "gaps", f"{per_minute:.0f} a minute; "
                         f"{idle_gaps_ms(jobs, workers):.0f} ms of gaps"
                         + (f"; {failed} failed" if failed else ""),
                         "no idle gaps; scales with cores"))
            print(rows[-1][:2], flush=True)
        memory = {}
        for workers in concurrency:
            runtime.start_workers(workers)
            ids = [start_job("long").id for _ in range(workers)]
            time.sleep(4)  # every job inside its slow step
            memory[workers] = pss_mb()
            while not all(get_job(i).job.status.is_final for i in ids):
                time.sleep(0.2)
            runtime.stop()
        low, high = min(memory), max(memory)
        per_job = (memory[high] - memory[low]) / (high - low)
        rows.append(("Memory (PSS, this process + browsers) with " + ", ".join(
            f"{w}" for w in memory) + " jobs at once", " / ".join(
            f"{m:.0f} MB" for m in memory.values()) + f"; {per_job:.0f} MB per extra job",
            "≤ 80 MB per extra job"))
        print(rows[-1][:2], flush=True)
        runtime.start_workers(1)
        run_batch("short", 1)
        start_pss, start_fds = pss_mb(), len(os.listdir("/proc/self/fd"))
        run_batch("short", long_run)
        end_pss, end_fds = pss_mb(), len(os.listdir("/proc/self/fd"))
        runtime.stop()
        time.sleep(1)
        rows.append((f"Memory over time, {long_run} short jobs on one worker: PSS after the "
                     "first / last; open files; Chromium processes left after stop",
                     f"{start_pss:.0f} / {end_pss:.0f} MB; {start_fds} / {end_fds} fds; "
                     f"{chromium_left()} left", "flat; none left"))
        print(rows[-1][:2], flush=True)
    text = "\n".join([
        SECTION, "", f"Run {machine()}: `python bench/throughput_memory.py"
        f"{' --quick' if args.quick else ''}`.", "", "| Measure | Result | Target |",
        "|---|---|---|", *[f"| {a} | {b} | {c} |" for a, b, c in rows], ""])
    print("\n" + text)
    print(f"written to {write_section(SECTION, text)}")


if __name__ == "__main__":
    main()
