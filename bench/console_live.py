"""How live the console is: event → DOM latency, live view frame rate and its cost,
server memory with many viewers, and how fast the job page loads beside the jobs list.

Run from the repo root:
  python bench/console_live.py [--jobs N] [--pairs N] [--viewers N] [--loads N] [--quick]

1. event → DOM: a real console (`python main.py`, a subprocess with its own data) runs a
   job of 12 steps of ~0.25 s each; its job page is open in Chromium, where a
   MutationObserver notes when each step's row turns "success". The worker records each
   step_finished event (JobEvent.created_at, just before the commit and the publish); the
   latency is the browser's time minus that (same machine, same clock).
2. live view: a job whose step waits 4 s on a page that animates; the job page counts how
   often its live image changes during that step (frames per second). The job's duration
   with a viewer and without, alternating, gives the slowdown.
3. a watched job: 20 steps of ~100 ms (a goto to a page that keeps animating, then 19
   waits of 100 ms) after a step that waits for approval; one job page open on it in
   Chromium (connected before the job is approved), or none, alternating. The time from its
   first step started to its last step finished (recorded by the worker) gives the
   slowdown; the viewer's live image changes in that time give the frames per second it saw.
4. memory: the console's RSS/PSS before and with N job pages open on a running job.
5. page load: the job page beside the jobs list, idle and busy (bench/page_load.py).
Puts its figures into docs/benchmarks.md's table (--quick: prints only).
"""

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from console_process import (
    add_runbook,
    cancel_job,
    headers,
    memory_mb,
    signed_in_context,
    signed_in_page,
    start_console,
    start_job,
    stop_console,
    wait_finished,
    wait_status,
)
from page_load import load_figures, page_load
from playwright.sync_api import sync_playwright
from report import Figure, publish, spread

from engine.runner.browser import find_browser, launch

STEP_NAMES = [f"s{i:02d}" for i in range(1, 13)]
EVENTS_RUNBOOK = "\n".join([
    "version: 1", "name: bench-events", "title: Events to the page",
    "settings: {base_url: URL/demo, timeout_ms: 10000, retries: 0, screenshots: off}",
    "steps:", '  - {name: warm-up, action: goto, url: "/slow?seconds=2"}',
    *[f'  - {{name: {n}, action: goto, url: "/slow?seconds=0.25"}}' for n in STEP_NAMES], ""])
LIVE_RUNBOOK = """version: 1
name: bench-live
title: Busy page
settings: {base_url: URL/demo, timeout_ms: 20000, retries: 0, screenshots: off}
steps:
  - {name: warm-up, action: goto, url: "/slow?seconds=1.5"}
  - {name: open, action: goto, url: "/animated?ms=4000"}
  - {name: busy, action: wait, selector: "#done"}
"""
STEPPED_NAMES = ["open", *[f"w{i:02d}" for i in range(2, 21)]]
STEPPED_RUNBOOK = "\n".join([
    "version: 1", "name: bench-stepped", "title: Twenty short steps",
    "settings: {base_url: URL/demo, timeout_ms: 20000, retries: 0, screenshots: off}",
    "steps:", '  - {name: ready, action: goto, url: /table, approval: {message: "Watching?"}}',
    '  - {name: open, action: goto, url: "/animated?ms=60000"}',
    *[f"  - {{name: {n}, action: wait, ms: 100}}" for n in STEPPED_NAMES[1:]], ""])
WATCH_STEPS = """() => {
  window.seen = {};
  const look = () => document.querySelectorAll('[data-step]').forEach(row => {
    const name = row.getAttribute('data-step');
    if (!(name in window.seen) && row.querySelector('[data-status="success"]'))
      window.seen[name] = performance.timeOrigin + performance.now();
  });
  new MutationObserver(look).observe(document.body, {subtree: true, childList: true,
                                                     attributes: true});
  look();
}"""
WATCH_FRAMES = """() => {
  window.frames_at = [];
  const img = document.querySelector('[data-live] img');
  new MutationObserver(() => window.frames_at.push(performance.timeOrigin + performance.now()))
    .observe(img, {attributes: true, attributeFilter: ['src']});
}"""


