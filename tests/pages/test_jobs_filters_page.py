"""The jobs list's filters in the page's URL: a shared address shows the same list, the
fields and the tabs change it (keeping the other filters), the error column, the counts
under filters, and a refused value named on the page. NiceGUI's simulated user."""

import pytest
from job_rows import add_job_rows
from nicegui import ui
from waiting import eventually

pytestmark = pytest.mark.asyncio


def assertion(condition: bool) -> None:
    assert condition


def rows(user) -> list[dict]:
    return user.find(marker="jobs").elements.pop().rows


def shown(user, ids: list[int]) -> list[int]:
    """The JOBS' numbers (1-based) the table shows, top to bottom."""
    return [ids.index(r["id"]) + 1 for r in rows(user)]


def count(user, tab: str) -> str:
    return user.find(marker=f"count-{tab}").elements.pop().text


async def test_a_shared_address_shows_the_same_list_and_the_fields_change_it(user,
                                                                           monkeypatch):
    ids = add_job_rows()
    addresses: list[str] = []
    monkeypatch.setattr(ui.navigate.history, "replace", addresses.append)
    await user.open("/jobs?runbook=payroll&started_by=bob&tab=failed")
    await eventually(lambda: assertion(shown(user, ids) == [3]))
    assert user.find(marker="filter-runbook").elements.pop().value == "payroll"
    assert user.find(marker="filter-started-by").elements.pop().value == "bob"
    assert [count(user, t) for t in ("all", "completed", "failed", "running")] == [
        "2", "1", "1", "0"]  # payroll's jobs started by bob, not all jobs
    [row] = rows(user)  # the error column: kind and the message's first line
    assert (row["error_kind"], row["error_line"]) == (
        "http_error", "The page answered 503 Service Unavailable")

    user.find(marker="tab-all").click()  # a tab keeps the filters
    await eventually(lambda: assertion(shown(user, ids) == [6, 3]))
    assert addresses[-1] == "/jobs?runbook=payroll&started_by=bob"

    user.find(marker="filter-trigger").elements.pop().value = "retry"
    await eventually(lambda: assertion(shown(user, ids) == [6]))
    user.find(marker="search").type("pay")
    await eventually(lambda: assertion(
        addresses[-1] == "/jobs?runbook=payroll&trigger=retry&started_by=bob&q=pay"))
    shared = addresses[-1]

    user.find(marker="filter-clear").click()
    await eventually(lambda: assertion(shown(user, ids) == [6, 5, 4, 3, 2, 1]))
    assert addresses[-1] == "/jobs"
    assert user.find(marker="filter-runbook").elements.pop().value == ""

    await user.open(shared)  # reloading the address: the same list
    await eventually(lambda: assertion(shown(user, ids) == [6]))
    assert user.find(marker="search").elements.pop().value == "pay"


async def test_dates_and_error_kind_from_the_address(user):
    ids = add_job_rows()
    await user.open("/jobs?since=2026-11-02&until=2026-11-30&error_kind=element_not_found")
    await eventually(lambda: assertion(shown(user, ids) == [2]))
    assert rows(user)[0]["error_line"] == (
        "Timeout 30000ms exceeded waiting for locator('#total')")  # the first line only


async def test_a_refused_value_is_named_and_the_others_still_apply(user):
    ids = add_job_rows()
    await user.open("/jobs?since=last-week&runbook=invoices")
    await user.should_see('Not applied: since "last-week" is not an ISO 8601 date')
    await eventually(lambda: assertion(shown(user, ids) == [5, 2, 1]))
