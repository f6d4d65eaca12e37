"""How much the Jobdeck engine adds on top of plain Playwright, and how fast its queue reacts.

Run from the repo root:  python bench/engine_overhead.py [--rounds N] [--samples N]

1. Serves an inline form page (inputs, buttons whose JS changes text) on 127.0.0.1.
2. Runs the same 20 steps (goto, fill, click, assert selector+text) each round, alternating
   which goes first: (a) as an engine job, engine.worker.execute_job in the main thread
   (screenshots off, retries 0; then a screenshots: each_step variant), (b) as plain
   Playwright (page.goto, locator.fill/click, expect().to_contain_text). Each side reuses one
   browser from engine.browser.launch, with a fresh context per run. Engine time is the job's
   own started_at → finished_at (claim, steps, close, final write; each worker opens the
   next job's context while idle, so it is not in there); raw time is counted from a ready
   page to context closed, and also from new context. Two sync Playwrights cannot share a thread, so the raw script
   runs in a thread of its own while the main thread waits.
3. Enqueue → first step started on the embedded Huey queue (1 warm worker thread): from just
   before engine.jobs.start_job to the job's first STEP_STARTED bus event, after idle gaps of
   0.2–3 s. Then the CPU this process uses over 5 s idle (the worker polls, never spins).
4. Prints the figures and writes them to docs/benchmarks.md ("## Engine overhead" section).
"""

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from playwright.sync_api import expect, sync_playwright

from engine import events
from engine.browser import find_browser, launch
from engine.jobs import create_job, get_job, start_job
from engine.runbooks import save_runbook
from engine.runbook import load_runbook
from engine.runtime import Runtime
from engine.settings import Settings
from engine.worker import close_thread_browser, execute_job
from models import JobStatus
from report import write_section

SECTION = "## Engine overhead (bench/engine_overhead.py)"
TIMEOUT_MS = 10000
VIEWPORT = {"width": 1280, "height": 720}  # the engine's default context
PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><title>Bench form</title></head>
<body><h1 id="title">Bench form</h1><form id="f">
<input id="name"> <input id="email"> <input id="city"> <textarea id="comment"></textarea>
<button type="button" id="greet">Greet</button> <button type="button" id="inc">Add</button>
<button type="button" id="toggle">Toggle</button> <button type="submit" id="send">Send</button>
</form><p id="greeting">nobody yet</p><p>Count: <span id="count">0</span></p>
<p id="status">off</p><p id="result"></p><script>
const $ = id => document.getElementById(id);
$('greet').onclick = () => { $('greeting').textContent = 'Hello, ' + $('name').value; };
$('inc').onclick = () => { $('count').textContent = +$('count').textContent + 1; };
$('toggle').onclick = () => { $('status').textContent = {on: 'off', off: 'on'}[$('status').textContent]; };
$('f').onsubmit = e => { e.preventDefault(); $('result').textContent =
  'Sent: ' + $('name').value + ' <' + $('email').value + '> from ' + $('city').value; };
</script></body></html>"""

STEPS = [  # (action, selector, value): 20 steps, shared by the runbook and the raw script
    ("goto", None, None), ("assert", "#title", "Bench form"),
    ("fill", "#name", "Ada Lovelace"), ("fill", "#email", "ada@example.com"),
    ("fill", "#city", "London"), ("fill", "#comment", "Timed by the overhead benchmark"),
    ("click", "#greet", None), ("assert", "#greeting", "Hello, Ada Lovelace"),
    ("click", "#inc", None), ("click", "#inc", None), ("click", "#inc", None),
    ("assert", "#count", "3"), ("click", "#toggle", None), ("assert", "#status", "on"),
    ("click", "#toggle", None), ("assert", "#status", "off"),
    ("fill", "#name", "Grace Hopper"), ("click", "#send", None),
    ("assert", "#result", "Grace Hopper"), ("assert", "#result", "from London"),
]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # the page at /, 404 elsewhere; HTTP/1.0, so no Content-Length needed
        self.send_response(200 if self.path == "/" else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(PAGE if self.path == "/" else b"")

    def log_message(self, *args):  # quiet
        pass


def serve_page() -> str:
    """Serve PAGE from a daemon thread; returns its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/"


def runbook_yaml(name: str, url: str, screenshots: str, steps=STEPS) -> str:
    lines = [f"version: 1\nname: {name}\ntitle: Overhead benchmark ({screenshots})",
             f"settings: {{screenshots: {screenshots}, retries: 0, timeout_ms: {TIMEOUT_MS}}}",
             "steps:"]
    for action, selector, value in steps:
        args = {"url": url} if action == "goto" else {"selector": selector}
        if action in ("fill", "assert"):
            args["value" if action == "fill" else "text"] = value
        lines.append(f"  - {{action: {action}, " + ", ".join(
            f"{k}: {json.dumps(v)}" for k, v in args.items()) + "}")
    return "\n".join(lines) + "\n"


