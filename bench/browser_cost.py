"""CPU-seconds per job by kind of process: the engine vs plain async Playwright making the
same calls (and, with --baseline, vs an older engine).

Run from the repo root:  python bench/browser_cost.py [--jobs N] [--rounds N] [--quick]
                         [--baseline PATH]

1. Serves the 20-step form page of bench/engine_overhead.py (bench/form_page.py) from this
   process, which is not measured.
2. Each variant runs in a process of its own: one warm-up job, then --jobs jobs back to
   back, then 1 s idle; its CPU over that window is divided by --jobs.
   - raw: plain async Playwright, the same browser binary and flags as the engine
     (engine.runner.browser.launch); per job a new context and page, the 20 steps
     (goto, fill, click, expect().to_contain_text), context closed.
   - engine: the same steps as a runbook (screenshots off), queued on an embedded runtime
     (SQLite, the Huey queue, one worker thread), as `main.py` runs them: claim, steps,
     records, events, report, the next job's context opened ahead.
   - with --baseline PATH (a checkout of an older commit, e.g. a git worktree of 898383d):
     the same engine variant with that checkout's engine, once with the browser it picks
     itself and once with this checkout's browser (Debian's headless shell when present).
   Variants alternate, their order turning each round.
3. CPU: utime + stime from /proc/<pid>/stat of the variant's process and every
   descendant, sampled every 50 ms from this process, keeping the last value of each
   process that exits (bench/process_tree.py): Python (the variant's process), driver
   (Playwright's node), browser (Chromium's main process), renderer, other (Chromium's
   zygotes, GPU and network processes, a wrapper script).
Puts its figures into docs/benchmarks.md's table (--quick: prints only).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from form_page import VIEWPORT, run_raw_steps, runbook_yaml, serve_page  # noqa: E402
from process_tree import KINDS, CpuSampler, minus  # noqa: E402

# ---------------------------------------------------------------------------- variants
# Each runs in a child process: `browser_cost.py --child raw|engine URL JOBS [ROOT]`. It
# prints "ready" after its warm-up job, waits for a line on stdin, runs the jobs, idles
# 1 s and prints one JSON line (its wall ms per job, the browser it used).


def child_raw(url: str, jobs: int) -> None:
    import asyncio

    sys.path.insert(0, str(ROOT))
    from playwright.async_api import async_playwright, expect

    from engine.runner.browser import find_browser, launch

    async def one(browser) -> float:
        started = time.perf_counter()
        context = await browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        page = await context.new_page()
        await run_raw_steps(page, url, expect)
        await context.close()
        return (time.perf_counter() - started) * 1000

    async def main() -> None:
        async with async_playwright() as pw:
            executable = find_browser()
            browser = await launch(pw, executable)
            await one(browser)
            print("ready", flush=True)
            await asyncio.to_thread(sys.stdin.readline)
            times = [await one(browser) for _ in range(jobs)]
            await asyncio.sleep(1)
            print(json.dumps({"ms": times, "browser": executable or "Playwright's"}),
                  flush=True)
            await asyncio.to_thread(sys.stdin.readline)
            await browser.close()

    asyncio.run(main())


def child_engine(url: str, jobs: int, engine_root: str, browser_path: str | None) -> None:
    sys.path.insert(0, engine_root)  # before any import of the engine: that checkout's
    from engine.bus import events
    from engine.runbook import load_runbook
    from engine.runner.browser import find_browser
    from engine.runtime import Runtime
    from engine.service.jobs import get_job, start_job
    from engine.service.runbooks import save_runbook
    from engine.settings import Settings

    done: set[int] = set()
    changed = threading.Condition()

    def note(event) -> None:
        if event.kind == events.JOB_FINISHED:
            with changed:
                done.add(event.job_id)
                changed.notify_all()

    def run(count: int) -> list[int]:
        ids = [start_job("bench-cost", {}).id for _ in range(count)]
        with changed:
            if not changed.wait_for(lambda: done.issuperset(ids), timeout=600):
                raise SystemExit("engine jobs did not finish")
        return ids

    with tempfile.TemporaryDirectory(prefix="jobdeck-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp), allow_private_hosts="127.0.0.1",
                            browser_path=browser_path)
        runtime = Runtime(settings)
        save_runbook(load_runbook(runbook_yaml("bench-cost", url, "off"), "bench-cost.yaml"))
        events.get_bus().subscribe(note)
        runtime.start_workers(1)
        run(1)
        time.sleep(0.5)  # the next job's context is opened ahead
        print("ready", flush=True)
        sys.stdin.readline()
        ids = run(jobs)
        time.sleep(1)
        failed = [i for i in ids if get_job(i).job.status.value != "completed"]
        times = [(j.finished_at - j.started_at).total_seconds() * 1000
                 for j in (get_job(i).job for i in ids)]
        print(json.dumps({"ms": times, "failed": len(failed),
                          "browser": find_browser(browser_path) or "Playwright's"}),
              flush=True)
        sys.stdin.readline()
        runtime.stop()


def measure(variant: str, url: str, jobs: int, baseline: str | None) -> dict:
    """Start a variant's process, sample its tree over the jobs: CPU-s per job by kind."""
    args = {"raw": ["raw"], "engine": ["engine", str(ROOT)],
            "old": ["engine", str(baseline)],
            "old-shell": ["engine", str(baseline), shell_browser() or ""]}[variant]
    child = subprocess.Popen([sys.executable, __file__, "--child", args[0], url, str(jobs),
                              *args[1:]], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, cwd=ROOT if variant in ("raw", "engine") else baseline)
    sampler = CpuSampler(child.pid, interval=0.05).start()
    try:
        if child.stdout.readline().strip() != "ready":
            raise SystemExit(f"{variant}: the child did not start")
        time.sleep(0.5)
        before = sampler.totals()
        child.stdin.write("go\n")
        child.stdin.flush()
        result = json.loads(child.stdout.readline())
        used = minus(sampler.totals(), before)
        child.stdin.write("stop\n")
        child.stdin.flush()
        child.wait(60)
    finally:
        sampler.stop()
        if child.poll() is None:
            child.kill()
    result["cpu"] = {k: v / jobs for k, v in used.items()}
    return result


