"""The console on a full data directory (a 20 MB tmpfs filled to the last block; skipped
where mounting is not allowed): saving a runbook and starting a job say "the data directory
is full" in their dialogs; once space is freed, the same start works."""

import full_disk
import pytest
from nicegui import ui
from waiting import eventually

from engine.service import jobs, runbooks

pytestmark = pytest.mark.asyncio

RUNBOOK = """version: 1
name: NAME
title: Disk full
steps:
  - {name: open, action: goto, url: "http://127.0.0.1:9/"}
"""
disk, settings, fill = full_disk.disk, full_disk.settings, full_disk.fill  # the tmpfs


async def test_the_dialogs_say_the_data_directory_is_full(user, disk):
    runbooks.add_runbook(RUNBOOK.replace("NAME", "full"))
    await user.open("/runbooks")
    await user.should_see("Disk full")
    filler = fill(disk)

    user.find("Add runbook").click()
    user.find(ui.codemirror).elements.pop().value = RUNBOOK.replace("NAME", "more")
    user.find("Check and save").click()
    await user.should_see("the data directory is full")
    assert [r.name for r in runbooks.list_runbooks()] == ["full"]

    user.find(marker="run-full").click()
    user.find(marker="start-job").click()
    await eventually(lambda: _dialog_says("the data directory is full", user))
    assert jobs.list_jobs()[1] == 0

    filler.unlink()
    user.find(marker="start-job").click()
    await eventually(_one_job)


def _dialog_says(text: str, user) -> None:
    assert any(text in label.text for label in user.find(ui.label).elements)


def _one_job() -> None:
    assert jobs.list_jobs()[1] == 1
