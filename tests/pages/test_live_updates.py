"""A watched job's page follows it cheaply: step events change their rows in place, a burst
of events is one or two reads of the job, and whoever shows a job's live view (a job page,
an event stream) tells the job's worker so while the job runs (events.VIEWING)."""

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import httpx
import pytest
from nicegui import ui
from playwright.sync_api import sync_playwright
from support import ADMIN_PASSWORD
from waiting import eventually

from engine.bus import events
from engine.runner.browser import find_browser, launch
from engine.runner.records import JobRecorder
from engine.service.jobs import create_job
from engine.service.runbooks import add_runbook
from engine.store.db import session_scope
from engine.store.transitions import transition_job
from models import JobStatus, StepStatus
from pages.api.events import _stream
from pages.ui import job_page, jobs_page, live

STEPS = ["one", "two", "three", "four", "five", "six", "seven", "eight"]
REPEAT_RUNBOOK = """version: 1
name: pages-loop
title: Pages loop
steps:
  - {name: first, action: goto, url: 'http://127.0.0.1:9/'}
  - name: every-page
    action: repeat
    max: 3
    while: {exists: .next}
    steps:
      - {name: read, action: goto, url: 'http://127.0.0.1:9/'}
"""


@pytest.fixture(autouse=True)
def _only_this_tests_pages():
    """Pages of earlier tests in this process would still follow events (and read the job
    that has their id in this test's database): NiceGUI's test reset drops its events'
    subscribers, but only those of events it knows, and live.job_events it forgets after
    the first test. These tests count reads, so they start without them."""
    live.job_events.callbacks.clear()


def running_job(yaml_text: str, name: str) -> int:
    """A job of `yaml_text` that a worker has just claimed (no worker runs it here: the
    tests record its steps as a worker would, with the worker's own recorder)."""
    add_runbook(yaml_text)
    job = create_job(name)
    with session_scope() as session:
        transition_job(session, job.id, JobStatus.running)
    assert job.id is not None
    return job.id


def steps_job() -> int:
    return running_job("version: 1\nname: eight-steps\ntitle: Eight steps\nsteps:\n" + "".join(
        f"  - {{name: {n}, action: goto, url: 'http://127.0.0.1:9/'}}\n" for n in STEPS),
        "eight-steps")


def rows(user, name: str) -> list[ui.expansion]:
    return [e for e in user.find(ui.expansion).elements if e.props.get("data-step") == name]


def shown_status(row: ui.expansion) -> str:
    """What the row's own status badge says (in its header; its details hold its children)."""
    return next(e.props["data-status"] for child in row.slots["header"]
                for e in child.descendants(include_self=True)
                if isinstance(e, ui.badge) and "data-status" in e.props)


def numbered_statuses(user, name: str) -> dict[str, str]:
    """The rows of a step by their number ("2.1." is iteration 2's first step): statuses."""
    return {labels_in(r.slots["header"].children[0])[0]: shown_status(r)
            for r in rows(user, name)}


def labels_in(element) -> list[str]:
    return [e.text for e in element.descendants() if isinstance(e, ui.label)]


def holds(predicate: Callable[[], bool]) -> Callable[[], None]:
    """A check for `eventually`."""
    def check() -> None:
        assert predicate()
    return check


def succeeded_metric(user) -> str:
    card = next(e for e in user.find(ui.card).elements
                if e.props.get("data-metric") == "metric-succeeded")
    return labels_in(card)[-1]


def watch_for_viewing(job_id: int) -> tuple[list[events.Event], Callable[[], None]]:
    seen: list[events.Event] = []
    unsubscribe = events.get_bus().subscribe(
        lambda e: seen.append(e) if e.kind == events.VIEWING and e.job_id == job_id else None)
    return seen, unsubscribe


@pytest.mark.asyncio
async def test_step_events_change_their_rows_in_place(user, monkeypatch):
    reads = []
    read = job_page.load_job
    monkeypatch.setattr(job_page, "load_job", lambda *a: reads.append(a) or read(*a))
    job_id = steps_job()
    await user.open(f"/jobs/{job_id}")
    await user.should_see("Running")
    [first] = rows(user, "one")
    drawn = {e.id for e in first.descendants(include_self=True)}
    await eventually(holds(lambda: len(reads) >= 2))  # caught up after its first read
    before = len(reads)

    recorder = JobRecorder(job_id, events.get_bus())  # what the worker records as it goes
    for name in STEPS:  # one step after the other, each shown before the next starts
        recorder.step_finished(recorder.step_started(name, "goto", None), StepStatus.success)
        await eventually(holds(lambda: shown_status(rows(user, name)[0]) == "success"))
    await eventually(holds(lambda: succeeded_metric(user) == str(len(STEPS))))  # read again
    assert len(reads) - before < len(STEPS), "each step read the job again"
    # the first row is the same element, its badge and labels too: nothing was drawn anew
    assert rows(user, "one") == [first] and not first.is_deleted
    assert {e.id for e in first.descendants(include_self=True)} == drawn


