"""A job's figures (docs/console.md, "What the figures mean"): the same numbers on the job's
row, in the API's summary, the report, the events, the job page, the jobs list and the CLI's
line; right while the job runs; a repeat counts as one step; a cancel is not a failure."""

import io
import threading
import time

from rich.console import Console
from sqlmodel import select
from support import step

from engine.bus import events
from engine.cli.run import _print_report
from engine.service.job_actions import act
from engine.service.jobs import get_job
from engine.service.report import build_report, job_summary, progress_text
from engine.store.db import session_scope
from models import ErrorKind, Job, JobStatus, StepRun, StepStatus
from pages.ui.job_metrics import metric_values
from pages.ui.jobs_page import job_row

WAIT_S = 1.0  # how long the approver takes in the mixed job

MIXED = """
version: 1
name: figures
title: Figures
settings: {base_url: SITE, timeout_ms: 200, retries: 0, approval_timeout_s: 60,
           screenshots: off}
steps:
  - {name: open, action: goto, url: /}
  - name: loop
    action: repeat
    max: 3
    while: {exists: body}
    steps:
      - {name: tick, action: wait, ms: 1}
      - {name: poke, action: click, selector: "#missing", retries: 1, continue_on_error: true}
  - {name: maybe, action: click, selector: "#nothing", when: {url: "*nowhere*"}}
  - {name: banner, action: click, selector: "#banner", retries: 1, continue_on_error: true}
  - {name: confirm, action: wait, ms: 1, approval: {message: Go on?}}
  - {name: last, action: assert, title: Jobdeck demo site}
"""
# By hand: 6 top-level steps, all reached; open, loop, confirm, last succeeded; banner
# failed; maybe skipped. Retries: banner's 1 and poke's 1 in each of 3 iterations.
FINAL = {"steps_succeeded": 4, "steps_failed": 1, "steps_skipped": 1, "steps_cancelled": 0,
         "retry_count": 4}


def figures_of(job: Job) -> dict:
    return {"steps_done": job.steps_done, "steps_succeeded": job.steps_succeeded,
            "steps_failed": job.steps_failed, "steps_skipped": job.steps_skipped,
            "steps_cancelled": job.steps_cancelled, "retry_count": job.retry_count}


def without_duration(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k != "duration_ms"}


def cli_line(report: dict) -> str:
    out = io.StringIO()
    _print_report(Console(file=out, width=300, color_system=None), report)
    return out.getvalue()


def run_mixed_job(run_runbook) -> tuple:
    """The mixed job; what was seen while it waited for approval, and its events."""
    seen: dict = {}
    published: list[events.Event] = []

    def look_then_approve(job_id: int) -> None:
        job = get_job(job_id).job
        seen.update(summary=job_summary(job), row=job_row(job), cards=metric_values(job))
        time.sleep(WAIT_S)
        act(job_id, "approve", by="ann")

    def on_event(event: events.Event) -> None:
        published.append(event)
        if event.kind == events.APPROVAL_REQUESTED:
            threading.Thread(target=look_then_approve, args=(event.job_id,)).start()

    unsubscribe = events.get_bus().subscribe(on_event)
    try:
        detail = run_runbook(MIXED)
    finally:
        unsubscribe()
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    return detail, seen, published


