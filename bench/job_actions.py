"""How fast job actions take effect, clicked in the console as a person would.

Run from the repo root:  python bench/job_actions.py [--samples N] [--quick]

A real console (`python main.py`, a subprocess with its own data) and Chromium:
1. approve: a job waits for approval on its second step; its page shows the dialog; the
   time from the click on Approve (in the browser) to the worker recording that step's
   start (JobEvent.created_at) — same machine, same clock.
2. cancel: a job's step waits on a page that answers after 30 s; from the click on the
   confirming "Cancel job" to the worker recording the job Cancelled, which it does after
   closing the job's browser context.
Puts its figures into docs/benchmarks.md's table (--quick: prints only).
"""

import argparse
import sqlite3
import statistics
import sys
import tempfile
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from console_live import recorded_ms
from console_process import (
    add_runbook,
    signed_in_page,
    start_console,
    start_job,
    stop_console,
    wait_finished,
)
from playwright.sync_api import sync_playwright
from report import Figure, publish, spread

from engine.runner.browser import find_browser, launch

RUNBOOK = """version: 1
name: bench-actions
title: Actions
settings: {base_url: URL/demo, timeout_ms: 60000, retries: 0, screenshots: off,
           approval_timeout_s: 120}
steps:
  - {name: open, action: goto, url: /table}
  - {name: approved, action: goto, url: /form, approval: {message: Go?}}
  - {name: blocked, action: goto, url: "/slow?seconds=30"}
"""
NOTE_CLICK = """sel => { window.clicked = null; document.addEventListener('click', e => {
  if (e.target.closest(sel)) window.clicked = performance.timeOrigin + performance.now(); },
  true); }"""


def one_run(browser, url: str, data: Path) -> tuple[float, float]:
    job_id = start_job(url, "bench-actions")
    page = signed_in_page(browser, url)
    page.goto(f"{url}/jobs/{job_id}")
    page.locator("[data-approval]").wait_for(timeout=60_000)
    page.evaluate(NOTE_CLICK, '[data-decide="approve"]')
    page.locator('[data-decide="approve"]').click()
    page.locator('[data-step="blocked"] [data-status="running"]').wait_for(timeout=60_000)
    approved_at = page.evaluate("window.clicked")
    page.locator('[data-action="cancel"]').click()
    page.evaluate(NOTE_CLICK, "[data-confirm-yes]")
    page.locator("[data-confirm-yes]").click()
    wait_finished(url, job_id)
    cancelled_at = page.evaluate("window.clicked")
    page.close()
    started = recorded_ms(data, job_id, "step_started")["approved"]
    statuses = _status_times(data, job_id)
    return started - approved_at, statuses["cancelled"] - cancelled_at


def _status_times(data: Path, job_id: int) -> dict[str, float]:
    with sqlite3.connect(data / "jobdeck.db") as db:
        rows = db.execute("select json_extract(data, '$.status'), created_at from jobevent "
                          "where job_id = ? and kind = 'job_status'", (job_id,)).fetchall()
    return {s: datetime.fromisoformat(at).timestamp() * 1000 for s, at in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="1 sample, no warm-up; print only")
    args = parser.parse_args()
    if args.quick:
        args.samples = 1
    approve, cancel = [], []
    with tempfile.TemporaryDirectory(prefix="jobdeck-bench-") as tmp:
        data = Path(tmp) / "data"
        process, url = start_console(data)
        try:
            add_runbook(url, RUNBOOK.replace("URL", url))
            with sync_playwright() as playwright:
                browser = launch(playwright, find_browser(None))
                if not args.quick:
                    one_run(browser, url, data)  # warm-up
                for index in range(args.samples):
                    a, c = one_run(browser, url, data)
                    approve.append(a)
                    cancel.append(c)
                    print(f"  run {index + 1}: approve {a:.0f} ms, cancel {c:.0f} ms",
                          flush=True)
                browser.close()
        finally:
            stop_console(process)
    a, c = statistics.median(approve), statistics.median(cancel)
    figures = [
        Figure(f"Approve: click in the dialog → the approved step starts; {len(approve)} jobs",
               f"{a:.0f} ms", spread(approve, "{:.0f}"), "≤ 300 ms p50", met=a <= 300),
        Figure("Cancel: click on the confirmation → job Cancelled and its browser context "
               f"closed, while a step waits on a page that answers after 30 s; {len(cancel)} "
               "jobs", f"{c:.0f} ms", spread(cancel, "{:.0f}"), "≤ 2 s p50", met=c <= 2000),
    ]
    command = ("python bench/job_actions.py --quick" if args.quick
               else f"python bench/job_actions.py --samples {args.samples}")
    publish("job_actions", command, figures, quick=args.quick)


if __name__ == "__main__":
    main()
