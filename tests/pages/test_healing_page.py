"""Selectors that heal on the console: the job timeline's marks (healed, restored from a
job, page changed) and the runbook page's "Selectors that healed" with Apply."""

import textwrap

import pytest
from conftest import sign_in
from nicegui import ui

from engine.identity import accounts, audit
from engine.service import runbooks
from engine.store.db import session_scope
from models import Artifact, ArtifactKind, JobStatus, StepRun

HEALING = textwrap.dedent("""
    version: 1
    name: healing-page
    title: Healing page
    # signs in on the demo site
    settings: {base_url: SITE, timeout_ms: 3000, retries: 0, screenshots: off}
    steps:
      - {action: goto, url: /login}
      - {name: user, action: fill, selector: {placeholder: Username}, value: demo}
      - {name: pw, action: fill, selector: {label: Password}, value: demo-password}
      - name: sign-in
        action: click
        selector:
          - "#login-btn"   # the id before the redesign
          - {role: button, name: Sign in}
      - {name: who, action: assert, selector: "#whoami", text: demo}
    """)
HEALED = ('healed: 2nd candidate `role=button name="Sign in"` won; 1st `#login-btn` failed '
          "in 2 of the last 2 runs")


@pytest.fixture
def healed_twice(run_runbook):
    details = [run_runbook(HEALING) for _ in range(2)]
    for detail in details:
        assert detail.job.status == JobStatus.completed, detail.job.error_message
    return details


def texts(user, marker: str) -> list[str]:
    return sorted(e.text for e in user.find(marker=marker).elements if e.visible)


@pytest.mark.asyncio
async def test_the_timeline_marks_healed_restored_and_changed_steps(healed_twice, user):
    first, last = healed_twice
    with session_scope() as session:  # what Retry and the visual comparison record
        who = session.get(StepRun, next(s.id for s in last.steps if s.name == "who"))
        who.restored_from, who.visual_change = first.job.id, 0.234
        user_step = session.get(StepRun, next(s.id for s in last.steps if s.name == "user"))
        user_step.visual_change = 0.004  # below 1 %: not worth a mark
        diff = Artifact(job_id=last.job.id, step_run_id=who.id, kind=ArtifactKind.screenshot,
                        name="change after who", path="x.png", size=1, media_type="image/png")
        session.add(diff)
        session.flush()
        diff_id = diff.id
    await user.open(f"/jobs/{last.job.id}")
    await user.should_see(HEALED, retries=30)
    assert texts(user, "healed") == [HEALED]  # only the step that healed
    await user.should_see(f"restored from job #{first.job.id}")
    [link] = user.find(marker="restored").elements
    assert isinstance(link, ui.link) and link.props["href"] == f"/jobs/{first.job.id}"
    assert texts(user, "page-changed") == ["page changed 23 %"]
    [changed] = user.find(marker="page-changed").elements
    assert isinstance(changed, ui.link) and changed.props["href"] == f"/api/artifacts/{diff_id}"

    await user.open(f"/jobs/{first.job.id}")
    await user.should_see(HEALED.replace("2 of the last 2 runs", "1 of the last 1 run"),
                          retries=30)


@pytest.mark.asyncio
async def test_a_step_that_needed_retries_is_marked_after_n_retries(run_runbook, user):
    detail = run_runbook("""
        version: 1
        name: late-page
        title: Late page
        settings: {base_url: SITE, timeout_ms: 6000, retries: 3, screenshots: off}
        steps:
          - {action: goto, url: "/late?delay_ms=1200"}
          - {name: more, action: click, selector: {role: button, name: Load more}}
        """)
    more = next(s for s in detail.steps if s.name == "more")
    assert more.retries >= 1
    await user.open(f"/jobs/{detail.job.id}")
    plural = "retry" if more.retries == 1 else "retries"
    await user.should_see(f"healed after {more.retries} {plural}", retries=30)
    await user.open("/runbooks/late-page")
    await user.should_see("Late page")
    await user.should_not_see("Selectors that healed")


@pytest.mark.asyncio
async def test_apply_shows_the_diff_and_saves_a_new_version(healed_twice, user):
    await user.open("/runbooks/healing-page")
    await user.should_see("Selectors that healed", retries=30)
    with user.scope(marker="healing-sign-in"):
        await user.should_see('role=button name="Sign in"')
        assert texts(user, "healing-apply")  # an admin may apply
    wins = sorted(e.props["data-wins"] for e in user.find(ui.label).elements
                  if "data-wins" in e.props)
    assert wins == ["0", "2"]
    user.find(marker="healing-apply").click()
    await user.should_see(marker="healing-diff", retries=30)
    with user.scope(marker="healing-diff"):
        await user.should_see("+      - {role: button, name: Sign in}")
        await user.should_see('       - "#login-btn"   # the id before the redesign')
    user.find(marker="healing-save").click()
    await user.should_see("Saved as version 2", retries=30)
    assert "Saved as version 2" in user.notify.messages
    stored = runbooks.get_runbook("healing-page")
    assert stored.version == 2
    assert stored.source.index("{role: button, name: Sign in}") < stored.source.index(
        '"#login-btn"   # the id before the redesign')
    assert "# signs in on the demo site" in stored.source
    await user.should_not_see(marker="healing-sign-in", retries=30)  # nothing left to apply
    await user.should_see("Saved as version 2.")  # the page above was drawn with version 1


@pytest.mark.asyncio
async def test_a_viewer_sees_the_suggestion_without_apply(healed_twice, user):
    await sign_in(user, "vera", "viewer")
    await user.open("/runbooks/healing-page")
    await user.should_see("Selectors that healed", retries=30)
    await user.should_see(marker="healing-sign-in")
    await user.should_not_see(marker="healing-apply")


@pytest.mark.asyncio
async def test_save_checks_the_role_again(healed_twice, user):
    await sign_in(user, "opal", "operator")
    await user.open("/runbooks/healing-page")
    await user.should_see(marker="healing-apply", retries=30)  # built for an operator
    user.find(marker="healing-apply").click()
    await user.should_see(marker="healing-diff", retries=30)
    accounts.set_role("opal", "viewer", by="admin")  # meanwhile an admin changes the role
    user.find(marker="healing-save").click()
    await user.should_see("opal is a viewer: applying a healed selector needs the operator "
                          "role", retries=30)
    assert runbooks.get_runbook("healing-page").version == 1  # nothing was stored
    [refused], _ = audit.search(audit.AuditFilter(action="heal_refused"))
    assert refused.actor == "opal"
