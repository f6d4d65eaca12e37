"""The jobs list: tabs with counts, the tab in the URL, search, pagination, approvals."""

import pytest
from waiting import eventually

from engine.service.jobs import create_job, get_job
from engine.service.runbooks import add_runbook
from engine.store.db import session_scope
from engine.store.transitions import transition_job
from models import JobStatus

pytestmark = pytest.mark.asyncio
S = JobStatus
RUNBOOK = """
name: {name}
title: {title}
version: 1
steps:
  - name: open
    action: goto
    url: http://127.0.0.1:9/
"""
PATH = {  # how a queued job reaches each status through the transition table
    S.queued: [], S.running: [S.running], S.completed: [S.running, S.completed],
    S.failed: [S.running, S.failed], S.waiting_for_approval: [S.running, S.waiting_for_approval],
    S.paused: [S.running, S.paused], S.cancelled: [S.cancelled],
}


def add_jobs(name: str, title: str, statuses: list[JobStatus]) -> list[int]:
    add_runbook(RUNBOOK.format(name=name, title=title))
    ids = []
    for status in statuses:
        job = create_job(name)
        with session_scope() as session:
            for step in PATH[status]:
                transition_job(session, job.id, step)
        ids.append(job.id)
    return ids


def assertion(condition: bool) -> None:
    assert condition


def table_rows(user) -> list[dict]:
    return user.find(marker="jobs").elements.pop().rows


def count(user, tab: str) -> str:
    return user.find(marker=f"count-{tab}").elements.pop().text


async def test_tabs_filter_and_count_jobs(user):
    add_jobs("invoices", "Export invoices",
             [S.completed, S.completed, S.failed, S.running, S.waiting_for_approval, S.paused,
              S.queued, S.cancelled])
    await user.open("/jobs")
    await eventually(lambda: assertion(len(table_rows(user)) == 8))
    assert [count(user, t) for t in ("all", "running", "approval", "completed", "failed")] == [
        "8", "3", "1", "2", "1"]
    await user.should_see("1 job waiting for approval: someone has to act")

    user.find(marker="tab-failed").click()
    await eventually(lambda: assertion([r["status"] for r in table_rows(user)] == ["failed"]))

    user.find(marker="tab-running").click()
    await eventually(lambda: assertion(sorted(r["status"] for r in table_rows(user)) == [
        "paused", "running", "waiting_for_approval"]))


async def test_the_tab_in_the_url_opens_the_same_view(user):
    add_jobs("invoices", "Export invoices", [S.completed, S.failed, S.waiting_for_approval])
    await user.open("/jobs?tab=approval")
    await eventually(lambda: assertion([(r["status"], r["status_label"])
                                        for r in table_rows(user)] == [
        ("waiting_for_approval", "Waiting for approval")]))
    await user.should_not_see("someone has to act")  # the banner leads here; here it is noise


async def test_newest_first_with_pages_of_25(user):
    ids = add_jobs("invoices", "Export invoices", [S.completed] * 30)
    await user.open("/jobs")
    await eventually(lambda: assertion([r["id"] for r in table_rows(user)] == ids[::-1][:25]))
    pager = user.find(marker="pager").elements.pop()
    assert pager.max == 2
    pager.value = 2
    await eventually(lambda: assertion([r["id"] for r in table_rows(user)] == ids[::-1][25:]))


async def test_search_on_runbook_name_and_title(user):
    add_jobs("invoices", "Export invoices", [S.completed, S.failed])
    add_jobs("dashboard", "Check the dashboard", [S.completed])
    await user.open("/jobs")
    await eventually(lambda: assertion(len(table_rows(user)) == 3))
    user.find(marker="search").type("dash")
    await eventually(lambda: assertion(
        [r["runbook"] for r in table_rows(user)] == ["Check the dashboard"]))
    assert count(user, "all") == "1" and count(user, "failed") == "0"


async def test_a_new_job_appears_without_reloading(user):
    add_jobs("invoices", "Export invoices", [S.completed])
    await user.open("/jobs")
    await eventually(lambda: assertion(len(table_rows(user)) == 1))
    create_job("invoices")  # its queued event reaches the open page long before the timer
    await eventually(lambda: assertion(
        [r["status"] for r in table_rows(user)] == ["queued", "completed"]), timeout=3)


async def test_runbook_titles_with_markup_stay_text(user):
    add_jobs("xss", "<img src=x onerror=alert(1)>", [S.completed])
    await user.open("/jobs")
    await eventually(lambda: assertion(len(table_rows(user)) == 1))
    # rows go to the browser as data; the slot template shows them with {{ }} (escaped)
    assert table_rows(user)[0]["runbook"] == "<img src=x onerror=alert(1)>"
    slot = user.find(marker="jobs").elements.pop().slots["body-cell-runbook"]
    assert "v-html" not in slot.template and "{{ props.row.runbook }}" in slot.template


async def test_cancel_selected_jobs_from_the_list(user):
    ids = add_jobs("invoices", "Export invoices", [S.queued, S.queued, S.completed])
    await user.open("/jobs")
    await eventually(lambda: assertion(len(table_rows(user)) == 3))
    table = user.find(marker="jobs").elements.pop()
    table.selected = [r for r in table.rows if r["id"] in ids]  # all three
    await user.should_see("3 selected")
    user.find(marker="bulk-cancel").click()
    user.find("Cancel jobs").click()
    await user.should_see("2 cancelled; 1 not", retries=30)  # after a click, under load
    await eventually(lambda: assertion(sorted(r["status"] for r in table_rows(user)) == [
        "cancelled", "cancelled", "completed"]))
    assert table.selected == []


async def test_approve_from_the_row(user):
    [waiting, done] = add_jobs("invoices", "Export invoices",
                               [S.waiting_for_approval, S.completed])
    await user.open("/jobs")
    await eventually(lambda: assertion(len(table_rows(user)) == 2))
    user.find(marker="jobs").trigger("approve", waiting)
    await user.should_see("Approved: the step runs now")
    assert get_job(waiting).job.requested_action == "approve"
    user.find(marker="jobs").trigger("approve", done)
    await user.should_see("can be approved only when waiting for approval")
