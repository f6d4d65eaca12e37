"""How much the Jobdeck engine adds on top of plain Playwright, and how fast its queue reacts.

Run from the repo root:  python bench/engine_overhead.py [--rounds N] [--samples N] [--quick]

1. Serves an inline form page (inputs, buttons whose JS changes text) on 127.0.0.1.
2. Runs the same 20 steps (goto, fill, click, assert selector+text) each round, alternating
   which goes first: (a) as an engine job, engine.runner.worker.execute_job in the main thread
   (screenshots off, retries 0; then a screenshots: each_step variant), (b) as plain
   Playwright (page.goto, locator.fill/click, expect().to_contain_text). Each side reuses one
   browser from engine.runner.browser.launch, with a fresh context per run. Engine time is the job's
   own started_at → finished_at (claim, steps, close, final write; each worker opens the
   next job's context while idle, so it is not in there); raw time is counted from a ready
   page to context closed, and also from new context. Two sync Playwrights cannot share a
   thread, so the raw script runs in a thread of its own while the main thread waits.
3. Enqueue → first step started on the embedded Huey queue (1 warm worker thread): from just
   before engine.service.jobs.start_job to the job's first STEP_STARTED bus event, after idle
   gaps of 0.2–3 s. Then the CPU this process uses over 5 s idle (the worker polls, never spins).
   Also after 5 s and 30 s idle, and under load: a second worker busy with a 200-step job.
4. Prints the figures and puts them into docs/benchmarks.md's table (--quick: prints only).
"""

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from playwright.sync_api import expect, sync_playwright
from report import Figure, publish, spread

from engine.bus import events
from engine.runbook import load_runbook
from engine.runner.browser import find_browser, launch
from engine.runner.worker import close_browser, execute_job
from engine.runtime import Runtime
from engine.service.jobs import create_job, get_job, start_job
from engine.service.runbooks import save_runbook
from engine.settings import Settings
from models import JobStatus

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
$('toggle').onclick = () => {
  $('status').textContent = {on: 'off', off: 'on'}[$('status').textContent]; };
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
    close_browser()  # the main thread's engine browser; the queue worker has its own
    return r


class QueueWatch:
    """Bus listener: when each job was claimed, started its first step, and finished."""

    def __init__(self):
        self.marks: dict[tuple[int, str], float] = {}
        self.done = threading.Condition()
        self.unsubscribe = events.get_bus().subscribe(self.on_event)

    def on_event(self, ev: events.Event) -> None:  # runs in the publishing (worker) thread
        now, status = time.perf_counter(), ev.data.get("status")
        if ev.kind == events.STEP_STARTED or status == "running":
            self.marks.setdefault((ev.job_id, ev.kind), now)
        elif ev.kind == events.JOB_FINISHED:
            with self.done:
                self.marks[(ev.job_id, "finished")] = now
                self.done.notify_all()

    def finished(self, job_id: int) -> bool:
        return (job_id, "finished") in self.marks

    def wait(self, job_id: int, timeout: float = 60) -> None:
        with self.done:
            if not self.done.wait_for(lambda: self.finished(job_id), timeout):
                raise SystemExit(f"job {job_id} did not finish")

    def sample(self, gap: float) -> tuple[float, float]:
        """Sleep gap seconds, enqueue a latency job: ms to its first step, ms to claimed."""
        time.sleep(gap)
        started = time.perf_counter()
        job = start_job("bench-latency", {})
        self.wait(job.id)
        return ((self.marks[(job.id, events.STEP_STARTED)] - started) * 1000,
                (self.marks[(job.id, events.JOB_STATUS)] - started) * 1000)


