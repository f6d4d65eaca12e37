"""The Schedules page: create with a live preview, see the next run, switch off, delete."""

import pytest
from nicegui import ui
from waiting import eventually

from engine.service import schedules
from engine.service.runbooks import add_runbook

pytestmark = pytest.mark.asyncio
RUNBOOK = "version: 1\nname: nightly\ntitle: Nightly\nsteps: [{action: goto, url: 'http://127.0.0.1:9/'}]\n"


def labels(user) -> list[str]:
    return [e.text for e in user.find(ui.label).elements]


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
    await user.should_see("next run")


async def test_switch_off_and_delete(user):
    add_runbook(RUNBOOK)
    schedule = schedules.create_schedule("nightly", cron="0 6 * * *", timezone="UTC")
    await user.open("/schedules")
    await user.should_see("next run")
    user.find(ui.switch).elements.pop().value = False
    await eventually(lambda: _assert(schedules.pending_job(schedule.id) is None))
    await user.should_not_see("next run", retries=10)
    user.find(marker=f"delete-schedule-{schedule.id}").click()
    await eventually(lambda: _assert(schedules.list_schedules() == []))


def _assert(condition: bool) -> None:
    assert condition


async def test_run_at_on_a_runbook_page_makes_a_one_off_schedule(user):
    add_runbook(RUNBOOK)
    await user.open("/runbooks/nightly")
    user.find(marker="run-at").click()
    await user.should_see("Date and time (YYYY-MM-DD HH:MM)")
    user.find("Date and time (YYYY-MM-DD HH:MM)").type("2031-01-02 03:04")
    await user.should_see("Next runs:")
    user.find(marker="schedule-save").click()
    await eventually(lambda: _assert(len(schedules.list_schedules()) == 1))
    [schedule] = schedules.list_schedules()
    assert schedule.at is not None and schedule.cron is None
    assert schedules.pending_job(schedule.id).scheduled_for.year == 2031
