"""The job page: timeline, captured values, failures, artifacts, masked secrets."""

import pytest
from nicegui import ui
from waiting import eventually

from engine.bus import events
from engine.runner.records import JobRecorder
from engine.service.jobs import create_job, get_job
from engine.service.runbooks import add_runbook
from engine.store.db import session_scope
from engine.store.transitions import transition_job
from models import JobStatus
from pages.ui import job_page
from pages.ui.job_artifacts import preview_table
from pages.ui.job_timeline import timeline_rows

SECRET = "hunter2-very-secret"
MARKUP = "<img src=x onerror=alert(1)> <b>bold?</b>"
RUNBOOK = """
version: 1
name: page-check
title: Page check
settings: {base_url: SITE, timeout_ms: 400, retries: 1, screenshots: each_step}
params:
  who: {default: Ada}
secrets: [api_token]
steps:
  - name: open
    action: goto
    url: /comments
    capture:
      second: {selector: "li.comment >> nth=1"}
  - name: rows
    action: extract
    selector: li.comment
    fields: {text: ""}
    into: comments
  - {name: save, action: export, collection: comments, format: csv}
  - {name: login-form, action: goto, url: /form}
  - {name: type-token, action: fill, selector: "#name", value: "{{api_token}}"}
  - name: missing-banner
    action: click
    selector: "#cookie-banner button"
    continue_on_error: true
  - name: never
    action: click
    selector: "#nothing"
    when: {url: "*nowhere-at-all*"}
"""


@pytest.fixture
def finished_job(run_runbook, monkeypatch):
    """A real job run in real Chromium before the page is opened."""
    monkeypatch.setenv("JOBDECK_SECRET_API_TOKEN", SECRET)
    detail = run_runbook(RUNBOOK)
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    return detail


@pytest.mark.asyncio
async def test_timeline_shows_each_step_with_its_outcome(finished_job, user):
    await user.open(f"/jobs/{finished_job.job.id}")
    await user.should_see("Page check")
    for name in ("open", "rows", "save", "login-form", "type-token", "missing-banner",
                 "never"):
        await user.should_see(name)
    await user.should_see("Completed")
    await user.should_see("Worker")  # which process ran it
    await user.should_see(finished_job.job.worker_id)
    # the failed-but-allowed step is open with its error kind, message and candidates
    await user.should_see("element_not_found")
    await user.should_see("#cookie-banner button → no element matched")
    await user.should_see("1 retry")
    # metrics cards
    await user.should_see("Steps failed")
    await user.should_see("skipped")


@pytest.mark.asyncio
async def test_captured_markup_is_shown_as_text(finished_job, user):
    await user.open(f"/jobs/{finished_job.job.id}")
    await user.should_see("open")
    expansion = next(e for e in user.find(ui.expansion).elements
                     if e.props.get("data-step") == "open")
    expansion.value = True
    await eventually(lambda: _labels_with(user, MARKUP))
    # labels reach the browser as textContent; nothing on the page renders HTML
    with pytest.raises(AssertionError):
        user.find(ui.html)


def _labels_with(user, text: str) -> list:
    found = [e for e in user.find(ui.label).elements if e.text == text]
    assert found, f"no label shows {text!r}"
    return found


@pytest.mark.asyncio
async def test_artifacts_are_listed_and_the_export_previews(finished_job, user, settings):
    await user.open(f"/jobs/{finished_job.job.id}")
    await user.should_see("comments.csv")
    await user.should_see("after open")  # a per-step screenshot
    export = next(a for a in finished_job.artifacts if a.name == "comments.csv")
    header, rows, total = preview_table(settings.data_dir / export.path, export.media_type)
    assert header == ["text"] and total == 3
    assert rows[1] == [MARKUP]


@pytest.mark.asyncio
async def test_secrets_are_masked_and_never_shown(finished_job, user):
    await user.open(f"/jobs/{finished_job.job.id}")
    await user.should_see("api_token = ••••")
    await user.should_see("who = Ada")
    await user.should_not_see(SECRET)


def test_repeat_iterations_are_grouped_under_their_step(run_runbook):
    detail = run_runbook("""
        version: 1
        name: pages
        title: Pages
        settings: {base_url: SITE, timeout_ms: 1000, retries: 0}
        steps:
          - {name: first, action: goto, url: /quotes/page/1}
          - name: every-page
            action: repeat
            max: 3
            while: {exists: ".quote"}
            steps:
              - {name: read, action: extract, selector: .quote, fields: {text: .text}, into: q}
              - name: next
                action: click
                selector: li.next a
                when: {exists: "li.next a"}
        """)
    rows = timeline_rows([{"name": "first", "action": "goto"},
                          {"name": "every-page", "action": "repeat"},
                          {"name": "later", "action": "goto"}], detail.steps)
    assert [r["name"] for r in rows] == ["first", "every-page", "later"]
    assert rows[2]["run"] is None  # planned but not run: a pending row
    iterations = rows[1]["iterations"]
    assert sorted(iterations) == [1, 2, 3]
    assert [s.name for s in iterations[1]] == ["read", "next"]
    assert iterations[3][-1].status.value == "skipped"  # no next link on the last page


