"""Jobdeck against what a Python team might pick instead: Prefect.

Run from the repo root:  python bench/vs_prefect.py [--runs N] [--quick]

The same 20-step browser procedure as bench/engine_overhead.py (a local form page, no
screenshots) run N times as Jobdeck jobs (embedded queue, one worker) and N times as
Prefect flow runs (Prefect 3.9 with its local ephemeral server, each task one browser
step), alternating A and B. Prefect lives in its own virtualenv (.bench-venvs/prefect),
made by this script on first use. Both keep one browser open between runs and open a
fresh context per run. Jobdeck's time is enqueue → job_finished published; Prefect's is
the flow call's duration. Puts its figures into docs/benchmarks.md's table (--quick: prints
only).
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
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from engine_overhead import STEPS, runbook_yaml, serve_page
from report import Figure, publish, spread

from engine.bus import events
from engine.runbook import load_runbook
from engine.runner.browser import find_browser
from engine.runtime import Runtime
from engine.service.jobs import start_job
from engine.service.runbooks import save_runbook
from engine.settings import Settings

VENV = ROOT / ".bench-venvs" / "prefect"
PREFECT = "prefect==3.9.1"


def prefect_python() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"installing {PREFECT} into {VENV} …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", PREFECT,
                        "playwright==1.65.2"], check=True)
    return python


class PrefectSide:
    def __init__(self, url: str, home: Path):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
               "PREFECT_HOME": str(home / ".prefect"), "PREFECT_LOGGING_LEVEL": "WARNING",
               "DO_NOT_TRACK": "1"}
        self.process = subprocess.Popen(
            [str(prefect_python()), str(ROOT / "bench" / "prefect_side" / "flow_server.py"),
             url, json.dumps(STEPS), find_browser(None)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        if self.process.stdout.readline().strip() != "ready":
            raise SystemExit("the Prefect side did not start")

    def run(self) -> float:
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.write("stop\n")
        self.process.stdin.flush()
        self.process.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="1 run after the first; print only")
    args = parser.parse_args()
    if args.quick:
        args.runs = 1
    url = serve_page()
    finished: dict[int, float] = {}
    done = threading.Condition()

    def on_event(event: events.Event) -> None:
        if event.kind == events.JOB_FINISHED:
            with done:
                finished[event.job_id] = time.perf_counter()
                done.notify_all()

    def jobdeck_run() -> float:
        started = time.perf_counter()
        job = start_job("vs-prefect", {})
        with done:
            done.wait_for(lambda: job.id in finished, timeout=120)
        if job.id not in finished:
            raise SystemExit(f"job {job.id} did not finish")
        return (finished[job.id] - started) * 1000

    with tempfile.TemporaryDirectory(prefix="jobdeck-bench-") as tmp:
        runtime = Runtime(Settings(data_dir=Path(tmp) / "data", allow_private_hosts="127.0.0.1"))
        save_runbook(load_runbook(runbook_yaml("vs-prefect", url, "off"), "vs-prefect.yaml"))
        events.get_bus().subscribe(on_event)
        runtime.start_workers(1)
        began = time.perf_counter()
        prefect = PrefectSide(url, Path(tmp) / "prefect-home")
        prefect_start = (time.perf_counter() - began) * 1000
        first_prefect, first_jobdeck = prefect.run(), jobdeck_run()  # warm-up, reported
        jobdeck, prefect_runs = [], []
        for index in range(args.runs):
            for side in ("jobdeck", "prefect") if index % 2 == 0 else ("prefect", "jobdeck"):
                if side == "jobdeck":
                    jobdeck.append(jobdeck_run())
                else:
                    prefect_runs.append(prefect.run())
            print(f"  run {index + 1}: Jobdeck {jobdeck[-1]:.0f} ms, Prefect "
                  f"{prefect_runs[-1]:.0f} ms", flush=True)
        prefect.close()
        runtime.stop()
    j, p = statistics.median(jobdeck), statistics.median(prefect_runs)
    pairs = [b / a for a, b in zip(jobdeck, prefect_runs)]
    figures = [
        Figure(f"What users pick instead: the 20-step procedure as a Jobdeck job vs a Prefect "
               f"flow run (a task per step), alternating; {args.runs} runs each",
               f"{j:.0f} ms vs {p:.0f} ms", f"{spread(jobdeck, '{:.0f}')} vs "
               f"{spread(prefect_runs, '{:.0f}')}", "Jobdeck faster per run",
               f"{p / j:.2f} Prefect / Jobdeck (pairs {min(pairs):.2f}–{max(pairs):.2f})",
               met=j < p),
        Figure("Prefect's extra time per step (median run difference / 20 steps)",
               f"{(p - j) / len(STEPS):.0f} ms"),
        Figure(f"End to end, {args.runs} runs after start-up, Jobdeck vs Prefect",
               f"{sum(jobdeck) / 1000:.1f} s vs {sum(prefect_runs) / 1000:.1f} s", "", "",
               f"{sum(prefect_runs) / sum(jobdeck):.2f} Prefect / Jobdeck"),
        Figure("First run, Jobdeck vs Prefect (which starts its local server in it; import "
               "and launch of the Prefect process counted apart)",
               f"{first_jobdeck:.0f} ms vs {first_prefect:.0f} ms "
               f"(+{prefect_start:.0f} ms launch)"),
    ]
    command = ("python bench/vs_prefect.py --quick" if args.quick
               else f"python bench/vs_prefect.py --runs {args.runs}")
    publish("vs_prefect", command + f"  ({PREFECT})", figures, quick=args.quick)


if __name__ == "__main__":
    main()