def run_raw(browser, url: str) -> tuple[float, float]:
    """The same steps in plain Playwright: ms from new context to context closed, and ms
    from a ready page to context closed (the engine opens its context ahead of the job)."""
    started = time.perf_counter()
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = context.new_page()
    ready = time.perf_counter()
    for action, selector, value in STEPS:
        if action == "goto":
            page.goto(url, timeout=TIMEOUT_MS)
        elif action == "fill":
            page.locator(selector).fill(value, timeout=TIMEOUT_MS)
        elif action == "click":
            page.locator(selector).click(timeout=TIMEOUT_MS)
        else:
            expect(page.locator(selector)).to_contain_text(value, timeout=TIMEOUT_MS)
    context.close()
    done = time.perf_counter()
    return (done - started) * 1000, (done - ready) * 1000


def run_engine(name: str, settings: Settings, runtime: Runtime) -> tuple[float, float]:
    """One job in this thread; (job duration ms, ms of it spent outside the step rows)."""
    job = create_job(name, {})
    status = execute_job(job.id, settings=settings, bus=events.get_bus(),
                         heartbeat=runtime.heartbeat)
    detail = get_job(job.id)
    if status != JobStatus.completed:
        raise SystemExit(f"engine job {name} ended {status}: {detail.job.error_message}")
    total = (detail.job.finished_at - detail.job.started_at).total_seconds() * 1000
    steps = sum((s.finished_at - s.started_at).total_seconds() * 1000 for s in detail.steps)
    return total, total - steps


def measure_overhead(rounds: int, url: str, settings: Settings, runtime: Runtime) -> dict:
    """Engine vs raw medians' inputs: ms lists per variant, plus the browser version."""
    raw_thread = ThreadPoolExecutor(1, thread_name_prefix="raw-playwright")
    pw = raw_thread.submit(lambda: sync_playwright().start()).result()
    browser = raw_thread.submit(launch, pw, find_browser()).result()

    def raw() -> tuple[float, float]:
        return raw_thread.submit(run_raw, browser, url).result()

    r = {"engine": [], "outside": [], "raw": [], "raw_ready": [], "shots": [],
         "version": browser.version}
    run_engine("bench-off", settings, runtime)  # warm-up: browsers, caches, imports
    raw()
    for i in range(rounds):
        for which in ("engine", "raw") if i % 2 == 0 else ("raw", "engine"):
            if which == "raw":
                with_context, ready = raw()
                r["raw"].append(with_context)
                r["raw_ready"].append(ready)
                continue
            total, outside = run_engine("bench-off", settings, runtime)
            r["engine"].append(total)
            r["outside"].append(outside)
        r["shots"].append(run_engine("bench-shots", settings, runtime)[0])
        print(f"  round {i + 1}: engine {r['engine'][-1]:.0f} ms, raw {r['raw'][-1]:.0f} ms "
              f"({r['raw_ready'][-1]:.0f} ms in a ready page), "
              f"engine with screenshots {r['shots'][-1]:.0f} ms", flush=True)
    raw_thread.submit(lambda: (browser.close(), pw.stop())).result()
    raw_thread.shutdown()
    close_thread_browser()  # the main thread's engine browser; the queue worker has its own
    return r


