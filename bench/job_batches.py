"""Queueing batches of short jobs on an embedded runtime and waiting for them: the demo
site, the runbooks, the finished-job bookkeeping and the machine figures that
bench/throughput_memory.py and bench/scale_out.py share. Import it after the engine's
checkout is on sys.path (throughput_memory --engine-root)."""

import os
import socket
import threading
import time
from pathlib import Path

import uvicorn
from process_tree import descendants

from engine.bus import events
from engine.demo_site import create_demo_app
from engine.service.jobs import get_job, start_job

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
    return descendants()


def pss_mb(pids: list[int] | None = None) -> float:
    """PSS of this process and its children, or of the given pids (bench/scale_out.py)."""
    total = 0
    for pid in tree() if pids is None else pids:
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