@pytest.mark.asyncio
async def test_a_live_frame_that_comes_too_soon_is_shown_late_not_dropped(user):
    """The page shows at most one frame per FRAME_INTERVAL_S; on a still page the frame that
    came too soon may be the only one showing what changed (a typed character), so it is
    shown when its turn comes."""
    job_id = steps_job()
    await user.open(f"/jobs/{job_id}")
    await user.should_see("Running")
    [image] = [e for e in user.find(ui.interactive_image).elements if "data-live" in e.props]
    bus = events.get_bus()
    for name in (b"first", b"second", b"third"):  # within one interval: only the last waits
        bus.publish(events.Event(events.SCREENSHOT, job_id, {"jpeg": name, "step": "one"}))
    shown = "data:image/jpeg;base64,{}"
    await eventually(holds(lambda: image.source == shown.format("dGhpcmQ=")))  # "third"
    await asyncio.sleep(job_page.FRAME_INTERVAL_S * 3)
    assert image.source == shown.format("dGhpcmQ=")  # and nothing older after it


@pytest.mark.asyncio
async def test_the_jobs_list_is_not_read_again_for_each_event(user, monkeypatch):
    reads = []
    read = jobs_page.load_view
    monkeypatch.setattr(jobs_page, "load_view", lambda *a: reads.append(a) or read(*a))
    job_id = steps_job()
    await user.open("/jobs")
    await eventually(holds(lambda: len(reads) >= 2))  # its first read, and the timer's
    before = len(reads)
    recorder = JobRecorder(job_id, events.get_bus())
    for name in STEPS:  # steps finish one after the other, each event handled on its own
        recorder.step_finished(recorder.step_started(name, "goto", None), StepStatus.success)
        await asyncio.sleep(0.05)
    recorder.job_finished(JobStatus.completed)

    def shows_completed() -> None:
        [row] = user.find(marker="jobs").elements.pop().rows
        assert row["status"] == "completed" and row["progress"] == "8 of 8 steps"

    await eventually(shows_completed)
    assert len(reads) - before < len(STEPS), "each event read the list again"


@pytest.mark.asyncio
async def test_repeat_iterations_show_under_their_step_as_they_come(user):
    job_id = running_job(REPEAT_RUNBOOK, "pages-loop")
    await user.open(f"/jobs/{job_id}")
    await user.should_see("Running")
    [first] = rows(user, "first")
    recorder = JobRecorder(job_id, events.get_bus())
    recorder.step_finished(recorder.step_started("first", "goto", None), StepStatus.success)
    loop = recorder.step_started("every-page", "repeat", None)
    read = recorder.step_started("read", "goto", None, loop.id, 1)
    recorder.step_finished(read, StepStatus.success)

    def first_iteration_shown() -> None:
        [loop_row] = rows(user, "every-page")
        assert shown_status(loop_row) == "running"
        assert "Iteration 1" in labels_in(loop_row)
        assert numbered_statuses(user, "read") == {"1.1.": "success"}

    await eventually(first_iteration_shown)
    read = recorder.step_started("read", "goto", None, loop.id, 2)
    recorder.step_finished(read, StepStatus.failed, error_kind="element_not_found",
                           error_message="no page 2")
    recorder.step_finished(loop, StepStatus.success)

    def both_shown() -> None:
        [loop_row] = rows(user, "every-page")
        assert shown_status(loop_row) == "success"
        assert "Iteration 2" in labels_in(loop_row)
        assert numbered_statuses(user, "read") == {"1.1.": "success", "2.1.": "failed"}
        assert "no page 2" in labels_in(loop_row)  # the failed step, with its error

    await eventually(both_shown)
    assert rows(user, "first") == [first] and not first.is_deleted


@pytest.mark.asyncio
async def test_an_open_job_page_says_it_watches_until_the_job_ends(user, monkeypatch):
    monkeypatch.setattr(events, "VIEWING_EVERY_S", 0.1)
    reads = []
    read = job_page.load_job
    monkeypatch.setattr(job_page, "load_job", lambda *a: reads.append(a) or read(*a))
    job_id = steps_job()
    seen, unsubscribe = watch_for_viewing(job_id)
    try:
        await user.open(f"/jobs/{job_id}")
        await eventually(holds(lambda: len(seen) >= 3))  # it says so, and says it again
        # Another viewer's VIEWING is no change to the job: the page does not read it again.
        await eventually(holds(lambda: len(reads) >= 2))
        before = len(reads)
        for _ in range(10):
            events.get_bus().publish(events.Event(events.VIEWING, job_id))
        await asyncio.sleep(2 * job_page.RELOAD_EVERY_S)
        assert len(reads) == before

        JobRecorder(job_id, events.get_bus()).job_finished(JobStatus.completed)
        await user.should_see("Completed")
        await asyncio.sleep(0.3)  # a call under way when the status came may still publish
        said = len(seen)
        await asyncio.sleep(5 * events.VIEWING_EVERY_S)
        assert len(seen) == said, "the page still says it watches a finished job"
    finally:
        unsubscribe()


