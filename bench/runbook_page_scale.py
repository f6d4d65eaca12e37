"""The runbook page's run grid and charts, and the Runbooks page's health, with many jobs.

Run from the repo root:
  python bench/runbook_page_scale.py [--jobs 100000] [--others 10] [--repeat N] [--quick]

Fills a fresh SQLite database (the real schema, made by the engine) with one runbook of
`--jobs` jobs, 30 s apart up to now (mostly completed, some failed and cancelled, four
step runs each), and `--others` runbooks of 10 000 jobs each; then measures through the
engine's public API what the pages ask for: the run grid with its charts' figures
(`run_history`, 30 and 100 jobs) and every runbook's health (`runbook_health`); then
starts a real console (`python main.py`, no workers) and times /runbooks/<name> in
Chromium from navigation until the grid and the three charts show, against the page of a
runbook that never ran. Puts its figures into
docs/benchmarks.md's table (--quick: prints only).
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
from engine.service.runbook_history import run_history, runbook_health
from engine.service.runbooks import add_runbook
from engine.store.schema import init_db
from models import JobStatus

S = JobStatus
MIX = [(S.completed, 0.80), (S.failed, 0.15), (S.cancelled, 0.05)]
STEPS = ("open", "sign-in", "export", "check")
RUNBOOK = "version: 1\nname: NAME\ntitle: NAME\nsteps:\n" + "".join(
    f'  - {{name: {s}, action: click, selector: "#{s}"}}\n' for s in STEPS)
NAME = "nightly-export"
EMPTY = "never-run"
OTHER_JOBS = 10_000


def stamp(moment: datetime) -> str:
    """As SQLAlchemy stores a UTC datetime in SQLite."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def fill(db_path: Path, count: int, others: int) -> float:
    """Insert the jobs and their step runs; returns seconds taken."""
    init_db(db_path)
    names = [NAME] + [f"other-{n}" for n in range(others)]
    for name in names + [EMPTY]:  # EMPTY: no jobs, the page without grid and charts
        add_runbook(RUNBOOK.replace("NAME", name))
    rng = random.Random(7)
    now = datetime.now(timezone.utc)
    began = time.perf_counter()
    with sqlite3.connect(db_path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")
        next_id = 1
        for runbook_id, name in enumerate(names, start=1):
            total = count if name == NAME else OTHER_JOBS
            statuses = rng.choices([s for s, _ in MIX], [w for _, w in MIX], k=total)
            jobs, steps = [], []
            for i, status in enumerate(statuses):
                at = stamp(now - timedelta(seconds=30 * (total - i)))
                failing = rng.randrange(len(STEPS)) if status != S.completed else len(STEPS)
                took = [rng.randint(200, 3000) for _ in STEPS]
                ran = STEPS[:failing + 1]
                jobs.append((next_id, runbook_id, name, name, 1, "", status.value, "schedule",
                             json.dumps({}), at, at, at, len(STEPS), len(ran),
                             min(failing, len(STEPS)), int(status == S.failed), 0, i % 3,
                             sum(took[:len(ran)]),
                             "element_not_found" if status == S.failed else None))
                for ordinal, step in enumerate(ran, start=1):
                    step_status = ("success" if ordinal <= failing else
                                   "failed" if status == S.failed else "cancelled")
                    steps.append((next_id, ordinal, step, "click", step_status, at, at,
                                  took[ordinal - 1], 0, "{}", "{}", "[]", "[]", "[]"))
                next_id += 1
            db.executemany(
                "insert into job (id, runbook_id, runbook_name, runbook_title, "
                "runbook_version, source, status, trigger, params, created_at, queued_at, "
                "started_at, step_count, steps_done, steps_succeeded, steps_failed, "
                "steps_skipped, retry_count, duration_ms, error_kind) "
                "values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", jobs)
            db.executemany(
                "insert into steprun (job_id, ordinal, name, action, status, started_at, "
                "finished_at, duration_ms, retries, captures, diagnostics, dialogs, tabs, "
                "warnings) values (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", steps)
    return time.perf_counter() - began


def page_render(data: Path, repeat: int) -> tuple[list[float], list[float]]:
    """/runbooks/<name> until the grid's cells and the three charts' canvases show; and
    the floor, alternating with it: the page of a runbook that never ran (no grid, no
    charts: the page's other sections, NiceGUI and the browser)."""
    process, url = start_console(data, JOBDECK_WORKERS="0")
    times, floor = [], []
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright, find_browser(None))
            page = signed_in_page(browser, url)
            for attempt in range(repeat + 1):  # the first is a warm-up
                began = time.perf_counter()
                page.goto(f"{url}/runbooks/{NAME}")
                page.wait_for_selector("[data-step]")
                page.wait_for_function("document.querySelectorAll('canvas').length >= 3")
                if attempt:
                    times.append((time.perf_counter() - began) * 1000)
                began = time.perf_counter()
                page.goto(f"{url}/runbooks/{EMPTY}")
                page.wait_for_selector("text=No runs yet")
                if attempt:
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
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--others", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--quick", action="store_true",
                        help="20 000 jobs, 2 other runbooks, 3 repeats; print only")
    args = parser.parse_args()
    if args.quick:
        args.jobs, args.others, args.repeat = 20_000, 2, 3
    label = f"{args.jobs:,}".replace(",", " ")
    total = f"{args.jobs + args.others * OTHER_JOBS:,}".replace(",", " ")
    with tempfile.TemporaryDirectory(prefix="jobdeck-bench-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        seconds = fill(data / "jobdeck.db", args.jobs, args.others)
        print(f"{total} jobs written in {seconds:.1f} s", flush=True)
        shown, floor = page_render(data, 3 if args.quick else 7)
        figures = [
            figure(f"runbook of {label} jobs: run grid (30 jobs) + chart figures",
                   timed_ms(lambda: run_history(NAME), args.repeat), 500),
            figure(f"runbook of {label} jobs: run grid (100 jobs) + chart figures",
                   timed_ms(lambda: run_history(NAME, 100), args.repeat), 500),
            figure(f"{args.others + 1} runbooks, {total} jobs: every runbook's health",
                   timed_ms(runbook_health, args.repeat)),
            figure(f"runbook of {label} jobs: its page in Chromium until the grid and "
                   "charts show", shown, 500),
            figure("for scale: the page of a runbook that never ran (no grid, no charts)",
                   floor),
        ]
    publish("runbook_page_scale", "python bench/runbook_page_scale.py" +
            (" --quick" if args.quick else ""), figures, quick=args.quick)


if __name__ == "__main__":
    main()
