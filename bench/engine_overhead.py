"""How much the Jobdeck engine adds on top of plain Playwright, and how fast its queue reacts.

Run from the repo root:  python bench/engine_overhead.py [--rounds N] [--samples N]

1. Serves a small form page (inline HTML, a few inputs, buttons whose JS changes text) on
   127.0.0.1 from a ThreadingHTTPServer thread.
2. Runs the same 20 steps (goto, fill, click, assert selector+text) each round, in
   alternating order, (a) as an engine job via engine.worker.execute_job in the main thread
   (screenshots off, retries 0; plus a screenshots: each_step variant) and (b) as a plain
   Playwright sync script (page.goto, locator.fill/click, expect().to_contain_text). Both
   reuse one browser launched once with engine.browser.launch and a fresh context per run.
   Engine time is the job's own duration (started_at → finished_at: claim, context, steps,
   context close, final write); raw time is context creation → context close. A sync
   Playwright instance cannot share a thread with another, so the raw script runs in its own
   thread (the main thread only waits meanwhile).
3. Measures enqueue → first step started on the embedded Huey queue (1 worker thread, warm):
   from just before engine.jobs.start_job to the job's first STEP_STARTED bus event, after
   idle gaps of 0.2–3 s; and the CPU the idle process (and its browser) uses over ~5 s.
4. Prints the figures and writes them to docs/benchmarks.md, section "## Engine overhead".
"""

import argparse
import json
import math
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

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from engine import events  # noqa: E402
from engine.browser import find_browser, launch  # noqa: E402
from engine.jobs import create_job, get_job, save_runbook, start_job  # noqa: E402
from engine.runbook import load_runbook  # noqa: E402
from engine.runtime import Runtime  # noqa: E402
from engine.settings import Settings  # noqa: E402
from engine.worker import close_thread_browser, execute_job  # noqa: E402
from models import JobStatus  # noqa: E402

SECTION = "## Engine overhead (bench/engine_overhead.py)"
TIMEOUT_MS = 10000
VIEWPORT = {"width": 1280, "height": 720}  # the engine's default context
PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><title>Bench form</title></head>
<body><h1 id="title">Bench form</h1>
<form id="f">
  <label>Name <input id="name"></label> <label>Email <input id="email"></label>
  <label>City <input id="city"></label> <textarea id="comment"></textarea>
  <button type="button" id="greet">Greet</button> <button type="button" id="inc">Add</button>
  <button type="button" id="toggle">Toggle</button> <button type="submit" id="send">Send</button>
</form>
<p id="greeting">nobody yet</p><p>Count: <span id="count">0</span></p>
<p id="status">off</p><p id="result"></p>
<script>
const $ = id => document.getElementById(id);
$('greet').onclick = () => { $('greeting').textContent = 'Hello, ' + $('name').value; };
$('inc').onclick = () => { $('count').textContent = +$('count').textContent + 1; };
$('toggle').onclick = () => {
  $('status').textContent = $('status').textContent === 'off' ? 'on' : 'off'; };
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
    def do_GET(self):
        found = self.path.split("?")[0] == "/"
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE) if found else 0))
        self.end_headers()
        self.wfile.write(PAGE if found else b"")

    def log_message(self, *args):
        pass


def serve_page() -> str:
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


