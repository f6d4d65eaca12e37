"""How late a schedule fires: its time → job Queued, and → first step started.

Run from the repo root:  python bench/schedule_lateness.py [--fires N]

An embedded runtime (SQLite, the Huey queue, one worker thread, the scheduler — as in the
console) with one schedule firing every second a runbook whose one step waits 1 ms.
Lateness is measured from the occurrence's time (the Scheduled job's scheduled_for) to the
moment the queued status and the first step's start are published (same clock).
Writes the "## Schedule lateness" section of docs/benchmarks.md.
"""

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import events, schedules
from engine.jobs import get_job
from engine.runbooks import add_runbook
from engine.runtime import Runtime
from engine.settings import Settings
from report import machine, write_section

SECTION = "## Schedule lateness (bench/schedule_lateness.py)"
RUNBOOK = "version: 1\nname: tick\ntitle: Tick\nsteps: [{name: wait, action: wait, ms: 1}]\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fires", type=int, default=30)
    args = parser.parse_args()
    marks: dict[tuple[int, str], float] = {}
    enough = threading.Event()

    def on_event(event: events.Event) -> None:
        now = time.time()
        if event.kind == events.STEP_STARTED:
            marks.setdefault((event.job_id, "step"), now)
            if sum(k[1] == "step" for k in marks) > args.fires:
                enough.set()
        elif event.kind == events.JOB_STATUS and event.data.get("status") == "queued":
            marks.setdefault((event.job_id, "queued"), now)

    with tempfile.TemporaryDirectory(prefix="jobdeck-bench-") as tmp:
        runtime = Runtime(Settings(data_dir=Path(tmp)))
        add_runbook(RUNBOOK)
        events.get_bus().subscribe(on_event)
        runtime.start_workers(1)
        runtime.start_scheduler()
        schedules.create_schedule("tick", interval_s=1, timezone="UTC")
        enough.wait(args.fires * 3 + 30)
        runtime.stop()
        queued, started = [], []
        for (job_id, what), at in marks.items():
            job = get_job(job_id).job
            if job.scheduled_for is None:
                continue
            late = (at - job.scheduled_for.timestamp()) * 1000
            (queued if what == "queued" else started).append(late)
    queued, started = queued[1:], started[1:]  # the first fire warms the worker's browser
    rows = [
        (f"Schedule time → job Queued, p50 / max ({len(queued)} fires)",
         f"{statistics.median(queued):.1f} / {max(queued):.1f} ms", "≤ 100 ms p50"),
        (f"Schedule time → first step started, p50 / max ({len(started)} fires)",
         f"{statistics.median(started):.1f} / {max(started):.1f} ms", ""),
    ]
    text = "\n".join([
        SECTION, "", f"Run {machine()}: `python bench/schedule_lateness.py --fires "
        f"{args.fires}`.", "", "| Measure | Result | Target |", "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows], ""])
    print("\n" + text)
    print(f"written to {write_section(SECTION, text)}")


if __name__ == "__main__":
    main()