@pytest.mark.asyncio
async def test_a_closed_job_page_stops_saying_it_watches(user, monkeypatch):
    monkeypatch.setattr(events, "VIEWING_EVERY_S", 0.1)
    job_id = steps_job()
    seen, unsubscribe = watch_for_viewing(job_id)
    try:
        client = await user.open(f"/jobs/{job_id}")
        await eventually(holds(lambda: len(seen) >= 2))
        client.delete()  # what NiceGUI does once the tab is gone for its reconnect timeout
        await asyncio.sleep(2 * events.VIEWING_EVERY_S)
        said = len(seen)
        await asyncio.sleep(5 * events.VIEWING_EVERY_S)
        assert len(seen) == said
    finally:
        unsubscribe()


@pytest.mark.asyncio
async def test_an_event_stream_is_a_viewer_whose_client_sees_no_viewing(runtime, monkeypatch):
    monkeypatch.setattr(events, "VIEWING_EVERY_S", 0.1)
    add_runbook("version: 1\nname: streamed\ntitle: Streamed\nsteps:\n"
                "  - {name: open, action: goto, url: 'http://127.0.0.1:9/'}\n")
    job = create_job("streamed")
    assert job.id is not None
    seen, unsubscribe = watch_for_viewing(job.id)
    stream = _stream(job.id, 0)
    assert (await anext(stream))["event"] == events.JOB_STATUS  # queued, from the record
    waiting = asyncio.ensure_future(anext(stream))
    try:
        await eventually(holds(lambda: len(seen) >= 3))  # a queued job's stream watches, repeatedly
        bus = events.get_bus()
        bus.publish(events.Event(events.VIEWING, job.id))  # another viewer's
        recorder = JobRecorder(job.id, bus)
        recorder.set_status(JobStatus.running)
        assert json.loads((await asyncio.wait_for(waiting, 5))["data"])["status"] == "running"
        recorder.job_finished(JobStatus.completed)
        with session_scope() as session:
            bus.publish(events.record(session, events.JOB_FINISHED, job.id, status="completed"))
        rest = [message["event"] async for message in stream]
        assert rest == [events.JOB_STATUS, events.JOB_FINISHED]  # and no viewing
        said = len(seen)
        await asyncio.sleep(5 * events.VIEWING_EVERY_S)
        assert len(seen) == said  # an ended stream says nothing more
    finally:
        unsubscribe()
        waiting.cancel()


SLOW_STEPS = ["s1", "s2", "s3", "s4", "s5"]
BROWSER_RUNBOOK = "\n".join([
    "version: 1", "name: live-rows", "title: Rows in place",
    "settings: {base_url: SITE, timeout_ms: 10000, retries: 0, screenshots: off}", "steps:",
    '  - {name: warm-up, action: goto, url: "/slow?seconds=2"}',
    *[f'  - {{name: {n}, action: goto, url: "/slow?seconds=0.2"}}' for n in SLOW_STEPS], ""])


@pytest.mark.slow
def test_in_chromium_rows_stay_the_same_nodes_while_steps_finish(console, site, settings):
    """The real console and browser: the first row's DOM node, tagged before the steps ran,
    is still there when all of them show success (a redraw would make new nodes)."""
    with console.client(timeout=30) as api:
        api.post("/api/runbooks", content=BROWSER_RUNBOOK.replace("SITE", site),
                 headers={"Content-Type": "application/x-yaml"}).raise_for_status()
        job_id = api.post("/api/runbooks/live-rows/jobs", json={}).json()["id"]
        deadline = time.monotonic() + 60
        while api.get(f"/api/jobs/{job_id}").json()["status"] != "running":
            assert time.monotonic() < deadline, "the job did not start"
            time.sleep(0.05)
        api.post(f"/api/jobs/{job_id}/pause").raise_for_status()  # obeyed after the warm-up

    def scenario():
        signed = httpx.post(f"{console}/login", headers={"Origin": str(console)},
                            data={"name": "admin", "password": ADMIN_PASSWORD})
        with sync_playwright() as playwright:
            browser = launch(playwright, find_browser(settings.browser_path))
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.add_cookies([{"name": name, "value": value, "url": str(console)}
                                 for name, value in signed.cookies.items()])
            page = context.new_page()
            page.goto(f"{console}/jobs/{job_id}")
            page.locator('[data-job-status="paused"]').wait_for(timeout=30_000)
            page.evaluate("document.querySelector('[data-step=\"s1\"]').kept = true")
            httpx.post(f"{console}/api/jobs/{job_id}/resume",
                       headers=console.headers).raise_for_status()
            page.locator('[data-job-status="completed"]').wait_for(timeout=30_000)
            statuses = [page.locator(f'[data-step="{n}"] [data-status]').first
                        .get_attribute("data-status") for n in SLOW_STEPS]
            kept = page.evaluate("document.querySelector('[data-step=\"s1\"]').kept === true")
            browser.close()
            return statuses, kept

    # a thread of its own: Playwright's sync API leaves an event loop in the thread it ran in
    with ThreadPoolExecutor(1) as thread:
        statuses, kept = thread.submit(scenario).result()
    assert statuses == ["success"] * len(SLOW_STEPS)
    assert kept, "the timeline was drawn anew"