def run_raw(browser, url: str) -> float:
    """The same steps in plain Playwright; ms from new context to context closed."""
    started = time.perf_counter()
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = context.new_page()
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
    return (time.perf_counter() - started) * 1000


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


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def tree_cpu_seconds() -> float:
    """CPU seconds used so far by this process and its live descendants (Linux /proc)."""
    tick, procs = os.sysconf("SC_CLK_TCK"), {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        procs[int(pid)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    tree, grown = {os.getpid()}, True
    while grown:
        more = {p for p, (ppid, _) in procs.items() if ppid in tree} - tree
        tree, grown = tree | more, bool(more)
    return sum(procs[p][1] for p in tree if p in procs)


def measure_overhead(rounds: int, url: str, settings: Settings, runtime: Runtime) -> dict:
    raw_pool = ThreadPoolExecutor(1, thread_name_prefix="raw-playwright")
    pw_browser = raw_pool.submit(lambda: (lambda pw: (pw, launch(pw, find_browser())))(
        sync_playwright().start())).result()
    raw = lambda: raw_pool.submit(run_raw, pw_browser[1], url).result()  # noqa: E731
    run_engine("bench-off", settings, runtime), raw()  # warm-up: browsers, caches, JIT
    r = {"engine": [], "outside": [], "raw": [], "shots": [], "version": pw_browser[1].version}
    for i in range(rounds):
        order = ("engine", "raw") if i % 2 == 0 else ("raw", "engine")
        for which in order:
            if which == "raw":
                r["raw"].append(raw())
            else:
                total, outside = run_engine("bench-off", settings, runtime)
                r["engine"].append(total)
                r["outside"].append(outside)
        r["shots"].append(run_engine("bench-shots", settings, runtime)[0])
        print(f"  round {i + 1}: engine {r['engine'][-1]:.0f} ms, raw {r['raw'][-1]:.0f} ms, "
              f"engine+screenshots {r['shots'][-1]:.0f} ms", flush=True)
    raw_pool.submit(lambda: (pw_browser[1].close(), pw_browser[0].stop())).result()
    raw_pool.shutdown()
    close_thread_browser()  # the main thread's engine browser; the queue worker has its own
    return r


def measure_queue(samples: int, runtime: Runtime) -> dict:
    runtime.start_workers(1)
    marks: dict[tuple[int, str], float] = {}
    finished = threading.Event()

    def on_event(ev: events.Event) -> None:
        now = time.perf_counter()
        if ev.kind == events.STEP_STARTED or (ev.kind == events.JOB_STATUS
                                              and ev.data.get("status") == "running"):
            marks.setdefault((ev.job_id, ev.kind), now)
        elif ev.kind == events.JOB_STATUS and ev.data.get("status") in (
                "completed", "failed", "cancelled"):
            finished.set()

    unsubscribe = events.get_bus().subscribe(on_event)
    start_job("bench-latency", {}) and finished.wait(60)  # warm the worker and its browser
    gaps = random.Random(7).sample([0.2 + 2.8 * i / (samples - 1) for i in range(samples)],
                                   samples)
    first_step, claimed = [], []
    for gap in gaps:
        time.sleep(gap)
        finished.clear()
        started = time.perf_counter()
        job = start_job("bench-latency", {})
        if not finished.wait(60) or (job.id, events.STEP_STARTED) not in marks:
            raise SystemExit(f"latency job {job.id} did not run")
        first_step.append((marks[(job.id, events.STEP_STARTED)] - started) * 1000)
        claimed.append((marks[(job.id, events.JOB_STATUS)] - started) * 1000)
    time.sleep(1.0)  # let the job's teardown settle
    wall, cpu, tree = time.perf_counter(), time.process_time(), tree_cpu_seconds()
    time.sleep(5.0)
    wall = time.perf_counter() - wall
    idle = {"self": (time.process_time() - cpu) / wall * 100,
            "tree": (tree_cpu_seconds() - tree) / wall * 100}
    unsubscribe()
    runtime.stop()
    return {"first_step": first_step, "claimed": claimed, "idle": idle}


def write_markdown(text: str) -> Path:
    path = ROOT / "docs" / "benchmarks.md"
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = old.find(SECTION)
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = old.find("\n## ", start + len(SECTION))
        new = old[:start] + text + ("" if end < 0 else "\n" + old[end + 1:])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new, encoding="utf-8")
    return path


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
                               ("bench-latency", "off", STEPS[:2])):
        save_runbook(load_runbook(runbook_yaml(name, url, shots, steps), f"{name}.yaml"))

    print(f"engine vs raw Playwright, {args.rounds} rounds of {len(STEPS)} steps:", flush=True)
    o = measure_overhead(args.rounds, url, settings, runtime)
    print(f"queue latency, {args.samples} samples:", flush=True)
    q = measure_queue(args.samples, runtime)
    tmp.cleanup()

    eng, raw, shots = (statistics.median(o[k]) for k in ("engine", "raw", "shots"))
    ratio, per_shot = eng / raw, (shots - eng) / len(STEPS)
    fs, cl = q["first_step"], q["claimed"]
    p50 = pct(fs, 0.5)
    rows = [
        ("Engine job, 20 steps, screenshots off (median)", f"{eng:.0f} ms", ""),
        ("Raw Playwright, same steps (median)", f"{raw:.0f} ms", ""),
        ("Ratio engine / raw", f"{ratio:.2f}", "≤ 1.05"),
        ("Engine time outside the steps (setup, teardown; median)",
         f"{statistics.median(o['outside']):.0f} ms", ""),
        ("Screenshots each_step: extra per step (median)", f"{per_shot:.1f} ms", ""),
        ("Enqueue → first step started, p50 / p90 / max",
         f"{p50:.1f} / {pct(fs, 0.9):.1f} / {max(fs):.1f} ms", "p50 ≤ 20 ms"),
        ("Enqueue → job claimed (running), p50 / max",
         f"{pct(cl, 0.5):.1f} / {max(cl):.1f} ms", ""),
        ("Idle CPU over 5 s: Python process / with browser and driver",
         f"{q['idle']['self']:.2f} % / {q['idle']['tree']:.2f} % of one core", ""),
    ]
    verdict = (f"The engine takes {ratio:.2f}× the time of plain Playwright with screenshots "
               f"off ({'meets' if ratio <= 1.05 else 'misses'} the ≤ 1.05 target) and a queued "
               f"job starts its first step {p50:.0f} ms after enqueue at p50 "
               f"({'meets' if p50 <= 20 else 'misses'} the ≤ 20 ms target).")
    machine = (f"{len(os.sched_getaffinity(0))} CPUs (nproc), Chromium {o['version']}, "
               f"Python {sys.version.split()[0]}")
    text = "\n".join([
        SECTION, "",
        f"Run {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on {machine}; "
        f"`python bench/engine_overhead.py --rounds {args.rounds}` "
        f"({args.rounds} rounds, {args.samples} queue samples).", "",
        "| Measure | Result | Target |", "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows], "", verdict, ""])
    print("\n" + text)
    print(f"written to {write_markdown(text)}")


if __name__ == "__main__":
    main()
