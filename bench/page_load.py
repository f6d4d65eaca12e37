"""How fast the job page appears beside the jobs list (bench/console_live.py's section 5).

A console of its own (2 workers) runs 24 one-step jobs (so the jobs list shows a full page
of 25) and a 20-step job (one step a repeat of 3 iterations; a screenshot after each step,
captures, an export). The list and that job's page are opened in turn in fresh tabs of one
signed-in context (a warm cache, as when one clicks about), N times each, idle and then
while 2 long jobs run ("a busy machine"). Per load, from the navigation's start: the HTML's
end (Navigation Timing), first contentful paint, and time to content: when the first frame
that shows the list's first row, or the job's first timeline row, had been drawn. For the
job page also when its artifacts list shows (drawn after the rest).
"""

import statistics
import tempfile
import time
from pathlib import Path

from console_process import (
    add_runbook,
    cancel_job,
    signed_in_context,
    start_console,
    start_job,
    stop_console,
    wait_finished,
    wait_status,
)
from report import Figure, spread

PAGE_RUNBOOK = "\n".join([  # 20 steps (one a repeat), a screenshot after each, an export
    "version: 1", "name: bench-page", "title: Twenty steps to read back",
    "settings: {base_url: URL/demo, timeout_ms: 10000, retries: 0}",
    "steps:", "  - {name: open, action: goto, url: /quotes/page/1}",
    "  - name: pages", "    action: repeat", "    max: 3", '    while: {exists: ".quote"}',
    "    steps:",
    "      - {name: quotes, action: extract, selector: .quote, fields: {text: .text, "
    "author: .author}, into: quotes}",
    '      - {name: next, action: click, selector: "li.next a", when: {exists: "li.next a"}}',
    *[f"  - {{name: t{i:02d}, action: wait, ms: 20, "
      f'capture: {{c{i:02d}: {{js: "document.title"}}}}}}' for i in range(1, 18)],
    "  - {name: export, action: export, collection: quotes, format: csv}", ""])
QUICK_RUNBOOK = """version: 1
name: bench-quick
title: One quick step
settings: {base_url: URL/demo, timeout_ms: 10000, retries: 0, screenshots: off}
steps:
  - {name: open, action: goto, url: /table}
"""
BUSY_RUNBOOK = """version: 1
name: bench-busy
title: Keeps a worker busy
settings: {base_url: URL/demo, timeout_ms: 10000, retries: 0}
steps:
  - name: loop
    action: repeat
    max: 1000
    until: {exists: "#never"}
    steps:
      - {name: visit, action: goto, url: "/animated?ms=300"}
      - {name: pause, action: wait, ms: 200}
"""
# Notes, in each new tab, when the first frame that shows the page's content, and the job
# page's artifacts, had been drawn (the next frame's start).
CONTENT_WATCH = """(() => {
  const job = /^\\/jobs\\/\\d+/.test(location.pathname);
  const watch = (marker, name) => {
    const look = () => {
      const el = document.querySelector(marker);
      if (!el || el.getBoundingClientRect().height === 0) requestAnimationFrame(look);
      else requestAnimationFrame(() => { window[name] = performance.now(); });
    };
    requestAnimationFrame(look);
  };
  const row = '.jobs-table tbody tr [data-status]';
  watch(job ? '[data-step]' : row, 'content_at');
  watch(job ? '[data-artifact]' : row, 'all_at');
})();"""
LOAD_TIMES = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  return {html: nav.responseEnd, paint: fcp.startTime,
          content: window.content_at, all: window.all_at, kb: nav.decodedBodySize / 1024};
}"""


def timed_loads(context, url: str, paths: list[str], rounds: int) -> dict[str, list[dict]]:
    """Each path opened `rounds` times in a fresh tab, in turn (the order swaps each round)."""
    loads: dict[str, list[dict]] = {path: [] for path in paths}
    for index in range(rounds):
        for path in paths if index % 2 == 0 else paths[::-1]:
            page = context.new_page()
            page.goto(url + path)
            page.wait_for_function("window.content_at && window.all_at && performance"
                                   ".getEntriesByName('first-contentful-paint').length",
                                   timeout=60_000)
            loads[path].append(page.evaluate(LOAD_TIMES))
            page.close()
    return loads


def page_load(browser, rounds: int) -> dict[str, dict[str, list[dict]]]:
    """{"idle"/"busy": {path: [LOAD_TIMES of each load]}} (ms from the navigation's start)."""
    with tempfile.TemporaryDirectory(prefix="jobdeck-bench-") as tmp:
        process, url = start_console(Path(tmp) / "data", JOBDECK_WORKERS="2")
        try:
            for runbook in (PAGE_RUNBOOK, QUICK_RUNBOOK, BUSY_RUNBOOK):
                add_runbook(url, runbook.replace("URL", url))
            earlier = [start_job(url, "bench-quick") for _ in range(24)]  # a full list page
            job_id = start_job(url, "bench-page")
            for earlier_id in earlier:
                wait_finished(url, earlier_id)
            if wait_finished(url, job_id)["status"] != "completed":
                raise RuntimeError(f"the 20-step job {job_id} did not complete")
            paths = ["/jobs", f"/jobs/{job_id}"]
            context = signed_in_context(browser, url, viewport={"width": 1280, "height": 900})
            context.add_init_script(CONTENT_WATCH)
            timed_loads(context, url, paths, 1)  # warm-up: the first start of each page
            loads = {"idle": timed_loads(context, url, paths, rounds)}
            busy = [start_job(url, "bench-busy") for _ in range(2)]
            for busy_id in busy:
                wait_status(url, busy_id, "running")
            time.sleep(3)  # both into their loop of steps
            loads["busy"] = timed_loads(context, url, paths, rounds)
            for busy_id in busy:
                cancel_job(url, busy_id)
            for busy_id in busy:
                wait_finished(url, busy_id)
            context.close()
        finally:
            stop_console(process)
    return loads


def load_figures(loads: dict[str, dict[str, list[dict]]]) -> list[Figure]:
    """The job page beside the jobs list; the target is on what a person sees appear (the
    HTML's time is reported: the job page reads more than the list)."""
    figures = []
    for state, by_path in loads.items():
        (_, the_list), (_, the_job) = by_path.items()
        for key, what, has_target in (("html", "HTML received", False),
                                      ("paint", "first contentful paint", True),
                                      ("content", "time to content", True)):
            job = statistics.median(t[key] for t in the_job)
            jobs = statistics.median(t[key] for t in the_list)
            figures.append(Figure(
                f"Page load, {state}{' (2 jobs running)' if state == 'busy' else ''}: "
                f"{what}, job page of a finished 20-step job vs the jobs list; "
                f"{len(the_job)} loads each, alternating",
                f"{job:.0f} ms vs {jobs:.0f} ms",
                f"{spread([t[key] for t in the_job], '{:.0f}')} vs "
                f"{spread([t[key] for t in the_list], '{:.0f}')}",
                "≤ 1.5× the jobs list" if has_target else "",
                f"{job / jobs:.2f} job page / list", met=job / jobs <= 1.5 if has_target else None))
        shown = [t["all"] for t in the_job]
        figures.append(Figure(
            f"Page load, {state}: the job page's artifacts list shown (drawn after the "
            f"rest of the page); {len(shown)} loads", f"{statistics.median(shown):.0f} ms",
            spread(shown, "{:.0f}")))
    return figures
