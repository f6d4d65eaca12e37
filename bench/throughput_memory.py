"""Throughput and memory of the embedded queue and its workers.

Run from the repo root:  python bench/throughput_memory.py [--quick] [--baseline PATH]

An embedded runtime (SQLite, the Huey queue, N worker threads in this process) and the
demo site served on 127.0.0.1. Since the engine runs one browser per process, N worker
threads are N jobs at once in one Chromium, a browser context each.
1. memory over time: 300 short jobs (goto + assert) queued at once on one worker thread.
   Anonymous memory (`Anonymous:` of smaps_rollup) of this process and all its live
   descendants (Playwright's driver, Chromium and its helpers) and this process's open file
   descriptors, read after every 5th job: the mean over jobs 51–100 (after warm-up: the
   browser's first 50-job cycle) vs over jobs 251–300 (the last cycle; the browser is
   recycled every 50 jobs), the Python process's alone, fds after job 51 vs at the end,
   Chromium processes left once the worker stopped.
2. throughput with 1, 2 and 4 jobs at once: batches of 30 short jobs queued at once on 1, 2
   and 4 worker threads, in 3 rounds that each run the three in turn (the machine is
   shared: its load changes between batches run apart). For each: jobs a minute (median;
   the ratio to 1 at a time is taken within each round), the machine's busy CPU, and the
   "gaps": the time in which fewer jobs ran than there are workers while a job was still
   waiting, besides the time the workers spent opening the next job's browser context
   (timed around the engine's prepare_spare_context).
3. memory per concurrent job: anonymous memory of the tree while 1, 4 and 8 jobs run at
   once (one per worker thread, each inside a 6 s page load; then cancelled), the cost per
   extra job, and where it goes: Python, Playwright's driver (node), Chromium's browser
   process, renderers, Chromium's other processes (zygotes, GPU, network).
Anonymous memory, not PSS: PSS moves when any other process maps the same binaries (another
Chromium on the machine), anonymous memory only with this tree's own allocations.
--baseline PATH (a checkout of an older commit, e.g. a git worktree of 898383d) runs the
same measurements with that checkout's engine first, in a process of its own, and puts its
figures beside these.
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
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# --engine-root PATH: this process measures that checkout's engine (see --baseline)
ENGINE_ROOT = (sys.argv[sys.argv.index("--engine-root") + 1] if "--engine-root" in sys.argv
               else str(ROOT))
sys.path.insert(0, ENGINE_ROOT)
sys.path.insert(0, str(Path(__file__).resolve().parent))

from job_batches import (  # noqa: E402
    FINISHED,
    FINISHED_CHANGED,
    LONG,
    SHORT,
    busy_cores,
    chromium_left,
    idle_gaps_ms,
    note_finished,
    run_batch,
    serve_demo,
    tree,
    wait_finished,
)
from process_tree import KINDS, anon_by_kind, anon_mb  # noqa: E402
from report import Figure, publish, spread  # noqa: E402

from engine.bus import events  # noqa: E402
from engine.errors import JobdeckError  # noqa: E402
from engine.runner import worker  # noqa: E402
from engine.runtime import Runtime  # noqa: E402
from engine.service import job_actions  # noqa: E402
from engine.service.jobs import get_job, start_job  # noqa: E402
from engine.service.runbooks import add_runbook  # noqa: E402
from engine.settings import Settings  # noqa: E402

# (when it started, ms) each time a worker opened its next job's context ahead of time
PREPARING: list[tuple[datetime, float]] = []


def _timed_prepare(original):
    def prepare(settings) -> None:
        started_at, started = datetime.now(timezone.utc), time.perf_counter()
        original(settings)
        PREPARING.append((started_at, (time.perf_counter() - started) * 1000))
    return prepare


worker.prepare_spare_context = _timed_prepare(worker.prepare_spare_context)


def throughput(runtime: Runtime, workers: int, count: int, between=None,
               rate_over: int | None = None, started: bool = False) -> dict:
    """Queue `count` short jobs at once on `workers` workers: jobs a minute over the first
    `rate_over` to finish (all by default), gaps, busy CPU. `between(jobs)` runs after the
    batch, before the workers stop; `started`: the workers are up and warm."""
    if not started:
        runtime.start_workers(workers)
        run_batch("short", workers)  # warm: every worker has had a job
    busy_before, total_before = busy_cores()
    jobs = run_batch("short", count)
    busy_after, total_after = busy_cores()
    first, last_claim = min(j.created_at for j in jobs), max(j.started_at for j in jobs)
    preparing = sum(ms for at, ms in PREPARING if first <= at < last_claim)  # jobs waited
    if between is not None:
        between(jobs)
    runtime.stop()
    counted = sorted(jobs, key=lambda j: j.finished_at)[:rate_over or len(jobs)]
    span = max(j.finished_at for j in counted) - first
    gaps = idle_gaps_ms(jobs, workers)
    result = {
        "workers": workers, "count": count, "rate_over": rate_over,
        "rate": len(counted) / span.total_seconds() * 60,
        "cores": os.cpu_count() * (busy_after - busy_before) / (total_after - total_before),
        "gaps": gaps / len(jobs), "idle": max(gaps - preparing, 0) / len(jobs),
        "failed": sum(j.status.value != "completed" for j in jobs)}
    print(f"  {workers} at once: {result['rate']:.0f} jobs a minute, CPU busy "
          f"{result['cores']:.1f} cores", flush=True)
    return result


def memory_over_time(runtime: Runtime, long_run: int, rate_over: int, every: int,
                     cycle: int) -> tuple[dict, dict]:
    """1 job at a time: the throughput (over the first `rate_over` jobs, as the other
    batches) and the tree's anonymous memory after every `every`-th job, from one long
    batch on one worker."""
    samples: list[tuple[int, float, float, int]] = []  # (jobs done, tree MB, Python MB, fds)
    stop = threading.Event()

    def sample() -> None:  # in a thread of its own: reading smaps_rollup takes a while
        done_before = len(FINISHED)
        while not stop.is_set():
            with FINISHED_CHANGED:
                FINISHED_CHANGED.wait_for(
                    lambda: stop.is_set() or len(FINISHED) - done_before >= every, 5)
                done = len(FINISHED) - done_before
            if done - (samples[-1][0] if samples else 0) >= every:
                samples.append((done, anon_mb(tree()), anon_mb([os.getpid()]),
                                len(os.listdir("/proc/self/fd"))))

    end = {}

    def remember(_jobs) -> None:  # open files after the batch, workers still up
        end["fds"] = len(os.listdir("/proc/self/fd"))

    runtime.start_workers(1)
    run_batch("short", 1)
    start_fds = len(os.listdir("/proc/self/fd"))
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    rate = throughput(runtime, 1, long_run, between=remember, started=True,
                      rate_over=min(long_run, rate_over))
    stop.set()
    with FINISHED_CHANGED:
        FINISHED_CHANGED.notify_all()
    sampler.join()
    time.sleep(1)

    def mean(first: int, last: int, column: int) -> float:
        values = [s[column] for s in samples if first <= s[0] <= last]
        return statistics.mean(values) if values else float("nan")

    warm, final = (cycle + 1, 2 * cycle), (long_run - cycle + 1, long_run)
    warm_fds = next((s[3] for s in samples if s[0] >= warm[0]), start_fds)
    return rate, {
        "jobs": long_run, "recycle": runtime.settings.browser_recycle_jobs,
        "warm": warm, "final": final,
        "tree": (mean(*warm, 1), mean(*final, 1)), "python": (mean(*warm, 2), mean(*final, 2)),
        "peak": max(s[1] for s in samples), "fds": (start_fds, end["fds"]),
        "warm_fds": warm_fds,
        "left": chromium_left(), "samples": samples}


STEP_STARTED: set[int] = set()  # jobs that started a step


def note_step(event: events.Event) -> None:
    if event.kind == events.STEP_STARTED:
        STEP_STARTED.add(event.job_id)


def memory_per_job(runtime: Runtime, concurrency: tuple[int, ...]) -> dict:
    """Anonymous memory of the tree while 1, 4, 8 jobs are inside a slow page load."""
    memory, kinds, failures = {}, {}, 0
    for workers in concurrency:
        runtime.start_workers(workers)
        time.sleep(1)  # the workers' startup opens the browser and a spare context
        ids = [start_job("long").id for _ in range(workers)]
        deadline = time.monotonic() + 30
        while not STEP_STARTED.issuperset(ids) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)  # every job inside its slow page, rendered
        kinds[workers] = anon_by_kind()
        memory[workers] = sum(kinds[workers].values())
        for job_id in ids:  # done measuring: no need to wait for the slow page
            try:
                job_actions.act(job_id, "cancel", by="bench")
            except JobdeckError:  # it ended meanwhile (its page timed out on a busy machine)
                pass
        wait_finished(ids, timeout=120)
        failed = [i for i in ids if get_job(i).job.status.value not in ("cancelled",
                                                                        "completed")]
        failures += len(failed)
        if failed:
            print(f"  {len(failed)} of {workers} jobs failed: "
                  f"{get_job(failed[0]).job.error_message}", flush=True)
        runtime.stop()
    low, high = min(memory), max(memory)
    extra = {k: (kinds[high][k] - kinds[low][k]) / (high - low) for k in KINDS}
    result = {"memory": memory, "extra": extra, "failed": failures,
              "per_job": (memory[high] - memory[low]) / (high - low)}
    print(f"  memory: {result}", flush=True)
    return result


def measure(quick: bool, keep: Path | None = None) -> dict:
    """Every measurement of this script, as numbers; each part also written to `keep` as
    soon as it is measured (JSON, for --baseline's process)."""
    batch, rounds, long_run = (4, 1, 8) if quick else (30, 3, 300)
    every, cycle = (1, 2) if quick else (5, 50)
    concurrency = (1, 2) if quick else (1, 4, 8)
    pool = (1, 2) if quick else (1, 2, 4)
    commit = subprocess.run(["git", "-C", ENGINE_ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    result: dict = {"browser": browser_name(), "engine": ENGINE_ROOT, "commit": commit,
                    "rates": []}

    def save() -> None:
        if keep is not None:
            keep.write_text(json.dumps(result))

    port = serve_demo()
    with tempfile.TemporaryDirectory(prefix="jobdeck-bench-") as tmp:
        runtime = Runtime(Settings(data_dir=Path(tmp), allow_private_hosts=f"127.0.0.1:{port}"))
        site = f"http://127.0.0.1:{port}"
        add_runbook(SHORT.replace("SITE", site))
        add_runbook(LONG.replace("SITE", site))
        events.get_bus().subscribe(note_finished)
        events.get_bus().subscribe(note_step)
        _, result["over_time"] = memory_over_time(runtime, long_run, batch, every, cycle)
        save()
        runs: dict[int, list[dict]] = {w: [] for w in pool}
        for r in range(rounds):  # side by side: the machine's load changes meanwhile
            for workers in pool[r % len(pool):] + pool[:r % len(pool)]:
                runs[workers].append(throughput(runtime, workers, batch))
            result["rates"] = [combined(runs[w]) for w in pool if runs[w]]
            save()
        result["memory"] = memory_per_job(runtime, concurrency)
        save()
    return result


def combined(runs: list[dict]) -> dict:
    """One figure of a pool size from its rounds: medians, and each round's rate."""
    return {"workers": runs[0]["workers"], "count": runs[0]["count"], "rounds": len(runs),
            "rates": [r["rate"] for r in runs],
            **{k: statistics.median(r[k] for r in runs) for k in ("rate", "cores", "gaps",
                                                                    "idle")},
            "failed": sum(r["failed"] for r in runs)}


def browser_name() -> str:
    from engine.runner.browser import find_browser
    return Path(find_browser() or "Playwright's Chromium").name


def measure_baseline(path: str, quick: bool) -> dict:
    """measure() with the engine of the checkout at `path`, in a process of its own (what
    it measured also when it died before the end); or the figures a run before kept of it
    (`path` is then that .json file)."""
    if path.endswith(".json"):
        return json.loads(Path(path).read_text())
    kept = Path(tempfile.gettempdir()) / "throughput_memory-baseline.json"
    kept.unlink(missing_ok=True)
    done = subprocess.run([sys.executable, __file__, "--engine-root", path, "--json", str(kept)]
                          + (["--quick"] if quick else []), cwd=path)
    if done.returncode:
        print(f"  the baseline's process ended with {done.returncode}; its figures so far "
              "are used", flush=True)
    print(f"  (baseline figures kept in {kept}: --baseline {kept} reuses them)", flush=True)
    return json.loads(kept.read_text())


# ---------------------------------------------------------------------------- figures
def figures(new: dict, old: dict | None) -> list[Figure]:
    rates = {r["workers"]: r for r in new["rates"]}
    old_rates = {r["workers"]: r for r in old["rates"]} if old else {}  # may lack some
    result = []
    for workers, r in rates.items():
        failed = f"; {r['failed']} failed" if r["failed"] else ""
        rounds = [x / one for x, one in zip(r["rates"], rates[1]["rates"])]  # side by side
        scale = statistics.median(rounds)
        name = (f"Throughput, {workers} job{'s' if workers > 1 else ''} at once in one process "
                f"({workers} worker thread{'s' if workers > 1 else ''}): {r['count']} short "
                f"jobs (goto + assert) queued at once; {r['rounds']} rounds, each running "
                f"{', '.join(map(str, rates))} at once in turn. Gaps: a worker's time between "
                "jobs while one waited, besides opening the next job's context")
        median = (f"{r['rate']:.0f} jobs a minute{failed}; CPU busy {r['cores']:.1f} of "
                  f"{os.cpu_count()} cores; gaps {r['idle']:.0f} ms a job")
        ratio = [] if workers == 1 else [
            f"{scale:.2f} × 1 at a time (rounds {min(rounds):.2f}–{max(rounds):.2f})"]
        if workers in old_rates:
            o = old_rates[workers]
            median += f"; old engine {o['rate']:.0f} jobs a minute" + (
                "" if "rates" in o else f" (one batch of {o['count']}, before these)")
            if workers > 1 and 1 in old_rates:
                ratio.append(f"old {o['rate'] / old_rates[1]['rate']:.2f} × 1")
            ratio.append(f"{r['rate'] / o['rate']:.2f} new / old")
        result.append(Figure(
            name, median, spread(r["rates"], "{:.0f}", " jobs a minute"),
            "≥ 1.5 × 1 at a time" if workers == 2 else "", "; ".join(ratio),
            met=scale >= 1.5 if workers == 2 else None))
    for label, m in (("", new["memory"]), ("old engine (a worker thread with its own driver "
                                          "and Chromium per job), ", old and old.get("memory"))):
        if not m:
            continue
        counts = ", ".join(map(str, m["memory"]))
        result.append(Figure(
            f"Memory per concurrent job, {label}anonymous memory of the process + all its "
            f"descendants with {counts} jobs at once"
            + (f" ({m['failed']} of them failed before the end)" if m["failed"] else ""),
            " / ".join(f"{v:.0f} MB" for v in m["memory"].values()) + "; an extra job: "
            + ", ".join(f"{k} {v:.0f}" for k, v in m["extra"].items()) + " MB", "",
            "" if label else "≤ 80 MB per extra job", f"{m['per_job']:.0f} MB per extra job"
            + (f"; {new['memory']['per_job'] / m['per_job']:.2f} new / old" if label else ""),
            met=None if label else m["per_job"] <= 80))
    for label, t in (("", new["over_time"]), ("old engine, ", old and old.get("over_time"))):
        if not t:
            continue
        growth = t["tree"][1] / t["tree"][0]
        warm_fds = t.get("warm_fds", t["fds"][0])
        (w1, w2), (f1, f2) = t["warm"], t["final"]
        result.append(Figure(
            f"Memory over time, {label}{t['jobs']} short jobs on one worker (browser recycled "
            f"every {t['recycle']} jobs): anonymous memory of the tree, mean over jobs "
            f"{w1}–{w2} (after warm-up) vs {f1}–{f2}; the Python process alone; open files; "
            "Chromium processes left after stop",
            f"{t['tree'][0]:.0f} MB vs {t['tree'][1]:.0f} MB (peak {t['peak']:.0f}); Python "
            f"{t['python'][0]:.0f} vs {t['python'][1]:.0f} MB; {warm_fds} fds after job "
            f"{w1} vs {t['fds'][1]} at the end; {t['left']} left", "",
            "" if label else "≤ 5 % growth; none left", f"{growth:.3f} last / warm",
            met=None if label else (growth <= 1.05 and t["fds"][1] <= warm_fds + 2
                                    and t["left"] == 0)))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer jobs; print only")
    parser.add_argument("--baseline", metavar="PATH",
                        help="a checkout of an older engine, measured first, side by side "
                        "(or the .json a run before kept of it)")
    parser.add_argument("--engine-root", help=argparse.SUPPRESS)  # used at import
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)  # measure, write here
    args = parser.parse_args()
    if args.json:
        measure(args.quick, args.json)
        return
    old = measure_baseline(args.baseline, args.quick) if args.baseline else None
    new = measure(args.quick)
    command = "python bench/throughput_memory.py" + (" --quick" if args.quick else "")
    if old:
        command += f" --baseline <checkout of {old['commit']}>"
    publish("throughput_memory", command, figures(new, old), quick=args.quick)


if __name__ == "__main__":
    main()
