"""A long value (a 5 MB capture, a 5 MB cell of an export) is shown in the console as a
readable excerpt, never whole."""

import pytest
from nicegui import ui
from waiting import eventually

from engine.bus import events
from engine.limits import EXCERPT_CHARS, excerpt
from engine.runner.records import JobRecorder
from engine.service.jobs import create_job
from engine.service.runbooks import add_runbook
from engine.store.db import session_scope
from engine.store.transitions import transition_job
from models import JobStatus, StepStatus
from pages.ui.job_artifacts import preview_table

FIVE_MB = "x" * (5 * 1024 * 1024)


@pytest.mark.asyncio
async def test_the_timeline_shows_an_excerpt_of_a_5_mb_capture(user):
    add_runbook("version: 1\nname: big\ntitle: Big capture\nsteps:\n"
                "  - {name: read, action: wait, ms: 0}\n")
    job = create_job("big")
    with session_scope() as session:
        transition_job(session, job.id, JobStatus.running)
    recorder = JobRecorder(job.id, events.get_bus())  # what the worker records
    step = recorder.step_started("read", "wait", None)
    recorder.step_finished(step, StepStatus.success, captures={"page": FIVE_MB},
                           error_message="expected " + FIVE_MB)
    recorder.job_finished(JobStatus.completed)

    await user.open(f"/jobs/{job.id}")
    await user.should_see("Big capture")
    next(e for e in user.find(ui.expansion).elements
         if e.props.get("data-step") == "read").value = True
    shown = excerpt(FIVE_MB)

    def capture_label():
        [label] = [e for e in user.find(ui.label).elements if e.props.get("data-capture")]
        return label
    await eventually(capture_label)
    assert capture_label().text == shown
    assert shown.endswith(f"… ({len(FIVE_MB) - EXCERPT_CHARS} more characters)")
    assert max(len(e.text) for e in user.find(ui.label).elements) < 2 * EXCERPT_CHARS


def test_an_export_preview_shows_an_excerpt_of_a_5_mb_cell(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text(f"id,text\r\n1,{FIVE_MB}\r\n2,short\r\n", encoding="utf-8")
    header, rows, total = preview_table(path, "text/csv")
    assert header == ["id", "text"] and total == 2
    assert rows == [["1", excerpt(FIVE_MB)], ["2", "short"]]