def recorded_ms(data: Path, job_id: int, kind: str) -> dict[str, float]:
    """Step name → when the worker recorded the event (ms since the epoch)."""
    with sqlite3.connect(data / "jobdeck.db") as db:
        rows = db.execute("select json_extract(data, '$.name'), created_at from jobevent "
                          "where job_id = ? and kind = ?", (job_id, kind)).fetchall()
    return {name: datetime.fromisoformat(at).timestamp() * 1000 for name, at in rows}


def open_job_page(browser, url: str, job_id: int, script: str):
    page = signed_in_page(browser, url, viewport={"width": 1280, "height": 900})
    page.goto(f"{url}/jobs/{job_id}")
    page.wait_for_selector("[data-step]")
    page.evaluate(script)
    return page


def event_to_dom(browser, url: str, data: Path, jobs: int) -> list[float]:
    latencies = []
    for _ in range(jobs):
        job_id = start_job(url, "bench-events")
        page = open_job_page(browser, url, job_id, WATCH_STEPS)
        wait_finished(url, job_id)
        page.wait_for_timeout(300)
        seen = page.evaluate("window.seen")
        page.close()
        recorded = recorded_ms(data, job_id, "step_finished")
        latencies += [seen[n] - recorded[n] for n in STEP_NAMES if n in seen and n in recorded]
    return latencies


def live_view(browser, url: str, data: Path, pairs: int) -> dict:
    fps, with_viewer, without = [], [], []
    for index in range(pairs * 2):
        watched = index % 2 == 0
        job_id = start_job(url, "bench-live")
        page = open_job_page(browser, url, job_id, WATCH_FRAMES) if watched else None
        job = wait_finished(url, job_id)
        (with_viewer if watched else without).append(job["metrics"]["duration_ms"])
        if page is None:
            continue
        frames = page.evaluate("window.frames_at")
        page.close()
        start = recorded_ms(data, job_id, "step_started")["busy"]
        end = recorded_ms(data, job_id, "step_finished")["busy"]
        inside = [t for t in frames if start <= t <= end + 50]
        fps.append(len(inside) / ((end - start) / 1000))
    return {"fps": fps, "with": with_viewer, "without": without}


def watched_steps(browser, url: str, data: Path, pairs: int) -> dict:
    """20 short steps with one viewer and without, alternating (see the module's 3.)."""
    fps, with_viewer, without = [], [], []
    for index in range(pairs * 2):
        watched = index % 2 == 0
        job_id = start_job(url, "bench-stepped")
        wait_status(url, job_id, "waiting_for_approval")
        page = None
        if watched:
            page = open_job_page(browser, url, job_id, WATCH_FRAMES)
            page.wait_for_function("window.did_handshake === true")  # NiceGUI's socket
        httpx.post(f"{url}/api/jobs/{job_id}/approve", headers=headers(url)).raise_for_status()
        wait_finished(url, job_id)
        start = recorded_ms(data, job_id, "step_started")[STEPPED_NAMES[0]]
        end = recorded_ms(data, job_id, "step_finished")[STEPPED_NAMES[-1]]
        (with_viewer if watched else without).append(end - start)
        if page is None:
            continue
        frames = page.evaluate("window.frames_at")
        page.context.close()
        fps.append(len([t for t in frames if start <= t <= end + 50]) / ((end - start) / 1000))
    return {"fps": fps, "with": with_viewer, "without": without}


