"""How late a schedule fires: its time → job Queued, and → first step started.

Run from the repo root:  python bench/schedule_lateness.py [--fires N] [--quick]

An embedded runtime (SQLite, the Huey queue, one worker thread, the scheduler — as in the
console) with one schedule firing every second a runbook whose one step waits 1 ms.
Lateness is measured from the occurrence's time (the Scheduled job's scheduled_for) to the
moment the queued status and the first step's start are published (same clock).
Puts its figures into docs/benchmarks.md's table (--quick: prints only).
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

from report import Figure, publish, spread

from engine.bus import events
from engine.runtime import Runtime
from engine.service import schedules
from engine.service.jobs import get_job
from engine.service.runbooks import add_runbook
from engine.settings import Settings

RUNBOOK = "version: 1\nname: tick\ntitle: Tick\nsteps: [{name: wait, action: wait, ms: 1}]\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fires", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="6 fires; print only")
    args = parser.parse_args()
    if args.quick:
        args.fires = 6
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
        # a schedule every second (shorter than a real one may be) to measure many fires
        runtime = Runtime(Settings(data_dir=Path(tmp), min_schedule_interval_seconds=1))
        add_runbook(RUNBOOK)
        events.get_bus().subscribe(on_event)
        runtime.start_workers(1)
        runtime.start_scheduler()
        schedules.create_schedule("tick", interval_s=1, timezone="UTC", overlap="allow")
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
    q, st = statistics.median(queued), statistics.median(started)
    figures = [
        Figure(f"Schedule time → job Queued; {len(queued)} fires, one a second", f"{q:.1f} ms",
               spread(queued), "≤ 100 ms p50", met=q <= 100),
        Figure(f"Schedule time → first step started; {len(started)} fires", f"{st:.1f} ms",
               spread(started)),
    ]
    command = ("python bench/schedule_lateness.py --quick" if args.quick
               else f"python bench/schedule_lateness.py --fires {args.fires}")
    publish("schedule_lateness", command, figures, quick=args.quick)


if __name__ == "__main__":
    main()
