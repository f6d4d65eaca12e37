"""The Schedules pages: create with params and a live preview, edit in place, see the next
runs, switch off, delete after confirming; a page per schedule; the scheduler's status."""

from datetime import timedelta

import pytest
from conftest import sign_in
from nicegui import ui
from waiting import eventually

from engine.background.scheduler import release_lock, take_lock
from engine.service import jobs, schedule_firing, schedules
from engine.service.runbooks import add_runbook
from engine.store.db import session_scope
from models import Job, JobStatus, utcnow
from pages.ui.schedules_page import zoned_time

pytestmark = pytest.mark.asyncio
RUNBOOK = "version: 1\nname: nightly\ntitle: Nightly\nsteps: [{action: goto, url: 'http://127.0.0.1:9/'}]\n"
GREET = """version: 1
name: greet
title: Greet
params:
  who: {description: Whom to greet, required: true}
  greeting: {default: Hello}
steps: [{action: goto, url: 'http://127.0.0.1:9/'}]
"""
UPLOAD = """version: 1
name: upload
title: Upload
params:
  photo: {type: file, description: A picture}
steps: [{action: goto, url: 'http://127.0.0.1:9/'}]
"""


def labels(user) -> list[str]:
    return [e.text for e in user.find(ui.label).elements]


def _assert(condition: bool) -> None:
    assert condition


def one(user, marker: str):
    found = user.find(marker=marker).elements
    assert len(found) == 1, f"{len(found)} elements marked {marker}"
    return next(iter(found))


async def test_create_a_schedule_with_a_preview(user):
    add_runbook(RUNBOOK)
    await user.open("/schedules")
    await user.should_see("No schedules yet")
    user.find("New schedule").click()
    await user.should_see("Next runs:")
    user.find(marker="schedule-cron").clear().type("61 * * * *")
    await user.should_see('invalid cron expression "61 * * * *"')
    user.find(marker="schedule-cron").clear().type("30 2 * * *")
    await user.should_see("Next runs:")
    user.find(marker="schedule-save").click()
    await user.should_see("Schedule saved")
    await user.should_see("cron 30 2 * * *", retries=5)
    [schedule] = schedules.list_schedules()
    assert schedules.pending_job(schedule.id) is not None
    assert schedule.overlap.value == "skip"  # the default
    await user.should_see("next run")


async def test_new_schedule_asks_for_the_runbooks_params(user):
    add_runbook(RUNBOOK)
    add_runbook(GREET)
    await user.open("/schedules")
    user.find("New schedule").click()
    await user.should_see(marker="param-who")  # "greet" comes first
    one(user, "schedule-runbook").value = "nightly"  # the fields follow the runbook
    await user.should_see("This runbook takes no parameters.")
    await user.should_not_see(marker="param-who")
    one(user, "schedule-runbook").value = "greet"
    await user.should_see(marker="param-who")
    await user.should_not_see("This runbook takes no parameters.")
    assert one(user, "param-greeting").value == "Hello"
    assert one(user, "param-who").label == "who *"
    assert 'Whom to greet' in one(user, "param-who").props["hint"]

    one(user, "schedule-overlap").value = "queue"
    await user.should_see("wait for the previous run to end (one waits at most)")
    user.find(marker="schedule-save").click()
    await user.should_see('missing required parameter "who"')  # in the dialog, kept open
    assert schedules.list_schedules() == []

    user.find(marker="param-who").type("ann")
    user.find(marker="schedule-save").click()
    await eventually(lambda: _assert(len(schedules.list_schedules()) == 1))
    [schedule] = schedules.list_schedules()
    assert schedule.runbook_name == "greet"
    assert schedule.params == {"who": "ann", "greeting": "Hello"}
    assert schedule.overlap.value == "queue"
    assert schedules.pending_job(schedule.id).params == {"who": "ann", "greeting": "Hello"}


async def test_a_runbook_with_a_file_param_cannot_be_scheduled(user):
    add_runbook(UPLOAD)
    await user.open("/schedules")
    user.find("New schedule").click()
    await user.should_see(marker="file-note-photo")  # no picker: a schedule keeps no file
    await user.should_not_see(marker="file-photo")
    user.find(marker="schedule-save").click()
    await user.should_see("which a schedule cannot give")  # the service's word, in the dialog
    assert schedules.list_schedules() == []


