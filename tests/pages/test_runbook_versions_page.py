"""The runbook page's versions (who saved each, when, any two compared), the job page's link
to the exact version it ran, and Archive / Restore for admins only."""

import pytest
from conftest import sign_in
from nicegui import ui

from engine.identity.access import Actor
from engine.service import runbooks
from engine.service.jobs import create_job
from models import Role

pytestmark = pytest.mark.asyncio

ADA = Actor(1, "ada", Role.admin)
BOB = Actor(2, "bob", Role.admin)
V1 = ("version: 1\nname: orders\ntitle: Orders\n"
      "steps:\n  - {name: open, action: goto, url: 'http://127.0.0.1:9/one'}\n")
V2 = V1.replace("/one'", "/two'")
V3 = V2.replace("title: Orders", "title: Orders export")


def texts(user) -> list[str]:
    return [e.text for e in user.find(ui.label).elements]


def run_buttons(user) -> list[str]:
    return sorted(e.text for e in user.find(ui.button).elements if e.text in ("Run", "Run at…"))


async def test_versions_compare_and_the_job_link_to_its_version(user):
    runbooks.add_runbook(V1, by=ADA)
    job = create_job("orders")
    runbooks.add_runbook(V2, by=BOB)
    runbooks.add_runbook(V3, by=ADA)

    await user.open(f"/jobs/{job.id}")
    [link] = user.find(marker="job-version").elements
    assert isinstance(link, ui.link) and link.text == "orders v1"
    assert link.props["href"] == "/runbooks/orders?version=1"

    await user.open("/runbooks/orders")
    await user.should_see("Versions")
    rows = sorted((e for e in user.find(ui.row).elements if e.props.get("data-version")),
                  key=lambda e: e.id)  # in the order drawn
    assert [e.props["data-version"] for e in rows] == ["3", "2", "1"]  # newest first
    assert "saved by ada" in texts(user) and "saved by bob" in texts(user)
    # by default the version before the current one against the current one
    await user.should_see("+title: Orders export")
    assert "-  - {name: open, action: goto, url: 'http://127.0.0.1:9/one'}" not in texts(user)
    older = user.find(marker="compare-from").elements.pop()
    older.value = 1
    await user.should_see("-  - {name: open, action: goto, url: 'http://127.0.0.1:9/one'}",
                          retries=30)
    await user.should_see("--- orders v1")

    await user.open("/runbooks/orders?version=1")  # where the job page links
    await user.should_see("Version 1 (the current one is version 3)")
    sources = [e.value for e in user.find(ui.codemirror).elements]
    assert V1 in sources and V3 in sources  # that version's YAML beside the current one
    await user.should_see("--- orders v1")  # compared with the current one

    await user.open("/runbooks/orders?version=x1")
    await user.should_see('"x1" is not a version number: open a version from the list below')


async def test_an_admin_archives_and_restores_an_operator_cannot(user):
    runbooks.add_runbook(V1, by=ADA)
    await sign_in(user, "opal", "operator")
    await user.open("/runbooks/orders")
    await user.should_see("Versions")
    assert run_buttons(user) == ["Run"]
    await user.should_not_see(marker="runbook-archive")

    await sign_in(user, "admin")
    await user.open("/runbooks/orders")
    user.find(marker="runbook-archive").click()
    await user.should_see('Archive runbook "orders"?')
    user.find(marker="archive-confirm").click()
    await user.should_see(marker="runbook-archived", retries=30)
    assert any(t.startswith("Archived by admin on ") for t in texts(user))
    assert run_buttons(user) == []  # neither Run nor Run at…
    assert runbooks.get_runbook("orders").archived_by == "admin"

    user.find(marker="runbook-restore").click()
    user.find(marker="archive-confirm").click()
    await user.should_not_see(marker="runbook-archived", retries=30)
    assert run_buttons(user) == ["Run", "Run at…"]
    assert runbooks.get_runbook("orders").archived_at is None
