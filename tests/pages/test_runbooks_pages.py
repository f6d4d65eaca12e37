"""The runbooks pages: add with the full error list, see a runbook, start a job with params."""

import pytest
from nicegui import ui
from waiting import eventually

from engine.service import jobs, runbooks
from models import JobStatus

pytestmark = pytest.mark.asyncio

GOOD = """version: 1
name: weekly-form
title: Weekly form
params:
  who: {description: Name to enter, required: true}
steps:
  - {name: open, action: goto, url: "http://127.0.0.1:9/form"}
  - {name: type, action: fill, selector: "#name", value: "{{who}}"}
"""
BAD = """version: 1
name: weekly-form
title: Weekly form
steps:
  - {name: open, action: goto, url: "http://127.0.0.1:9/form"}
  - {name: type, action: clik, selector: "#name"}
  - {name: type, action: fill, selector: "#name"}
"""


def editor(user) -> ui.codemirror:
    return user.find(ui.codemirror).elements.pop()


async def test_adding_an_invalid_runbook_lists_every_problem_and_saves_nothing(user):
    await user.open("/runbooks")
    await user.should_see("No runbooks yet")
    user.find("Add runbook").click()
    editor(user).value = BAD
    user.find("Check and save").click()
    await user.should_see("nothing was saved")
    await user.should_see("line 6")  # the unknown action
    labels = [e.text for e in user.find(ui.label).elements]
    assert any('did you mean "click"' in t for t in labels), labels
    assert any("line 7" == t for t in labels), "the duplicate name is reported at its line"
    assert 6 in editor(user).line_tooltips and 7 in editor(user).line_tooltips
    assert runbooks.list_runbooks() == []


async def test_the_add_runbook_template_is_valid_as_it_stands(user):
    await user.open("/runbooks")
    user.find("Add runbook").click()
    user.find("Check and save").click()
    await user.should_see("Runbook my-runbook added")
    [saved] = runbooks.list_runbooks()
    assert "{{console_url}}/demo/" in saved.source  # runs on whatever port the console has


async def test_adding_a_valid_runbook_then_starting_it_with_params(user):
    await user.open("/runbooks")
    user.find("Add runbook").click()
    editor(user).value = GOOD
    user.find("Check and save").click()
    await user.should_see("Runbook weekly-form added")
    await user.should_see("Weekly form")

    user.find(marker="run-weekly-form").click()
    await user.should_see("Name to enter")
    user.find(marker="start-job").click()
    await user.should_see('missing required parameter "who"')  # nothing was started
    assert jobs.list_jobs()[1] == 0

    user.find(marker="param-who").type("Grace <b>Hopper</b>")
    user.find(marker="start-job").click()
    await eventually(lambda: _one_job())
    job = jobs.list_jobs()[0][0]
    assert job.status == JobStatus.queued and job.params == {"who": "Grace <b>Hopper</b>"}
    assert job.started_by == "admin"  # who clicked Start


def _one_job():
    found, total = jobs.list_jobs()
    assert total == 1
    return found


async def test_a_runbook_page_shows_its_steps_params_and_yaml(user):
    runbooks.add_runbook(GOOD)
    await user.open("/runbooks/weekly-form")
    await user.should_see("Weekly form")
    await user.should_see("1. open (goto)")
    await user.should_see("Name to enter")
    assert editor(user).value == GOOD
    await user.open("/runbooks/nope")
    await user.should_see('There is no runbook named "nope".')


async def test_the_run_dialog_offers_a_console_url_default_that_runs_here(user, settings):
    runbooks.add_runbook("version: 1\nname: here\ntitle: Here\nparams:\n"
                "  site: {default: '{{console_url}}/demo'}\n"
                "steps: [{action: goto, url: '{{site}}'}]\n")
    await user.open("/runbooks")
    user.find(marker="run-here").click()
    await user.should_see("Run Here")
    user.find(marker="start-job").click()  # the default as the dialog offers it
    await eventually(lambda: _one_job())
    assert jobs.list_jobs()[0][0].params == {"site": f"{settings.console_url}/demo"}