# One job run for all of these (a real job takes seconds): sections, not separate tests.
def test_a_mixed_job_shows_the_same_figures_everywhere_while_and_after_it_runs(
        run_runbook, settings):
    detail, seen, published = run_mixed_job(run_runbook)
    job = detail.job

    # while it waited for approval: the steps that had ended were counted already
    summary = seen["summary"]
    assert summary["status"] == "waiting_for_approval"
    assert summary["current_step"] == "confirm"  # the step awaited, not the one before
    assert without_duration(summary["metrics"]) == {**FINAL, "steps_succeeded": 2}
    assert summary["metrics"]["duration_ms"] > 0  # counting
    assert summary["steps_done"] == 4
    assert seen["row"]["progress"] == "step 5 of 6" and seen["row"]["retries"] == 4
    assert seen["cards"]["metric-succeeded"] == "2" and seen["cards"]["metric-retries"] == "4"
    assert seen["cards"]["metric-progress"] == "5 of 6"  # the step it is at

    # at the end: the row, the API's summary, the report, the events, the list, the page
    # and the CLI agree with the hand count
    assert figures_of(job) == {"steps_done": 6, **FINAL}
    summary = job_summary(job)
    assert without_duration(summary["metrics"]) == FINAL
    assert (summary["steps_done"], summary["step_count"]) == (6, 6)
    report = build_report(job.id, settings.data_dir)
    assert report is not None and report["metrics"] == summary["metrics"]
    [finished] = [e for e in published if e.kind == events.JOB_FINISHED]
    assert finished.data["metrics"] == summary["metrics"]
    last = [e for e in published if e.kind == events.STEP_FINISHED][-1].data
    assert (last["steps_done"], last["metrics"]) == (6, FINAL)  # already final
    assert "6 of 6 steps · 4 succeeded · 1 failed · 1 skipped · 4 retries" in cli_line(report)
    assert progress_text(job) == job_row(job)["progress"] == "6 of 6 steps"
    assert job_row(job)["retries"] == 4
    cards = metric_values(job)
    assert (cards["metric-succeeded"], cards["metric-failed"], cards["metric-skipped"],
            cards["metric-retries"], cards["metric-progress"]) == ("4", "1", "1", "4", "6 of 6")

    # the repeat counted once; its nested runs are still there with their own outcomes
    loop = step(detail, "loop")
    nested = [s for s in detail.steps if s.parent_id == loop.id]
    assert loop.status == StepStatus.success and len(nested) == 6
    assert [s.status for s in nested].count(StepStatus.failed) == 3

    # durations: none for a skipped step; an approval step's includes the wait
    assert step(detail, "maybe").status == StepStatus.skipped
    assert step(detail, "maybe").duration_ms is None
    reported = {s["name"]: s for s in report["steps"]}
    assert reported["maybe"]["duration_ms"] is None
    [confirm] = [s for s in detail.steps if s.name == "confirm"]
    assert confirm.status == StepStatus.success
    assert confirm.duration_ms >= WAIT_S * 1000


SLOW = """
version: 1
name: cancel-figures
title: Cancel figures
settings: {base_url: SITE, timeout_ms: 60000, retries: 0, screenshots: off}
steps:
  - {name: first, action: wait, ms: 1}
  - {name: slow, action: goto, url: "/slow?seconds=30"}
  - {name: after, action: goto, url: /table}
  - {name: last, action: wait, ms: 1}
"""


def _running_step(name: str) -> StepRun | None:
    with session_scope() as session:
        return session.exec(select(StepRun).where(
            StepRun.name == name, StepRun.status == StepStatus.running)).first()


def test_a_step_stopped_by_cancel_is_cancelled_not_failed(run_runbook, settings):
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(detail=run_runbook(SLOW)))
    thread.start()
    deadline = time.monotonic() + 30
    while (running := _running_step("slow")) is None:
        assert time.monotonic() < deadline, "the slow step never started"
        time.sleep(0.05)
    act(running.job_id, "cancel", by="ann")
    thread.join(60)
    detail = result["detail"]
    assert detail.job.status == JobStatus.cancelled
    slow = step(detail, "slow")
    assert (slow.status, slow.error_kind) == (StepStatus.cancelled, ErrorKind.cancelled.value)
    assert figures_of(detail.job) == {"steps_done": 2, "steps_succeeded": 1, "steps_failed": 0,
                                      "steps_skipped": 2, "steps_cancelled": 1,
                                      "retry_count": 0}
    assert job_row(detail.job)["progress"] == "2 of 4 steps"  # reached: first and slow
    report = build_report(detail.job.id, settings.data_dir)
    assert "2 of 4 steps · 1 succeeded · 0 failed · 2 skipped · 1 cancelled" in cli_line(report)
    never = step(detail, "after")
    assert never.status == StepStatus.skipped and never.started_at is None
    assert never.duration_ms is None


def test_a_job_that_failed_at_its_first_step_reached_one(run_runbook):
    detail = run_runbook("""
        version: 1
        name: fails-first
        title: Fails first
        settings: {base_url: SITE, timeout_ms: 200, retries: 0, screenshots: off}
        steps:
          - {name: broken, action: click, selector: "#missing"}
          - {name: b, action: wait, ms: 1}
          - {name: c, action: wait, ms: 1}
          - {name: d, action: wait, ms: 1}
        """)
    assert detail.job.status == JobStatus.failed
    assert job_row(detail.job)["progress"] == "1 of 4 steps"
    assert figures_of(detail.job) == {"steps_done": 1, "steps_succeeded": 0, "steps_failed": 1,
                                      "steps_skipped": 3, "steps_cancelled": 0,
                                      "retry_count": 0}
