"""How much the Jobdeck engine adds on top of plain Playwright, and how fast its queue reacts.

Run from the repo root:  python bench/engine_overhead.py [--rounds N] [--samples N] [--quick]

1. Serves an inline form page (inputs, buttons whose JS changes text) on 127.0.0.1.
2. Runs the same 20 steps (goto, fill, click, assert selector+text) each round, alternating
   which goes first: (a) as an engine job, engine.runner.worker.execute_job called from the
   main thread as a worker thread calls it (screenshots off, retries 0), (b) as plain
   Playwright with the async API on an event loop thread of its own (page.goto,
   locator.fill/click, expect().to_contain_text), the engine's way since it runs jobs as
   coroutines. Then the same pair with a screenshot after every step: the engine's
   `screenshots: each_step` (JPEG q60, saved as an artifact, published as an event) and
   raw Playwright's page.screenshot(type="jpeg", quality=60). Each side has its own
   browser (engine.runner.browser.launch: same binary, same flags) and a fresh context per
   run. Engine time is the job's own started_at → finished_at (claim, steps, close, final
   write; the worker opens the next job's context while idle, so that is not in there); raw
   time is counted from a ready page to context closed, and also from new context.
   CPU: utime + stime of every process of this process's tree (Python, both drivers, both
   Chromiums), sampled every 0.1 s (bench/process_tree.py), over each run; one side runs at
   a time. A screenshot's CPU per step is (run with screenshots − run without) / 20, for the
   engine and for raw Playwright. The snapshot a job takes after each successful step
   (Retry from step N, `settings.resume: true`, the default): the same engine job with
   `resume: false` runs three times in each round, alternating with three more runs of
   the job with `resume: true`; the cost per step is the difference of the two medians
   / 20, and the bytes per step those of the job's snapshot files / 20. The same pair
   for a job holding a 1000-record collection from step 4 on (bench/rows_case.py).
3. Enqueue → first step started on the embedded Huey queue (1 warm worker thread): from just
   before engine.service.jobs.start_job to the job's first STEP_STARTED bus event, after idle
   gaps of 0.2–3 s. Then the CPU this process uses over 5 s idle (the worker polls, never spins).
   Also after 5 s and 30 s idle, and under load: a second worker busy with a 200-step job.
4. Prints the figures and puts them into docs/benchmarks.md's table (--quick: prints only).
"""

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from form_page import (  # noqa: E402, F401
    STEPS,
    STEPS_FRAME_TAB,
    TIMEOUT_MS,
    VIEWPORT,
    run_raw_steps,
    runbook_yaml,
    serve_page,
)
from playwright.async_api import async_playwright, expect
from process_tree import CpuSampler, minus
from report import Figure, publish, spread
from rows_case import ROWS, rows_runbook

from engine.bus import events
from engine.runbook import load_runbook
from engine.runner.browser import find_browser, launch
from engine.runner.worker import close_browser, execute_job
from engine.runtime import Runtime
from engine.service.jobs import create_job, get_job, start_job
from engine.service.runbooks import save_runbook
from engine.settings import Settings
from engine.store.snapshots import list_snapshots
from models import JobStatus