async def test_run_at_on_a_runbook_page_makes_a_one_off_schedule(user):
    add_runbook(RUNBOOK)
    await user.open("/runbooks/nightly")
    user.find(marker="run-at").click()
    await user.should_see("Date and time (YYYY-MM-DD HH:MM)")
    user.find("Date and time (YYYY-MM-DD HH:MM)").clear().type("2031-01-02 03:04")
    await user.should_see("Next runs:")
    user.find(marker="schedule-save").click()
    await eventually(lambda: _assert(len(schedules.list_schedules()) == 1))
    [schedule] = schedules.list_schedules()
    assert schedule.at is not None and schedule.cron is None
    assert schedules.pending_job(schedule.id).scheduled_for.year == 2031


async def test_run_at_asks_for_params_too(user):
    add_runbook(GREET)
    await user.open("/runbooks/greet")
    user.find(marker="run-at").click()
    await user.should_see("Run greet at…")
    assert one(user, "param-greeting").value == "Hello"
    user.find(marker="param-who").type("bob")
    user.find(marker="schedule-at").clear().type("2031-01-02 03:04")
    user.find(marker="schedule-save").click()
    await eventually(lambda: _assert(len(schedules.list_schedules()) == 1))
    assert schedules.list_schedules()[0].params == {"who": "bob", "greeting": "Hello"}


async def test_edit_changes_the_schedule_in_place(user):
    add_runbook(GREET)
    schedule = schedules.create_schedule("greet", {"who": "ann"}, cron="0 6 * * *",
                                         timezone="UTC")
    first = schedules.pending_job(schedule.id)
    await user.open("/schedules")
    user.find(marker=f"edit-schedule-{schedule.id}").click()
    await user.should_see(f"Edit schedule {schedule.id}")
    assert one(user, "schedule-cron").value == "0 6 * * *"
    assert one(user, "param-who").value == "ann"  # filled with the schedule's, not defaults
    assert not one(user, "schedule-runbook").enabled
    user.find(marker="schedule-cron").clear().type("30 7 * * *")
    user.find(marker="param-who").clear().type("cy")
    user.find(marker="schedule-save").click()
    await user.should_see("cron 30 7 * * * (UTC)", retries=10)
    [changed] = schedules.list_schedules()
    assert changed.id == schedule.id and changed.cron == "30 7 * * *"
    assert changed.params == {"who": "cy", "greeting": "Hello"}
    [pending] = [j for j in jobs.list_jobs()[0] if j.status == JobStatus.scheduled]
    assert (first.scheduled_for.hour, first.scheduled_for.minute) == (6, 0)
    assert (pending.scheduled_for.hour, pending.scheduled_for.minute) == (7, 30)  # replaced


async def test_a_refused_edit_keeps_the_dialog_and_the_schedule(user):
    add_runbook(RUNBOOK)
    schedule = schedules.create_schedule("nightly", cron="0 6 * * *", timezone="UTC")
    await user.open(f"/schedules/{schedule.id}")
    user.find(marker=f"edit-schedule-{schedule.id}").click()
    await user.should_see(marker="schedule-zone")
    user.find(marker="schedule-zone").clear().type("Mars/Olympus")
    user.find(marker="schedule-save").click()
    await user.should_see('unknown time zone "Mars/Olympus"')
    assert one(user, "schedule-zone").value == "Mars/Olympus"  # what was typed stays
    assert schedules.get_schedule(schedule.id).timezone == "UTC"


async def test_the_switch_says_on_or_off(user):
    add_runbook(RUNBOOK)
    schedule = schedules.create_schedule("nightly", cron="0 6 * * *", timezone="UTC")
    await user.open("/schedules")
    await user.should_see("next run")
    switch = one(user, f"switch-schedule-{schedule.id}")
    assert switch.text == "on"
    switch.value = False
    await eventually(lambda: _assert(schedules.pending_job(schedule.id) is None))
    await user.should_see("off: no runs planned", retries=10)
    assert one(user, f"switch-schedule-{schedule.id}").text == "off"
    assert not schedules.get_schedule(schedule.id).enabled


async def test_a_viewer_sees_on_or_off_and_no_controls(user):
    add_runbook(RUNBOOK)
    on = schedules.create_schedule("nightly", cron="0 6 * * *", timezone="UTC")
    off = schedules.create_schedule("nightly", cron="0 7 * * *", timezone="UTC",
                                    enabled=False)
    await sign_in(user, "vera", "viewer")
    for schedule, state in ((on, "on"), (off, "off")):
        await user.open(f"/schedules/{schedule.id}")
        assert one(user, "schedule-state").text == state
        await user.should_not_see(marker=f"edit-schedule-{schedule.id}")
        await user.should_not_see(marker=f"delete-schedule-{schedule.id}")
        await user.should_not_see(ui.switch)
    await user.open("/schedules")
    assert sorted(t for t in labels(user) if t in ("on", "off")) == ["off", "on"]
    await user.should_not_see("New schedule")


