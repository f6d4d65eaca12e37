"""The job list with many jobs: each tab, each filter and the full-text search, the page.

Run from the repo root:
  python bench/job_list_scale.py [--sizes 1000000] [--repeat N] [--quick] [--print-only]

For each size, fills a fresh SQLite file (the real schema, made by the engine) with that
many jobs of 50 runbooks — mostly completed, some failed with an error kind and message, a
few under way; started by 30 people through every trigger; params with a month, a customer
and a unique order number — in big transactions, the full-text index filled at the end as
migration 0010 fills it. Then measures through the engine's public API:
- the query: the newest 25 jobs a filter admits (`jobs.list_jobs`), target <= 50 ms;
- the page's data: everything the Jobs page reads and shapes for its first response
  (`pages.ui.jobs_page.load_view`: the 25 rows and the five tab counts under the filter),
  target <= 300 ms;
and, in Chromium against a real console on that data (`python main.py`, no workers), /jobs
with a tab and with filters from navigation until the first row shows (<= 300 ms). Puts its
figures into docs/benchmarks.md's table (--quick, --print-only: prints only).
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
from sqlalchemy import create_engine

from engine.runner.browser import find_browser, launch
from engine.service import jobs
from engine.service.job_search import parse_filter
from engine.service.runbooks import add_runbook
from engine.store import job_fts
from engine.store.schema import init_db
from models import JobStatus
from pages.ui.jobs_page import load_view

S = JobStatus
MIX = [(S.completed, 0.70), (S.failed, 0.20), (S.cancelled, 0.05), (S.queued, 0.02),
       (S.running, 0.015), (S.waiting_for_approval, 0.01), (S.paused, 0.005)]
TRIGGERS = [("schedule", 0.60), ("manual", 0.20), ("api", 0.12), ("rerun", 0.04),
            ("retry", 0.02), ("cli", 0.02)]
ERRORS = [("element_not_found", "Timeout 30000ms exceeded waiting for locator('#export')"),
          ("navigation_timeout", "page.goto: Timeout 30000ms exceeded navigating to "
           "https://erp.example.com/reports"),
          ("assertion_failed", "Expected the total to be 1 204.50 EUR, the page shows 0.00"),
          ("http_error", "The page answered 503 Service Unavailable"),
          ("worker_lost", "The worker stopped renewing its lease (host down?)")]
WORDS = ["invoices", "payroll", "dashboard", "orders", "customers", "inventory", "reports",
         "tickets", "refunds", "backups"]
RUNBOOKS = [(f"runbook-{n:02d}", f"{WORDS[n % 10].title()} check {n}") for n in range(50)]
PEOPLE = [f"person-{n:02d}" for n in range(30)]
START = datetime(2025, 1, 1, tzinfo=timezone.utc)
SPACING_S = 30
BATCH = 50_000


def seed(db_path: Path, count: int) -> float:
    """Insert `count` jobs; returns seconds taken (the full-text index's fill included)."""
    init_db(db_path)
    for name, title in RUNBOOKS:
        add_runbook(f"version: 1\nname: {name}\ntitle: {title}\nsteps:\n"
                    "  - {name: open, action: goto, url: 'http://127.0.0.1:9/'}\n")
    rng = random.Random(7)
    began = time.perf_counter()
    engine = create_engine(f"sqlite:///{db_path}")
    with engine.begin() as connection:  # bulk: rows first, the index in one pass after
        job_fts.drop(connection)
    with sqlite3.connect(db_path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")
        for first in range(0, count, BATCH):
            db.executemany(
                "insert into job (runbook_id, runbook_name, runbook_title, runbook_version, "
                "source, status, trigger, started_by, params, created_at, queued_at, "
                "started_at, step_count, steps_done, steps_succeeded, steps_failed, "
                "steps_skipped, retry_count, duration_ms, error_kind, error_message) "
                "values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (_row(rng, i) for i in range(first, min(first + BATCH, count))))
            db.commit()
    with engine.begin() as connection:
        job_fts.install(connection)
    engine.dispose()
    return time.perf_counter() - began


def _row(rng: random.Random, i: int) -> tuple:
    status = rng.choices([s for s, _ in MIX], [w for _, w in MIX])[0]
    trigger = rng.choices([t for t, _ in TRIGGERS], [w for _, w in TRIGGERS])[0]
    number = rng.randrange(len(RUNBOOKS))
    name, title = RUNBOOKS[number]
    at = START + timedelta(seconds=SPACING_S * i)
    kind, message = (rng.choice(ERRORS) if status == S.failed else (None, None))
    params = {"month": f"{at:%Y-%m}", "customer": f"cust-{rng.randrange(5000)}",
              "order": f"ORD{i}"}
    stamp = at.isoformat(" ")
    return (number + 1, name, title, 1, "version: 1", status.value, trigger,
            None if trigger == "schedule" else rng.choice(PEOPLE), json.dumps(params), stamp,
            stamp, stamp, 1, 1, 0, 0, 0, 0, 1200, kind,
            message and f"{message}\n  at step open (goto)")


def cases(count: int) -> dict[str, dict]:
    """Filter name -> the URL's values, chosen inside the seeded range."""
    middle = START + timedelta(seconds=SPACING_S * count // 2)
    return {
        "runbook": {"runbook": "runbook-07"},
        "trigger retry (2 %)": {"trigger": "retry"},
        "started_by": {"started_by": "person-03"},
        "one day (since + until)": {"since": f"{middle:%Y-%m-%d}",
                                    "until": f"{middle:%Y-%m-%d}"},
        "since (the newest half)": {"since": middle.isoformat()},
        "error_kind": {"error_kind": "navigation_timeout"},
        "q: a title word (10 %)": {"q": "payroll"},
        "q: a customer param (0.02 %)": {"q": "cust-1234"},
        "q: a unique order number": {"q": f"ORD{count // 3}"},
        "q: an error word, prefix": {"q": "unavail"},
        "q: two words (a runbook's, an error's)": {"q": "invoices timeout"},
        "combined: runbook + trigger + error_kind": {"runbook": "runbook-07",
                                                     "trigger": "schedule",
                                                     "error_kind": "element_not_found"},
        "combined: q + started_by + since": {"q": "refunds", "started_by": "person-11",
                                             "since": middle.isoformat()},
    }


def page_render(data: Path, repeat: int, urls: list[str]) -> dict[str, list[float]]:
    """Each URL until its first row shows, in Chromium against a real console."""
    process, url = start_console(data, JOBDECK_WORKERS="0")
    times: dict[str, list[float]] = {path: [] for path in urls}
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright, find_browser(None))
            page = signed_in_page(browser, url)
            page.goto(f"{url}/jobs")  # warm-up
            page.wait_for_selector("tbody tr a")
            for _ in range(repeat):
                for path in urls:  # /runbooks: a page that reads almost nothing, for scale
                    began = time.perf_counter()
                    page.goto(f"{url}{path}")
                    page.wait_for_selector("[data-runbook]" if path == "/runbooks"
                                           else "tbody tr a")
                    times[path].append((time.perf_counter() - began) * 1000)
            browser.close()
    finally:
        stop_console(process)
    return times


def figure(name: str, times: list[float], target_ms: float | None = None) -> Figure:
    median = statistics.median(times)
    return Figure(name, f"{median:.1f} ms", spread(times),
                  f"≤ {target_ms:.0f} ms" if target_ms else "",
                  met=None if target_ms is None else median <= target_ms)


def measure(size: int, repeat: int, data: Path) -> list[Figure]:
    label, figures = f"{size:,}".replace(",", " "), []
    for tab in ("all", "running", "approval", "failed"):
        times = timed_ms(lambda t=tab: load_view(t, 1, parse_filter()), repeat)
        figures.append(figure(f"{label} jobs: tab {tab}, no filter (rows + tab counts)",
                              times, 50))
    for name, values in cases(size).items():
        wanted = parse_filter(**values)
        hits = jobs.count_jobs_by_status(filters=wanted)
        query = timed_ms(lambda w=wanted: jobs.list_jobs(limit=25, count_total=False,
                                                         filters=w), repeat)
        view = timed_ms(lambda w=wanted: load_view("all", 1, w), repeat)
        found = f"{sum(hits.values()):,} jobs".replace(",", " ")
        figures.append(figure(f"{label} jobs: {name} ({found}): newest 25", query, 50))
        figures.append(figure(f"{label} jobs: {name}: the page's data (rows + tab counts)",
                              view, 300))
        print(f"  {name}: {found}, query {figures[-2].median}, page data {figures[-1].median}",
              flush=True)
    urls = ["/runbooks", "/jobs?tab=failed", "/jobs?runbook=runbook-07&trigger=schedule&q=check",
            f"/jobs?error_kind=http_error&since={cases(size)['since (the newest half)']['since']}"]
    shown = page_render(data, repeat, urls)
    floor = statistics.median(shown.pop("/runbooks"))
    for path, times in shown.items():
        figures.append(figure(f"{label} jobs: {path} in Chromium until the first row shows",
                              times, 300))
        figures[-1].ratio = f"{statistics.median(times) / floor:.2f} × /runbooks (50 runbooks)"
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true",
                        help="100 000 jobs, 3 repeats; print only")
    parser.add_argument("--print-only", action="store_true",
                        help="leave docs/benchmarks.md as it is")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.repeat = [100_000], 3
    figures = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="jobdeck-bench-") as tmp:
            data = Path(tmp) / "data"
            data.mkdir()
            seconds = seed(data / "jobdeck.db", size)
            print(f"{size} jobs written in {seconds:.1f} s", flush=True)
            figures += measure(size, args.repeat, data)
    command = ("python bench/job_list_scale.py --quick" if args.quick else
               f"python bench/job_list_scale.py --sizes {' '.join(map(str, args.sizes))} "
               f"--repeat {args.repeat}")
    publish("job_list_scale", command, figures, quick=args.quick or args.print_only)


if __name__ == "__main__":
    main()