def measure_queue(samples: int, runtime: Runtime, idle_samples: int = 3) -> dict:
    """Enqueue → first step (and → claimed) ms lists, then idle CPU %."""
    runtime.start_workers(1)  # main thread: the Huey consumer installs signal handlers
    marks: dict[tuple[int, str], float] = {}
    finished = threading.Event()

    def on_event(ev: events.Event) -> None:  # runs in the publishing (worker) thread
        now, status = time.perf_counter(), ev.data.get("status")
        if ev.kind == events.STEP_STARTED or status == "running":
            marks.setdefault((ev.job_id, ev.kind), now)
        elif status in ("completed", "failed", "cancelled"):
            finished.set()

    unsubscribe = events.get_bus().subscribe(on_event)
    start_job("bench-latency", {})  # warm the worker thread and its browser
    finished.wait(60)
    gaps = [0.2 + 2.8 * i / max(samples - 1, 1) for i in range(samples)]
    random.Random(7).shuffle(gaps)
    first_step, claimed, after_idle = [], [], {5: [], 30: []}

    def one(gap: float) -> tuple[float, float]:
        time.sleep(gap)
        finished.clear()
        started = time.perf_counter()
        job = start_job("bench-latency", {})
        if not finished.wait(60) or (job.id, events.STEP_STARTED) not in marks:
            raise SystemExit(f"latency job {job.id} did not run")
        return ((marks[(job.id, events.STEP_STARTED)] - started) * 1000,
                (marks[(job.id, events.JOB_STATUS)] - started) * 1000)

    for gap in gaps:
        step_ms, claim_ms = one(gap)
        first_step.append(step_ms)
        claimed.append(claim_ms)
    for idle_s, times in after_idle.items():  # Huey's own polling would sleep seconds here
        for _ in range(idle_samples):
            times.append(one(idle_s)[0])
    time.sleep(1.0)  # let the last job's teardown settle, then nothing runs for 5 s
    wall, cpu = time.perf_counter(), time.process_time()  # all threads of this process
    time.sleep(5.0)
    idle = (time.process_time() - cpu) / (time.perf_counter() - wall) * 100
    unsubscribe()
    runtime.stop()
    return {"first_step": first_step, "claimed": claimed, "idle": idle,
            "after_idle": after_idle}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="engine/raw pairs (default 7)")
    parser.add_argument("--samples", type=int, default=15, help="queue latency samples")
    args = parser.parse_args()
    url = serve_page()
    tmp = tempfile.TemporaryDirectory(prefix="jobdeck-bench-")
    settings = Settings(data_dir=Path(tmp.name), allow_private_hosts="127.0.0.1")
    runtime = Runtime(settings)
    for name, shots, steps in (("bench-off", "off", STEPS), ("bench-shots", "each_step", STEPS),
                               ("bench-latency", "off", STEPS[:2])):  # latency: goto + assert
        save_runbook(load_runbook(runbook_yaml(name, url, shots, steps), f"{name}.yaml"))

    print(f"engine vs raw Playwright, {args.rounds} rounds of {len(STEPS)} steps:", flush=True)
    o = measure_overhead(args.rounds, url, settings, runtime)
    print(f"queue latency, {args.samples} samples:", flush=True)
    q = measure_queue(args.samples, runtime)
    tmp.cleanup()

    eng, raw, ready, shots = (statistics.median(o[k])
                              for k in ("engine", "raw", "raw_ready", "shots"))
    ratio, per_shot = eng / ready, (shots - eng) / len(STEPS)
    fs, cl = q["first_step"], q["claimed"]
    p50, p90 = statistics.median(fs), statistics.quantiles(fs, n=10, method="inclusive")[8]
    rows = [
        ("Engine job, 20 steps, screenshots off: job started → finished (median; its context "
         "was opened while the worker was idle)", f"{eng:.0f} ms", ""),
        ("Raw Playwright, same steps, from a ready page to context closed (median)",
         f"{ready:.0f} ms", ""),
        ("Raw Playwright, the same including new context + page (median)", f"{raw:.0f} ms", ""),
        ("Ratio engine / raw from a ready page", f"{ratio:.2f}", "≤ 1.05"),
        ("Engine time outside its step rows: claim, setup, close, final write (median)",
         f"{statistics.median(o['outside']):.0f} ms", ""),
        ("Screenshots each_step: extra per step (median)", f"{per_shot:.1f} ms", ""),
        ("Enqueue → first step started, p50 / p90 / max",
         f"{p50:.1f} / {p90:.1f} / {max(fs):.1f} ms", "p50 ≤ 20 ms"),
        *[(f"Enqueue → first step started after {s} s idle, median / max "
           f"({len(t)} samples)", f"{statistics.median(t):.1f} / {max(t):.1f} ms",
           "p50 ≤ 20 ms") for s, t in q["after_idle"].items()],
        ("Enqueue → job claimed (running), p50 / max",
         f"{statistics.median(cl):.1f} / {max(cl):.1f} ms", ""),
        ("Idle CPU of the process over 5 s (1 queue worker, no jobs)",
         f"{q['idle']:.2f} % of one core", ""),
    ]
    verdict = (f"The engine takes {ratio:.2f}× the time of plain Playwright with screenshots "
               f"off ({'meets' if ratio <= 1.05 else 'misses'} the ≤ 1.05 target) and a queued "
               f"job starts its first step {p50:.0f} ms after enqueue at p50 "
               f"({'meets' if p50 <= 20 else 'misses'} the ≤ 20 ms target).")
    run = (f"Run {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on "
           f"{len(os.sched_getaffinity(0))} CPUs (nproc), Chromium {o['version']}, Python "
           f"{sys.version.split()[0]}: `python bench/engine_overhead.py --rounds {args.rounds}` "
           f"({args.samples} queue samples).")
    text = "\n".join([SECTION, "", run, "", "| Measure | Result | Target |", "|---|---|---|",
                      *[f"| {a} | {b} | {c} |" for a, b, c in rows], "", verdict, ""])
    print("\n" + text)
    print(f"written to {write_section(SECTION, text)}")


if __name__ == "__main__":
    main()
