"""The job list with many jobs: list query per tab, tab counts, first page in a browser.

Run from the repo root:
  python bench/job_list_scale.py [--sizes 100000 1000000] [--repeat N] [--quick]

For each size, fills a fresh SQLite database (the real schema, made by the engine) with
that many jobs — mostly completed, some failed and cancelled, a few under way — then
measures through the engine's public API what the Jobs page asks for: the newest 25 jobs
of each tab, the counts on the tabs, and a search; then starts a real console on that data
(`python main.py`, no workers) and times /jobs in Chromium from navigation until the first
row shows. Puts its figures into docs/benchmarks.md's table (--quick: prints only).
"""

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from console_process import signed_in_page, start_console, stop_console
from playwright.sync_api import sync_playwright
from report import Figure, publish, spread, timed_ms

from engine.runner.browser import find_browser, launch
from engine.service import jobs
from engine.service.runbooks import add_runbook
from engine.store.schema import init_db
from models import JobStatus

S = JobStatus
MIX = [(S.completed, 0.70), (S.failed, 0.20), (S.cancelled, 0.05), (S.queued, 0.02),
       (S.running, 0.015), (S.waiting_for_approval, 0.01), (S.paused, 0.005)]
TABS = {"All": None, "Running": [S.running, S.waiting_for_approval, S.paused],
        "Needs approval": [S.waiting_for_approval], "Completed": [S.completed],
        "Failed": [S.failed]}
RUNBOOK = """version: 1
name: nightly-export
title: Nightly export
steps:
  - {name: open, action: goto, url: "http://127.0.0.1:9/"}
"""


def fill(db_path: Path, count: int) -> float:
    """Insert `count` jobs; returns seconds taken."""
    init_db(db_path)
    add_runbook(RUNBOOK)
    statuses = random.Random(7).choices([s for s, _ in MIX], [w for _, w in MIX], k=count)
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    began = time.perf_counter()
    with sqlite3.connect(db_path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        rows = ((1, "nightly-export", "Nightly export", 1, RUNBOOK, status.value, "schedule",
                 json.dumps({}), (at := (start + timedelta(seconds=30 * i)).isoformat(" ")),
                 at, at, 1, 1, 0, 0, 0, 0, 1200) for i, status in enumerate(statuses))
        db.executemany(
            "insert into job (runbook_id, runbook_name, runbook_title, runbook_version, "
            "source, status, trigger, params, created_at, queued_at, started_at, step_count, "
            "steps_done, steps_succeeded, steps_failed, steps_skipped, retry_count, "
            "duration_ms) values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    return time.perf_counter() - began


def page_render(data: Path, repeat: int) -> tuple[list[float], list[float]]:
    """/jobs?tab=failed until its first row shows; and the floor: /docs-free /runbooks."""
    process, url = start_console(data, JOBDECK_WORKERS="0")
    times, floor = [], []
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright, find_browser(None))
            page = signed_in_page(browser, url)
            page.goto(f"{url}/jobs")  # warm-up
            page.wait_for_selector("tbody tr a")
            for _ in range(repeat):  # alternating with a page that reads almost nothing
                began = time.perf_counter()
                page.goto(f"{url}/jobs?tab=failed")
                page.wait_for_selector("tbody tr a")
                times.append((time.perf_counter() - began) * 1000)
                began = time.perf_counter()
                page.goto(f"{url}/runbooks")
                page.wait_for_selector("[data-runbook]")
                floor.append((time.perf_counter() - began) * 1000)
            browser.close()
    finally:
        stop_console(process)
    return times, floor


def figure(name: str, times: list[float], target_ms: float | None = None) -> Figure:
    median = statistics.median(times)
    return Figure(name, f"{median:.1f} ms", spread(times),
                  f"≤ {target_ms:.0f} ms" if target_ms else "",
                  met=None if target_ms is None else median <= target_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="20 000 jobs, 3 repeats; print only")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.repeat = [20_000], 3
    figures = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="jobdeck-bench-") as tmp:
            data = Path(tmp) / "data"
            data.mkdir()
            seconds = fill(data / "jobdeck.db", size)
            print(f"{size} jobs written in {seconds:.1f} s", flush=True)
            label = f"{size:,}".replace(",", " ")
            for tab, statuses in TABS.items():
                times = timed_ms(lambda s=statuses: jobs.list_jobs(s, limit=25), args.repeat)
                figures.append(figure(f"{label} jobs: list query, tab {tab} (newest 25 + total)",
                                      times, 20))
            figures.append(figure(f"{label} jobs: tab counts",
                                  timed_ms(jobs.count_jobs_by_status, args.repeat), 100))
            figures.append(figure(f"{label} jobs: search \"export\" (list + counts)", timed_ms(
                lambda: (jobs.list_jobs(None, "export", limit=25),
                         jobs.count_jobs_by_status("export")), 3)))
            shown, floor = page_render(data, 3 if args.quick else 5)
            figures.append(figure(f"{label} jobs: /jobs?tab=failed in Chromium until the first "
                                  "row shows", shown, 300))
            page = figures[-1]
            figures.append(figure(f"{label} jobs: for scale, /runbooks (one runbook) the same "
                                  "way", floor))
            page.ratio = f"{statistics.median(shown) / statistics.median(floor):.2f} × /runbooks"
            print(f"  {label}: list {figures[-9].median}, page {page.median}", flush=True)
    command = ("python bench/job_list_scale.py --quick" if args.quick else
               f"python bench/job_list_scale.py --sizes {' '.join(map(str, args.sizes))} "
               f"--repeat {args.repeat}")
    publish("job_list_scale", command, figures, quick=args.quick)


if __name__ == "__main__":
    main()