def shell_browser() -> str | None:
    sys.path.insert(0, str(ROOT))
    from engine.runner.browser import find_browser
    return find_browser()


# ---------------------------------------------------------------------------- report
LABELS = {"raw": "plain async Playwright", "engine": "engine (this checkout)",
          "old": "old engine (--baseline), its own browser choice",
          "old-shell": "old engine (--baseline), this checkout's browser"}


def by_kind(cpu: dict[str, float]) -> str:
    return ", ".join(f"{k} {cpu[k]:.2f}" for k in KINDS)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, url, jobs = sys.argv[2], sys.argv[3], int(sys.argv[4])
        if kind == "raw":
            child_raw(url, jobs)
        else:
            child_engine(url, jobs, sys.argv[5], (sys.argv[6] or None) if len(sys.argv) > 6
                         else None)
        return
    from report import Figure, publish, spread

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5, help="jobs a variant (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of variants (default 3)")
    parser.add_argument("--baseline", metavar="PATH",
                        help="a checkout of an older engine to measure alongside")
    parser.add_argument("--quick", action="store_true", help="1 round of 2 jobs; print only")
    args = parser.parse_args()
    if args.quick:
        args.jobs, args.rounds = 2, 1
    url = serve_page()
    variants = ["raw", "engine"] + (["old", "old-shell"] if args.baseline else [])
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    for r in range(args.rounds):
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        for variant in order:
            result = measure(variant, url, args.jobs, args.baseline)
            if result.get("failed"):
                raise SystemExit(f"{variant}: {result['failed']} jobs failed")
            runs[variant].append(result)
            print(f"  round {r + 1} {variant}: {result['cpu']['total']:.2f} CPU-s a job "
                  f"({by_kind(result['cpu'])}), {statistics.median(result['ms']):.0f} ms a "
                  f"job; {result['browser']}", flush=True)

    def med(variant: str, key: str = "total") -> float:
        return statistics.median(r["cpu"][key] for r in runs[variant])

    def totals(variant: str) -> list[float]:
        return [r["cpu"]["total"] for r in runs[variant]]

    def kinds(variant: str) -> dict[str, float]:
        return {k: med(variant, k) for k in KINDS}

    raw, new = med("raw"), med("engine")
    pairs = [e / r for e, r in zip(totals("engine"), totals("raw"))]  # each round's ratio
    cpu_s = lambda values: spread(values, "{:.2f}", " CPU-s")  # noqa: E731
    browser = Path(runs["engine"][0]["browser"]).name
    figures = [Figure(
        f"CPU per 20-step job (screenshots off), every process of the job's worker process "
        f"({browser}): engine job on a worker thread vs plain async Playwright making the "
        f"same calls; {args.jobs} jobs × {args.rounds} rounds", f"{new:.2f} CPU-s vs "
        f"{raw:.2f} CPU-s", f"{cpu_s(totals('engine'))} vs {cpu_s(totals('raw'))}",
        "≤ 1.5 × raw", f"{new / raw:.2f} engine / raw (rounds {min(pairs):.2f}–"
        f"{max(pairs):.2f})", met=new / raw <= 1.5)]
    for variant in variants:
        figures.append(Figure(
            f"CPU per job by process, {LABELS[variant]} ("
            f"{Path(runs[variant][0]['browser']).name}): Python, driver (node), browser, "
            "renderer, other Chromium", by_kind(kinds(variant)) + " CPU-s",
            cpu_s(totals(variant)), "",
            "" if variant == "raw" else f"{med(variant) / raw:.2f} × raw"
            + (f", {med(variant) / new:.2f} × engine" if variant.startswith("old") else "")))
    wall = {v: statistics.median(m for r in runs[v] for m in r["ms"]) for v in variants}
    figures.append(Figure(
        "Wall time per job in the same runs (" + ", ".join(variants) + ")",
        " / ".join(f"{wall[v]:.0f} ms" for v in variants)))
    command = "python bench/browser_cost.py " + ("--quick" if args.quick else
                                                 f"--jobs {args.jobs} --rounds {args.rounds}")
    if args.baseline:
        head = subprocess.run(["git", "-C", args.baseline, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
        command += f" --baseline <checkout of {head or args.baseline}>"
    publish("browser_cost", command, figures, quick=args.quick)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
