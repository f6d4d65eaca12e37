"""The runbook page's "Pages that changed": the latest job's changed steps, each with its
share and a link to its diff image."""

import re

import pytest
from nicegui import ui

from models import JobStatus

RUNBOOK = """
    version: 1
    name: banner
    title: Banner
    params:
      color: {default: navy}
    settings: {base_url: SITE, timeout_ms: 5000, screenshots: each_step}
    steps:
      - {name: open, action: goto, url: "/visual?color={{color}}"}
      - {name: note, action: assert, selector: "#banner", text: Quarterly}
    """


@pytest.mark.asyncio
async def test_the_runbook_page_shows_the_steps_whose_page_changed(run_runbook, user):
    assert run_runbook(RUNBOOK).job.status == JobStatus.completed
    await user.open("/runbooks/banner")
    await user.should_see("Recent jobs")
    await user.should_not_see("Pages that changed")  # nothing was compared yet

    changed = run_runbook(RUNBOOK, {"color": "crimson"})
    assert changed.job.status == JobStatus.completed, changed.job.error_message
    [diff] = [a for a in changed.artifacts if a.name == "change after open"]
    await user.open("/runbooks/banner")
    await user.should_see("Pages that changed")
    await user.should_see("against the last completed job before it: 2 of 2 compared steps "
                          "changed.")
    assert [e.text for e in user.find(ui.link).elements if e.text == f"#{changed.job.id}"]
    cards = [e for e in user.find(ui.card).elements if e.props.get("data-changed-step")]
    assert sorted(c.props["data-changed-step"] for c in cards) == ["note", "open"]
    shares = [e.text for e in user.find(ui.label).elements
              if re.fullmatch(r"page changed \d+(\.\d)? %", e.text)]
    assert len(shares) == 2, shares
    images = [e.props.get("src") or e.source for e in user.find(ui.image).elements]
    assert f"/api/artifacts/{diff.id}" in images
