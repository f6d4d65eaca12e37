"""How fast the console answers while its workers are busy: 200 jobs queued, 2 running.

Run from the repo root:  python bench/console_under_load.py [--seconds S] [--rounds N] [--quick]

1. A real console (`python main.py`, 2 jobs at once), with its workers in a worker process
   of their own (the default), and as threads of the console's own process
   (`JOBDECK_WORKERS_IN_PROCESS=true`, how it ran before), alternating (--rounds each).
2. Idle first: the job list (GET /api/jobs, the 25 newest) and one job (GET
   /api/jobs/{id}) are read in turn, 50 times.
3. Then 200 jobs of the shipped quotes-export example are queued through the API, and
   while 2 of them run, the same reads go on for S seconds (30; --quick 10): once with no
   one watching, once while an SSE stream follows a running job (someone watching its live
   view: its worker streams frames, which cross to the console and on to the stream).
4. Prints p50 and p95 of the reads of all rounds, idle and busy, and the jobs finished
   meanwhile, and puts them into docs/benchmarks.md's table (--quick: prints only).
"""

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import httpx
from console_process import headers, start_console, stop_console
from report import Figure, publish

QUEUED = 200


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def reads(client: httpx.Client, job_id: int, until) -> list[float]:
    """Milliseconds of each read (job list, one job, in turn) until `until()` is true."""
    times = []
    while not until():
        for path in ("/api/jobs?limit=25", f"/api/jobs/{job_id}"):
            began = time.perf_counter()
            client.get(path).raise_for_status()
            times.append((time.perf_counter() - began) * 1000)
    return times


def watch_running_jobs(url: str, stop: threading.Event, frames: list[int]) -> None:
    """Keep an SSE stream open on a running job, as someone watching it live would; count
    the live frames it gets."""
    with httpx.Client(base_url=url, headers=headers(url), timeout=120) as client:
        while not stop.is_set():
            running = client.get("/api/jobs?status=running&limit=1").json()["items"]
            if not running:
                time.sleep(0.1)
                continue
            with client.stream("GET", f"/api/jobs/{running[0]['id']}/events") as stream:
                for line in stream.iter_lines():
                    frames[0] += line == "event: screenshot"
                    if stop.is_set():
                        return


def measure(seconds: float, in_process: bool, watched: bool) -> dict:
    env = {"JOBDECK_WORKERS": "2", "JOBDECK_WORKERS_IN_PROCESS": str(in_process).lower(),
           "JOBDECK_LOG_LEVEL": "WARNING"}
    with tempfile.TemporaryDirectory(prefix="jobdeck-bench-") as tmp:
        process, url = start_console(Path(tmp) / "data", **env)
        try:
            with httpx.Client(base_url=url, headers=headers(url), timeout=120) as client:
                site = {"params": {"site": f"{url}/demo"}}
                first = client.post("/api/runbooks/quotes-export/jobs", json=site).json()["id"]
                while client.get(f"/api/jobs/{first}").json()["status"] != "completed":
                    time.sleep(0.2)  # the workers and their browsers are up
                count = iter(range(50))
                idle = reads(client, first, lambda: next(count, None) is None)
                for _ in range(QUEUED):
                    client.post("/api/runbooks/quotes-export/jobs", json=site)
                while client.get("/api/jobs?status=running").json()["total"] < 2:
                    time.sleep(0.1)
                done_before = client.get("/api/jobs?status=completed").json()["total"]
                stop, frames = threading.Event(), [0]
                if watched:
                    threading.Thread(target=watch_running_jobs, args=(url, stop, frames),
                                     daemon=True).start()
                deadline = time.monotonic() + seconds
                busy = reads(client, first, lambda: time.monotonic() > deadline)
                stop.set()
                counts = {s: client.get(f"/api/jobs?status={s}").json()["total"]
                          for s in ("completed", "running", "queued")}
        finally:
            stop_console(process)
    return {"idle": idle, "busy": busy, "finished": counts["completed"] - done_before,
            "frames": frames[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="one round of 10 s; print only")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds = 10.0, 1
    shapes = {"a worker process": False, "threads of the console": True}
    cases = [(shape, watched) for watched in (False, True) for shape in shapes]
    results: dict[tuple, dict] = {c: {"idle": [], "busy": [], "finished": 0, "frames": 0}
                                  for c in cases}
    for _ in range(args.rounds):  # alternating, so the machine's drift hits all alike
        for shape, watched in cases:
            measured = measure(args.seconds, shapes[shape], watched)
            for key in ("idle", "busy", "finished", "frames"):
                results[shape, watched][key] += measured[key]
    figures = []
    for (shape, watched), r in results.items():
        seen = (f", someone watching (SSE: {r['frames']} live frames)" if watched
                else ", no one watching")
        figures.append(Figure(
            f"API reads (job list, one job) while {QUEUED} jobs are queued and 2 run{seen}; "
            f"workers in {shape}: p50 / p95 of {len(r['busy'])} reads in {args.rounds} × "
            f"{args.seconds:.0f} s ({r['finished']} jobs finished meanwhile)",
            f"{statistics.median(r['busy']):.0f} ms / {percentile(r['busy'], 95):.0f} ms",
            f"{min(r['busy']):.0f}–{max(r['busy']):.0f} ms",
            ratio=f"idle: {statistics.median(r['idle']):.0f} ms / "
                  f"{percentile(r['idle'], 95):.0f} ms"))
    for index, watched in ((0, False), (2, True)):
        threads, process = (percentile(results[s, watched]["busy"], 95)
                            for s in ("threads of the console", "a worker process"))
        figures[index].ratio += f"; p95 threads / process {threads / process:.2f}"
    command = "python bench/console_under_load.py" + (" --quick" if args.quick else "")
    publish("console_under_load", command, figures, quick=args.quick)


if __name__ == "__main__":
    main()
