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
Puts its figures into docs/benchmarks.md's table (--quick: prints only).
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
from report import Figure, publish

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
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        name = Path(cmd[0].decode(errors="replace")).name
        kind = ("driver" if name == "node" else "renderer" if b"--type=renderer" in cmd
                else "browser" if not any(a.startswith(b"--type=") for a in cmd) else "other")
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
    parser.add_argument("--quick", action="store_true", help="fewer jobs; print only")
    args = parser.parse_args()
    batch, long_run = (10, 20) if args.quick else (100, 300)
    concurrency = (1, 2) if args.quick else (1, 4, 8)
    pool = (1, 2) if args.quick else (1, 2, 4)
    figures = []
    port = serve_demo()
    with tempfile.TemporaryDirectory(prefix="jobdeck-bench-") as tmp:
        runtime = Runtime(Settings(data_dir=Path(tmp), allow_private_hosts=f"127.0.0.1:{port}"))
        site = f"http://127.0.0.1:{port}"
        add_runbook(SHORT.replace("SITE", site))
        add_runbook(LONG.replace("SITE", site))
        rates = {}
        for workers in pool:
            runtime.start_workers(workers)
            run_batch("short", workers)  # warm: every worker has its browser
            jobs = run_batch("short", batch)
            runtime.stop()
            span = (max(j.finished_at for j in jobs) - min(j.created_at for j in jobs))
            rates[workers] = len(jobs) / span.total_seconds() * 60
            gaps = idle_gaps_ms(jobs, workers)
            failed = sum(j.status.value != "completed" for j in jobs)
            figures.append(Figure(
                f"Throughput: {batch} short jobs (goto + assert) queued at once, {workers} "
                f"worker(s); idle gaps: time a worker was between jobs while one waited"
                + (f"; {failed} failed" if failed else ""),
                f"{rates[workers]:.0f} jobs a minute; {gaps:.0f} ms of gaps "
                f"({gaps / len(jobs):.0f} ms a job)", "", "no idle gaps; scales with cores",
                "" if workers == 1 else f"{rates[workers] / rates[1]:.2f} × 1 worker",
                met=gaps == 0 and (workers == 1 or rates[workers] / rates[1] >= 1.5)))
            print(figures[-1].name, figures[-1].median, flush=True)
        memory, kinds = {}, {}
        for workers in concurrency:
            runtime.start_workers(workers)
            ids = [start_job("long").id for _ in range(workers)]
            time.sleep(4)  # every job inside its slow step
            memory[workers] = pss_mb()
            kinds[workers] = pss_by_kind()
            while not all(get_job(i).job.status.is_final for i in ids):
                time.sleep(0.2)
            runtime.stop()
        low, high = min(memory), max(memory)
        per_job = (memory[high] - memory[low]) / (high - low)
        extra = {k: (kinds[high].get(k, 0) - kinds[low].get(k, 0)) / (high - low)
                 for k in ("driver", "browser", "renderer", "other")}
        figures.append(Figure(
            "Memory: PSS of this process + its browsers with " + ", ".join(map(str, memory))
            + " jobs at once (one worker thread, with its own Chromium, per job)",
            " / ".join(f"{m:.0f} MB" for m in memory.values()) + "; an extra job: " + ", ".join(
                f"{k} {v:.0f} MB" for k, v in extra.items()), "", "≤ 80 MB per extra job",
            f"{per_job:.0f} MB per extra job", met=per_job <= 80))
        print(figures[-1].name, figures[-1].median, flush=True)
        runtime.start_workers(1)
        run_batch("short", 1)
        start_python, start_browser = pss_split()
        start_fds = len(os.listdir("/proc/self/fd"))
        run_batch("short", long_run)
        end_python, end_browser = pss_split()
        end_fds = len(os.listdir("/proc/self/fd"))
        runtime.stop()
        time.sleep(1)
        left = chromium_left()
        growth = (end_python + end_browser) / (start_python + start_browser)
        figures.append(Figure(
            f"Memory over time: {long_run} short jobs on one worker (browser recycled every 50 "
            "jobs): PSS after the first job vs after the last, Python process + Chromium; open "
            "files; Chromium processes left after stop",
            f"{start_python:.0f} + {start_browser:.0f} MB vs {end_python:.0f} + "
            f"{end_browser:.0f} MB; {start_fds} vs {end_fds} fds; {left} left", "",
            "flat; none left", f"{growth:.2f} last / first",
            met=growth <= 1.10 and end_fds <= start_fds + 2 and left == 0))
        print(figures[-1].name, figures[-1].median, flush=True)
    publish("throughput_memory", "python bench/throughput_memory.py"
            + (" --quick" if args.quick else ""), figures, quick=args.quick)


if __name__ == "__main__":
    main()