async def test_delete_asks_first(user):
    add_runbook(RUNBOOK)
    schedule = schedules.create_schedule("nightly", cron="0 6 * * *", timezone="UTC")
    await user.open("/schedules")
    user.find(marker=f"delete-schedule-{schedule.id}").click()
    await user.should_see(f"Delete schedule {schedule.id} (nightly, cron 0 6 * * * (UTC))? "
                          "Jobs it already ran stay.")
    user.find(marker="cancel-delete").click()
    await user.should_not_see("Jobs it already ran stay.")
    assert [s.id for s in schedules.list_schedules()] == [schedule.id]

    user.find(marker=f"delete-schedule-{schedule.id}").click()
    await user.should_see("Jobs it already ran stay.")
    user.find(marker="confirm-delete").click()
    await eventually(lambda: _assert(schedules.list_schedules() == []))
    await user.should_see("No schedules yet", retries=10)


async def test_a_schedule_page_shows_its_runs_misses_and_changes(user):
    add_runbook(GREET)
    schedule = schedules.create_schedule("greet", {"who": "ann"}, cron="0 6 * * *",
                                         timezone="UTC", overlap="skip")
    first = schedules.pending_job(schedule.id)
    ran = schedule_firing.fire(schedule.id, first.scheduled_for)  # queued: no worker here
    second = schedules.pending_job(schedule.id)
    # its first run is still queued, so under `skip` the next occurrence is a miss
    assert schedule_firing.fire(schedule.id, second.scheduled_for) is None

    await user.open("/schedules")
    await user.should_see("1 missed runs")
    user.find(marker=f"open-schedule-{schedule.id}").click()
    await user.should_see(f"Schedule {schedule.id}")
    await user.should_see("who=ann, greeting=Hello")
    await user.should_see(marker=f"run-{ran.id}")  # the last run, linked as #id
    await user.should_see("Queued")
    await user.should_see(f"job {ran.id} of this schedule was still queued (overlap: skip)")
    upcoming = [zoned_time(t, "UTC") for t in schedules.next_times(schedule)]
    assert len(upcoming) == 5 and set(upcoming) <= set(labels(user)), labels(user)
    await user.should_see("No recorded changes.")

    user.find(marker=f"edit-schedule-{schedule.id}").click()
    await user.should_see(marker="schedule-cron")
    user.find(marker="schedule-cron").clear().type("15 6 * * *")
    user.find(marker="schedule-save").click()
    await user.should_see("→ greet: cron 15 6 * * * UTC, overlap skip, params "
                          "greeting=Hello, who=ann", retries=10)
    await user.should_see("changed")
    assert "greet: cron 0 6 * * * UTC, overlap skip, params greeting=Hello, who=ann" in labels(
        user)  # before
    await user.should_not_see("No recorded changes.")


async def test_a_schedule_page_off_and_unknown(user):
    add_runbook(RUNBOOK)
    schedule = schedules.create_schedule("nightly", cron="0 6 * * *", timezone="UTC",
                                         enabled=False)
    await user.open(f"/schedules/{schedule.id}")
    await user.should_see("off: no runs planned")
    schedules.delete_schedule(schedule.id)
    await user.open(f"/schedules/{schedule.id}")
    await user.should_see(f"There is no schedule {schedule.id}.")
    await user.open("/schedules/999")
    await user.should_see("There is no schedule 999.")


async def test_a_due_occurrence_says_which_job_it_waits_for(user):
    add_runbook(RUNBOOK)
    schedule = schedules.create_schedule("nightly", cron="0 6 * * *", timezone="UTC",
                                         overlap="queue")
    ran = schedule_firing.fire(schedule.id, schedules.pending_job(schedule.id).scheduled_for)
    # the next occurrence comes due while `ran` is still queued (no waiting a day for it)
    with session_scope() as session:
        due = session.get(Job, schedules.pending_job(schedule.id).id)
        due.scheduled_for = utcnow() - timedelta(seconds=1)
        session.add(due)
    await user.open(f"/schedules/{schedule.id}")
    await user.should_see(f"job #{ran.id}")
    await user.should_see("· waits for")


async def test_the_header_says_whether_a_scheduler_runs(user):
    await user.open("/schedules")  # page tests start no scheduler
    await user.should_see("No scheduler is running: schedules do not fire. Start a console "
                          "with JOBDECK_SCHEDULER=true (the default).")
    assert take_lock("test-holder") is None
    try:
        await user.open("/schedules")
        await user.should_see("Scheduler: running in test-holder since")
        await user.should_not_see("No scheduler is running")
    finally:
        release_lock("test-holder")
