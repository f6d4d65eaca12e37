"""Approval steps: the job waits for a person, who approves or rejects; or nobody answers."""

import json
import threading
import time

from support import in_browser_thread, pixel_at, step

from engine.bus import events
from engine.service.job_actions import act
from engine.service.jobs import get_job
from models import ErrorKind, JobStatus, StepStatus

RUNBOOK = """
version: 1
name: approve-me
title: Approve me
settings: {base_url: SITE, approval_timeout_s: TIMEOUT, screenshots: off}
steps:
  - {name: open, action: goto, url: /download}
  - name: fetch
    action: download
    approval: {message: Download it?, risk: high}
    selector: "#download-report"
  - {name: after, action: wait, ms: 1}
"""


def test_approved_step_runs(run_runbook):
    asked = []
    detail = run_runbook(RUNBOOK.replace("TIMEOUT", "30"),
                         approver=lambda s: asked.append(s.approval) or "approve")
    assert asked == [{"message": "Download it?", "risk": "high"}]
    assert detail.job.status == JobStatus.completed
    assert step(detail, "fetch").status == StepStatus.success


def test_rejected_step_fails_the_job_and_skips_the_rest(run_runbook):
    detail = run_runbook(RUNBOOK.replace("TIMEOUT", "30"), approver=lambda s: "reject")
    assert detail.job.status == JobStatus.failed
    assert detail.job.error_kind == ErrorKind.approval_rejected
    assert step(detail, "fetch").error_kind == ErrorKind.approval_rejected
    assert step(detail, "after").status == StepStatus.skipped


def test_approval_from_elsewhere_while_the_job_waits(run_runbook):
    requested = []

    def on_event(event):
        if event.kind == events.APPROVAL_REQUESTED:
            requested.append(event)
            assert get_job(event.job_id).job.status == JobStatus.waiting_for_approval
            threading.Timer(0.2, act, (event.job_id, "approve")).start()

    unsubscribe = events.get_bus().subscribe(on_event)
    try:
        detail = run_runbook(RUNBOOK.replace("TIMEOUT", "30"))
    finally:
        unsubscribe()
    assert requested[0].data["message"] == "Download it?"
    assert requested[0].data["jpeg"][:2] == b"\xff\xd8"
    assert detail.job.status == JobStatus.completed


def test_unanswered_approval_times_out(run_runbook):
    started = time.monotonic()
    detail = run_runbook(RUNBOOK.replace("TIMEOUT", "1"))
    assert time.monotonic() - started < 10
    assert detail.job.error_kind == ErrorKind.approval_timeout
    assert "approval_timeout_s" in detail.job.error_message


def test_the_approval_screenshot_outlines_the_element_the_step_will_act_on(
        run_runbook, settings):
    detail = run_runbook("""
        version: 1
        name: outline
        title: Outline
        settings: {base_url: SITE, approval_timeout_s: 30, screenshots: off}
        steps:
          - name: open
            action: goto
            url: /ambiguous
            capture:
              box: {js: "JSON.stringify(document.querySelector('#unique').getBoundingClientRect())"}
          - {name: press, action: click, selector: "#unique", approval: {message: Press?}}
        """, approver=lambda s: "approve")
    box = json.loads(step(detail, "open").captures["box"])
    [shot] = [a for a in detail.artifacts if a.name == "approval press"]
    jpeg = (settings.data_dir / shot.path).read_bytes()
    red, green, blue = in_browser_thread(pixel_at, settings, jpeg, box["x"] - 4,
                                         box["y"] + box["height"] / 2)
    assert red > 200 and 40 < green < 140 and blue < 90, "the target is not outlined"
    assert detail.job.status == JobStatus.completed