@pytest.mark.asyncio
async def test_a_confirmation_stays_open_while_the_job_moves_on(user):
    """The page redraws on every event of the job; an open "are you sure?" must survive it."""
    add_runbook("version: 1\nname: slow\ntitle: Slow one\nsteps:\n"
                "  - {name: open, action: goto, url: 'http://127.0.0.1:9/'}\n")
    job = create_job("slow")
    await user.open(f"/jobs/{job.id}")
    await user.should_see("Queued")
    user.find("Cancel job").click()
    await user.should_see("Cancel job: are you sure?")
    with session_scope() as session:  # what a worker does when it claims the job
        transition_job(session, job.id, JobStatus.running)
        event = events.record(session, events.JOB_STATUS, job.id, status="running")
    events.get_bus().publish(event)
    await user.should_see("Running")
    await user.should_see("Cancel job: are you sure?")
    user.find(marker="confirm-yes").click()
    await user.should_see("Cancelling: the running step is stopped")
    assert get_job(job.id).job.requested_action == "cancel"


@pytest.mark.asyncio
async def test_an_approval_requested_while_the_page_loads_is_shown(user, monkeypatch):
    """The worker may ask for approval after the page read the job and before it listens:
    the page must still show the request, not wait for an event that already passed."""
    add_runbook("version: 1\nname: ask\ntitle: Ask first\nsteps:\n"
                "  - {name: go, action: goto, url: 'http://127.0.0.1:9/', "
                "approval: {message: Go ahead?}}\n")
    job = create_job("ask")
    with session_scope() as session:
        transition_job(session, job.id, JobStatus.running)
    first_read = job_page.load_job

    def read_then_worker_asks(job_id, plan=None):
        view = first_read(job_id, plan)
        if plan is None:  # the page's first read: the worker asks right after it
            with session_scope() as session:
                transition_job(session, job_id, JobStatus.waiting_for_approval)
                waiting = events.record(session, events.JOB_STATUS, job_id,
                                        status="waiting_for_approval")
                asked = events.record(session, events.APPROVAL_REQUESTED, job_id, step="go",
                                      message="Go ahead?")
            events.get_bus().publish(waiting)
            events.get_bus().publish(asked)
        return view

    monkeypatch.setattr(job_page, "load_job", read_then_worker_asks)
    await user.open(f"/jobs/{job.id}")
    await user.should_see("Approval needed")
    await user.should_see("Go ahead?")


@pytest.mark.asyncio
async def test_the_action_buttons_stay_put_while_steps_go_by(user):
    """Steps finish several times a second; a redraw must not replace the button a person
    is about to click (a click on a replaced button is lost)."""
    add_runbook("version: 1\nname: busy\ntitle: Busy one\nsteps:\n"
                "  - {name: one, action: goto, url: 'http://127.0.0.1:9/'}\n"
                "  - {name: two, action: goto, url: 'http://127.0.0.1:9/'}\n")
    job = create_job("busy")
    with session_scope() as session:
        transition_job(session, job.id, JobStatus.running)
    await user.open(f"/jobs/{job.id}")
    await user.should_see("Running")
    [cancel] = user.find("Cancel job").elements
    recorder = JobRecorder(job.id, events.get_bus())  # what the worker records as it goes
    recorder.step_started("one", "goto", None)
    # the page has redrawn with the new step (an event, then a read: allow a loaded machine)
    await user.should_see("Current step", retries=50)
    assert not cancel.is_deleted
    user.find("Cancel job").click()
    await user.should_see("Cancel job: are you sure?")


@pytest.mark.asyncio
async def test_dialogs_tabs_and_warnings_are_shown_on_their_step(run_runbook, user):
    detail = run_runbook("""
        version: 1
        name: page-events
        title: Page events
        settings: {base_url: SITE, timeout_ms: 3000, screenshots: off}
        steps:
          - {action: goto, url: /dialogs}
          - {name: delete, action: click, selector: "#confirm"}
          - {action: goto, url: /tabs}
          - {name: popup, action: click, selector: "#popup"}
          - {name: settle, action: wait, ms: 500}
        """)
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    await user.open(f"/jobs/{detail.job.id}")
    await user.should_see("1 dialog · 1 warning")  # on the row, before it is opened
    await user.should_see("1 new tab · 1 warning")
    for name in ("delete", "popup", "settle"):  # a pop-up may open after its click ended
        next(e for e in user.find(ui.expansion).elements
             if e.props.get("data-step") == name).value = True
    await user.should_see('confirm "Delete item 42?" → dismiss')
    await user.should_see('/tabs/report?via=popup "Report tab"')
    warnings = [e.text for e in user.find(ui.label).elements if e.text.startswith("⚠")]
    assert any("dismissed" in w for w in warnings) and any("new_tab" in w for w in warnings)