def measure_queue(samples: int, runtime: Runtime, idle: dict[int, int],
                  longest_gap: float = 3.0, cpu_seconds: float = 5.0) -> dict:
    """Enqueue → first step (and → claimed) ms lists: after short gaps, after long idle,
    and under load (a second worker busy with a 200-step job); then idle CPU %."""
    runtime.start_workers(1)  # main thread: the Huey consumer installs signal handlers
    watch = QueueWatch()
    watch.sample(0)  # warm the worker thread and its browser
    gaps = [0.2 + (longest_gap - 0.2) * i / max(samples - 1, 1) for i in range(samples)]
    random.Random(7).shuffle(gaps)
    first_step, claimed = [], []
    for gap in gaps:
        step_ms, claim_ms = watch.sample(gap)
        first_step.append(step_ms)
        claimed.append(claim_ms)
    after_idle = {s: [watch.sample(s)[0] for _ in range(n)] for s, n in idle.items()}
    time.sleep(1.0)  # let the last job's teardown settle, then nothing runs for a while
    wall, cpu = time.perf_counter(), time.process_time()  # all threads of this process
    time.sleep(cpu_seconds)
    idle_cpu = (time.process_time() - cpu) / (time.perf_counter() - wall) * 100
    runtime.stop()

    runtime.start_workers(2)
    watch.sample(0)
    watch.sample(0)  # both workers have their browsers (one may have taken both warm-ups)
    under_load, busy = [], None
    for gap in gaps:
        if busy is None or watch.finished(busy):
            busy = start_job("bench-busy", {}).id
            while (busy, events.STEP_STARTED) not in watch.marks:
                time.sleep(0.01)
        under_load.append(watch.sample(gap / 3)[0])
    watch.wait(busy, 120)
    watch.unsubscribe()
    runtime.stop()
    return {"first_step": first_step, "claimed": claimed, "idle": idle_cpu,
            "after_idle": after_idle, "under_load": under_load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="engine/raw pairs (default 7)")
    parser.add_argument("--samples", type=int, default=15, help="queue latency samples")
    parser.add_argument("--quick", action="store_true",
                        help="1 round, 3 samples, shorter gaps, no long idle; print only")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.samples = 1, 3
    url = serve_page()
    tmp = tempfile.TemporaryDirectory(prefix="jobdeck-bench-")
    settings = Settings(data_dir=Path(tmp.name), allow_private_hosts="127.0.0.1")
    runtime = Runtime(settings)
    for name, shots, steps in (("bench-off", "off", STEPS), ("bench-shots", "each_step", STEPS),
                               ("bench-latency", "off", STEPS[:2]),  # goto + assert
                               ("bench-busy", "off", STEPS * 10)):
        save_runbook(load_runbook(runbook_yaml(name, url, shots, steps), f"{name}.yaml"))

    print(f"engine vs raw Playwright, {args.rounds} rounds of {len(STEPS)} steps:", flush=True)
    o = measure_overhead(args.rounds, url, settings, runtime)
    print(f"queue latency, {args.samples} samples:", flush=True)
    q = measure_queue(args.samples, runtime, **(
        dict(idle={}, longest_gap=0.5, cpu_seconds=1.0) if args.quick
        else dict(idle={5: 3, 30: 2})))  # 30 s idle twice: make bench stays within 15 min
    tmp.cleanup()

    ratios = [e / r for e, r in zip(o["engine"], o["raw_ready"])]
    eng, ready = statistics.median(o["engine"]), statistics.median(o["raw_ready"])
    ratio = eng / ready
    per_shot = [(s - e) / len(STEPS) for s, e in zip(o["shots"], o["engine"])]
    ms = lambda values: spread(values, "{:.0f}")  # noqa: E731
    figures = [
        Figure("Engine overhead: 20-step job, screenshots off (job started → finished; its "
               "context opened while the worker was idle) vs plain Playwright from a ready "
               "page to context closed, alternating", f"{eng:.0f} ms vs {ready:.0f} ms",
               f"{ms(o['engine'])} vs {ms(o['raw_ready'])}", "≤ 1.05 × raw",
               f"{ratio:.2f} engine / raw (pairs {min(ratios):.2f}–{max(ratios):.2f})",
               ratio <= 1.05),
        Figure("Plain Playwright including new context + page", f"{statistics.median(o['raw']):.0f}"
               " ms", ms(o["raw"])),
        Figure("Engine time outside its step rows: claim, setup, close, final write",
               f"{statistics.median(o['outside']):.0f} ms", ms(o["outside"])),
        Figure("Screenshot cost per step (screenshots: each_step, minus the same job without)",
               f"{statistics.median(per_shot):.1f} ms", spread(per_shot), "≤ 40 ms a step",
               met=statistics.median(per_shot) <= 40),
    ]
    longest = 0.5 if args.quick else 3
    for label, values in [(f"0.2–{longest} s after the previous job", q["first_step"]),
                          *[(f"after {s} s idle", t) for s, t in q["after_idle"].items()],
                          (f"under load (another worker runs a 200-step job; 0.07–{longest / 3:.1f}"
                           " s apart)", q["under_load"])]:
        p50 = statistics.median(values)
        figures.append(Figure(f"Enqueue → first step started, {label}; {len(values)} samples",
                              f"{p50:.1f} ms", spread(values), "p50 ≤ 20 ms", met=p50 <= 20))
    figures += [
        Figure("Enqueue → job claimed (running)", f"{statistics.median(q['claimed']):.1f} ms",
               spread(q["claimed"])),
        Figure("Idle CPU of the process (1 queue worker, no jobs)",
               f"{q['idle']:.2f} % of one core"),
    ]
    command = "python bench/engine_overhead.py " + (
        "--quick" if args.quick else f"--rounds {args.rounds} --samples {args.samples}")
    publish("engine_overhead", command, figures, quick=args.quick)


if __name__ == "__main__":
    main()