class RawPlaywright:
    """Plain async Playwright on an event loop thread of its own, with its own browser."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="raw-playwright",
                         daemon=True).start()
        self.playwright = self.call(async_playwright().start())
        self.browser = self.call(launch(self.playwright, find_browser()))

    def call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def run(self, url: str, screenshots: bool = False) -> tuple[float, float]:
        return self.call(self._run(url, screenshots))

    async def _run(self, url: str, screenshots: bool) -> tuple[float, float]:
        """The same steps: ms from new context to context closed, and ms from a ready page
        to context closed (the engine opens its context ahead of the job)."""
        started = time.perf_counter()
        context = await self.browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        page = await context.new_page()
        ready = time.perf_counter()
        await run_raw_steps(page, url, expect, screenshots, STEPS_FRAME_TAB)
        await context.close()
        done = time.perf_counter()
        return (done - started) * 1000, (done - ready) * 1000

    def close(self) -> None:
        async def close():
            await self.browser.close()
            await self.playwright.stop()
        self.call(close())
        self.loop.call_soon_threadsafe(self.loop.stop)


def run_engine(name: str, settings: Settings, runtime: Runtime) -> tuple[float, float]:
    """One job, claimed and run from this thread as a worker thread does; (job duration
    ms, ms of it spent outside the step rows). The bytes of its snapshots go to
    SNAPSHOT_BYTES."""
    job = create_job(name, {})
    status = execute_job(job.id, settings=settings, bus=events.get_bus(),
                         heartbeat=runtime.heartbeat)
    detail = get_job(job.id)
    if status != JobStatus.completed:
        raise SystemExit(f"engine job {name} ended {status}: {detail.job.error_message}")
    total = (detail.job.finished_at - detail.job.started_at).total_seconds() * 1000
    steps = sum((s.finished_at - s.started_at).total_seconds() * 1000 for s in detail.steps)
    SNAPSHOT_BYTES[name] = sum(s.size for s in list_snapshots(settings.data_dir, job.id))
    return total, total - steps


SNAPSHOT_BYTES: dict[str, int] = {}  # runbook name -> its last job's snapshot bytes

def measure_overhead(rounds: int, url: str, settings: Settings, runtime: Runtime) -> dict:
    """Per run: ms (engine job, raw from a ready page and from new context), ms outside the
    engine's steps, and CPU seconds of the whole tree; with and without screenshots."""
    raw = RawPlaywright()
    sampler = CpuSampler(interval=0.1).start()
    r: dict = {key: [] for key in ("engine", "outside", "raw", "raw_ready", "shots",
                                   "raw_shots", "cpu_engine", "cpu_raw", "cpu_shots",
                                   "cpu_raw_shots", "resume", "no_resume", "cpu_snapshot",
                                   "snapshot_bytes", "rows_resume", "rows_no_resume",
                                   "rows_bytes")}
    r["version"] = raw.browser.version

    def timed_cpu(run) -> tuple[tuple[float, float], float]:
        before = sampler.totals()
        result = run()
        return result, minus(sampler.totals(), before)["total"]

    run_engine("bench-off", settings, runtime)  # warm-up: browsers, caches, imports
    run_engine("bench-shots", settings, runtime)
    run_engine("bench-no-resume", settings, runtime)
    run_engine("bench-rows", settings, runtime)
    raw.run(url)
    raw.run(url, screenshots=True)
    for i in range(rounds):
        for shots in (False, True):
            for which in ("engine", "raw") if i % 2 == 0 else ("raw", "engine"):
                if which == "raw":
                    (with_context, ready), cpu = timed_cpu(lambda: raw.run(url, shots))
                    if shots:
                        r["raw_shots"].append(ready)
                        r["cpu_raw_shots"].append(cpu)
                    else:
                        r["raw"].append(with_context)
                        r["raw_ready"].append(ready)
                        r["cpu_raw"].append(cpu)
                    continue
                (total, outside), cpu = timed_cpu(lambda: run_engine(
                    "bench-shots" if shots else "bench-off", settings, runtime))
                if shots:
                    r["shots"].append(total)
                    r["cpu_shots"].append(cpu)
                else:
                    r["engine"].append(total)
                    r["outside"].append(outside)
                    r["cpu_engine"].append(cpu)
        pair: dict[str, list] = {"bench-off": [], "bench-no-resume": [], "cpu": []}
        for k in range(6):  # resume: true, then false, and so on
            name = ("bench-off", "bench-no-resume")[(k + i) % 2]
            (total, _), cpu = timed_cpu(lambda: run_engine(name, settings, runtime))
            pair[name].append(total)
            pair["cpu"].append(cpu if name == "bench-off" else -cpu)
        r["resume"].append(statistics.median(pair["bench-off"]))
        r["no_resume"].append(statistics.median(pair["bench-no-resume"]))
        r["cpu_snapshot"].append(sum(pair["cpu"]) / 3)
        r["snapshot_bytes"].append(SNAPSHOT_BYTES["bench-off"])
        rows: dict[str, list] = {"bench-rows": [], "bench-rows-no-resume": []}
        for k in range(6):  # the same with a 1000-record collection
            rows[name := ("bench-rows", "bench-rows-no-resume")[(k + i) % 2]].append(
                run_engine(name, settings, runtime)[0])
        r["rows_resume"].append(statistics.median(rows["bench-rows"]))
        r["rows_no_resume"].append(statistics.median(rows["bench-rows-no-resume"]))
        r["rows_bytes"].append(SNAPSHOT_BYTES["bench-rows"])
        print(f"  round {i + 1}: engine {r['engine'][-1]:.0f} ms ({r['cpu_engine'][-1]:.2f} "
              f"CPU-s), raw {r['raw_ready'][-1]:.0f} ms in a ready page "
              f"({r['cpu_raw'][-1]:.2f} CPU-s); with screenshots: engine "
              f"{r['shots'][-1]:.0f} ms ({r['cpu_shots'][-1]:.2f} CPU-s), raw "
              f"{r['raw_shots'][-1]:.0f} ms ({r['cpu_raw_shots'][-1]:.2f} CPU-s); "
              f"resume: false {r['no_resume'][-1]:.0f} ms", flush=True)
    sampler.stop()
    raw.close()
    close_browser()  # the engine's browser; the queue's worker starts it again
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
    for name, shots, steps in (("bench-off", "off", STEPS_FRAME_TAB),
                               ("bench-shots", "each_step", STEPS_FRAME_TAB),
                               ("bench-no-resume", "off", STEPS_FRAME_TAB),
                               ("bench-latency", "off", STEPS[:2]),  # goto + assert
                               ("bench-busy", "off", STEPS * 10)):
        text = runbook_yaml(name, url, shots, steps)
        if name == "bench-no-resume":
            text = text.replace("retries: 0,", "retries: 0, resume: false,")
        save_runbook(load_runbook(text, f"{name}.yaml"))
    for name, resume in (("bench-rows", ""), ("bench-rows-no-resume", " resume: false,")):
        text = rows_runbook(runbook_yaml(name, url, "off", STEPS_FRAME_TAB))
        save_runbook(load_runbook(text.replace("retries: 0,", "retries: 0," + resume),
                                  f"{name}.yaml"))

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
    n = len(STEPS)
    per_shot = [(s - e) / n for s, e in zip(o["shots"], o["engine"])]
    raw_per_shot = [(s - e) / n for s, e in zip(o["raw_shots"], o["raw_ready"])]
    cpu_shot = [(s - e) / n * 1000 for s, e in zip(o["cpu_shots"], o["cpu_engine"])]
    cpu_raw_shot = [(s - e) / n * 1000 for s, e in zip(o["cpu_raw_shots"], o["cpu_raw"])]
    shot, raw_shot = statistics.median(cpu_shot), statistics.median(cpu_raw_shot)
    outside = statistics.median(o["outside"])
    cpu_e, cpu_r = statistics.median(o["cpu_engine"]), statistics.median(o["cpu_raw"])
    ms = lambda values: spread(values, "{:.0f}")  # noqa: E731
    snap_ms = [(e - f) / n for e, f in zip(o["resume"], o["no_resume"])]
    snap_cpu = [c / n * 1000 for c in o["cpu_snapshot"]]
    step_ms = statistics.median(o["no_resume"]) / n
    snap_pct = statistics.median(snap_ms) / step_ms * 100
    snap_bytes = [b / n for b in o["snapshot_bytes"]]
    rows_ms = [(e - f) / (n + 2) for e, f in zip(o["rows_resume"], o["rows_no_resume"])]
    rows_step, rows_bytes = (statistics.median(o["rows_no_resume"]) / (n + 2),
                             [b / (n + 2) for b in o["rows_bytes"]])  # 22 steps
    rows_pct = statistics.median(rows_ms) / rows_step * 100
    figures = [
        Figure("Engine overhead: 20-step job (one step in an iframe, one tab opened and left), "
               "screenshots off (job started → finished; its "
               "context opened while the worker was idle) vs plain async Playwright from a "
               "ready page to context closed, alternating", f"{eng:.0f} ms vs {ready:.0f} ms",
               f"{ms(o['engine'])} vs {ms(o['raw_ready'])}", "≤ 1.05 × raw",
               f"{ratio:.2f} engine / raw (pairs {min(ratios):.2f}–{max(ratios):.2f})",
               ratio <= 1.05),
        Figure("Plain async Playwright including new context + page",
               f"{statistics.median(o['raw']):.0f} ms", ms(o["raw"])),
        Figure("Engine time outside its step rows: claim, setup, close, final write",
               f"{outside:.0f} ms", ms(o["outside"]), "≤ 50 ms", met=outside <= 50),
        Figure("CPU of the same runs, every process (Python, driver, Chromium; the engine's "
               "run also opens the next job's context)", f"{cpu_e:.2f} CPU-s vs {cpu_r:.2f}"
               " CPU-s", f"{spread(o['cpu_engine'], '{:.2f}', '')} vs "
               f"{spread(o['cpu_raw'], '{:.2f}', ' CPU-s')}", "",
               f"{cpu_e / cpu_r:.2f} engine / raw"),
        Figure("Screenshot CPU per step: screenshots: each_step (JPEG, artifact, event) "
               "minus the same job without, vs raw page.screenshot(jpeg, q60) after each "
               "step minus without, every process", f"{shot:.0f} CPU-ms vs {raw_shot:.0f} "
               "CPU-ms", f"{spread(cpu_shot, '{:.0f}', '')} vs "
               f"{spread(cpu_raw_shot, '{:.0f}', ' CPU-ms')}", "≤ raw's",
               f"{shot / raw_shot:.2f} engine / raw" if raw_shot > 0 else "",
               met=shot <= raw_shot),
        Figure("Screenshot time per step, the same runs: engine vs raw",
               f"{statistics.median(per_shot):.1f} ms vs "
               f"{statistics.median(raw_per_shot):.1f} ms",
               f"{spread(per_shot, unit='')} vs {spread(raw_per_shot)}"),
    ]
    figures += [
        Figure("Snapshot per step (Retry from step N): the 20-step job with resume: true "
               "(the default) minus the same job with resume: false, per step (medians of 3 "
               "alternating runs each, per round)",
               f"{statistics.median(snap_ms):.1f} ms ({snap_pct:.1f} % of a step's "
               f"{step_ms:.0f} ms)", f"{spread(snap_ms, unit=' ms')}", "≤ 10 % more per step",
               f"{statistics.median(snap_cpu):.1f} CPU-ms per step", met=snap_pct <= 10),
        Figure("Snapshot size per step (storage state, tabs, values, collections; "
               "compressed, encrypted)", f"{statistics.median(snap_bytes):.0f} bytes",
               spread(snap_bytes, "{:.0f}", " bytes")),
        Figure(f"Snapshot per step with a {ROWS}-record collection (the job extracts it at "
               "step 4; each snapshot holds only the records added since the previous one): "
               "resume: true minus resume: false, per step",
               f"{statistics.median(rows_ms):.1f} ms ({rows_pct:.1f} % of a step's "
               f"{rows_step:.0f} ms)", spread(rows_ms, unit=" ms"), "≤ 10 % more per step",
               met=rows_pct <= 10),
        Figure(f"Snapshot size per step with a {ROWS}-record collection",
               f"{statistics.median(rows_bytes):.0f} bytes",
               spread(rows_bytes, "{:.0f}", " bytes")),
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