def memory(browser, url: str, pid: int, viewers: int) -> tuple:
    job_id = start_job(url, "bench-live")
    time.sleep(2)
    before = memory_mb(pid)
    contexts = [signed_in_context(browser, url) for _ in range(viewers)]
    for context in contexts:
        context.new_page().goto(f"{url}/jobs/{job_id}")
    time.sleep(2)
    during = memory_mb(pid)
    for context in contexts:
        context.close()
    cancel_job(url, job_id)  # measured: no need to wait for its end
    wait_finished(url, job_id)
    return before, during


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3, help="jobs for event → DOM (12 steps each)")
    parser.add_argument("--pairs", type=int, default=3, help="with/without-viewer job pairs")
    parser.add_argument("--viewers", type=int, default=20, help="open pages for the memory figure")
    parser.add_argument("--loads", type=int, default=7, help="loads of each page, idle and busy")
    parser.add_argument("--quick", action="store_true",
                        help="1 job, 1 pair, 3 viewers, 3 loads; print only")
    args = parser.parse_args()
    if args.quick:
        args.jobs, args.pairs, args.viewers, args.loads = 1, 1, 3, 3
    with sync_playwright() as playwright, tempfile.TemporaryDirectory(
            prefix="jobdeck-bench-") as tmp:
        browser = launch(playwright, find_browser(None))
        data = Path(tmp) / "data"
        process, url = start_console(data)
        try:
            add_runbook(url, EVENTS_RUNBOOK.replace("URL", url))
            add_runbook(url, LIVE_RUNBOOK.replace("URL", url))
            add_runbook(url, STEPPED_RUNBOOK.replace("URL", url))
            print("event → DOM …", flush=True)
            latencies = event_to_dom(browser, url, data, args.jobs)
            print("live view …", flush=True)
            live = live_view(browser, url, data, args.pairs)
            print("watched steps …", flush=True)
            stepped = watched_steps(browser, url, data, args.pairs)
            print("memory …", flush=True)
            before, during = memory(browser, url, process.pid, args.viewers)
        finally:
            stop_console(process)
        print("page load …", flush=True)
        loads = page_load(browser, args.loads)
        browser.close()

    p50 = statistics.median(latencies)
    fps = statistics.median(live["fps"])
    with_viewer, without = statistics.median(live["with"]), statistics.median(live["without"])
    slowdown = with_viewer / without - 1
    figures = [
        Figure(f"Event → DOM: step finished (recorded by the worker) → its row shows success "
               f"on an open job page in Chromium; {len(latencies)} steps", f"{p50:.1f} ms",
               spread(latencies), "≤ 50 ms p50", met=p50 <= 50),
        Figure(f"Live view frames per second on the job page while a step is busy; "
               f"{len(live['fps'])} jobs", f"{fps:.1f} fps", spread(live["fps"], unit=" fps"),
               "≥ 5 fps", met=fps >= 5),
        Figure(f"Live view slowdown: job duration with a viewer vs without, alternating; "
               f"{len(live['with'])} each", f"{with_viewer:.0f} ms vs {without:.0f} ms",
               f"{spread(live['with'], '{:.0f}')} vs {spread(live['without'], '{:.0f}')}",
               "≤ 10 % slowdown", f"{with_viewer / without:.2f} with / without "
               f"({slowdown * 100:+.1f} %)", met=slowdown <= 0.10),
        *stepped_figures(stepped),
        Figure(f"Console memory, RSS (PSS): idle with a running job vs with {args.viewers} job "
               "pages open on it", f"{before[0]:.0f} ({before[1]:.0f}) MB vs {during[0]:.0f} "
               f"({during[1]:.0f}) MB", "", "",
               f"+{(during[0] - before[0]) / args.viewers:.1f} MB RSS a viewer"),
        *load_figures(loads),
    ]
    command = ("python bench/console_live.py --quick" if args.quick else
               f"python bench/console_live.py --jobs {args.jobs} --pairs {args.pairs} "
               f"--viewers {args.viewers} --loads {args.loads}")
    publish("console_live", command, figures, quick=args.quick)


def stepped_figures(stepped: dict) -> list[Figure]:
    with_viewer, without = statistics.median(stepped["with"]), statistics.median(stepped["without"])
    fps = statistics.median(stepped["fps"])
    return [
        Figure(f"Watched job: 20 steps of ~100 ms, first step started → last finished, with "
               f"one job page open vs none, alternating; {len(stepped['with'])} each",
               f"{with_viewer:.0f} ms vs {without:.0f} ms",
               f"{spread(stepped['with'], '{:.0f}')} vs {spread(stepped['without'], '{:.0f}')}",
               "≤ 1.10 × unwatched", f"{with_viewer / without:.2f} with / without",
               met=with_viewer / without <= 1.10),
        Figure(f"Watched job: live view frames per second its viewer saw during those 20 steps; "
               f"{len(stepped['fps'])} jobs", f"{fps:.1f} fps",
               spread(stepped["fps"], unit=" fps"), "≥ 5 fps", met=fps >= 5),
    ]


if __name__ == "__main__":
    main()
