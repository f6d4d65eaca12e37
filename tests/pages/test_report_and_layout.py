"""The execution report on the job page, the approval's risk badge, and the YAML editor's
marks and theme."""

import re

import pytest
from nicegui import ui
from support import step
from waiting import eventually

from engine.bus import events
from engine.service.jobs import create_job
from engine.service.report import job_summary
from engine.service.runbooks import add_runbook
from engine.store.db import session_scope
from engine.store.transitions import transition_job
from models import ArtifactKind, JobStatus

FAILING = """
version: 1
name: report-check
title: Report check
settings: {base_url: SITE, timeout_ms: 400, retries: 0, screenshots: off}
steps:
  - {name: open, action: goto, url: /comments}
  - {name: rows, action: extract, selector: li.comment, fields: {text: ""}, into: comments}
  - {name: save, action: export, collection: comments, format: csv}
  - {name: press-missing, action: click, selector: "#nothing-here"}
"""


def page_text(user) -> str:
    """Everything the page holds for the browser: texts, and props (links, titles)."""
    return "\n".join(f"{getattr(e, 'text', '')} {e.props}" for e in user.client.elements.values())


@pytest.fixture
def failed_job(run_runbook):
    detail = run_runbook(FAILING)
    assert detail.job.status == JobStatus.failed
    return detail


@pytest.mark.asyncio
async def test_the_report_sums_up_the_job_with_links_and_no_server_paths(
        failed_job, user, settings):
    job = failed_job.job
    await user.open(f"/jobs/{job.id}")
    await user.should_see("Execution report")
    await user.should_see("Exports and downloads")  # read after the page was delivered
    [card] = user.find(marker="report").elements
    shown = list(card.descendants())
    # the outcome, with the job's error
    [status] = [e for e in shown if "data-report-status" in e.props]
    assert "Failed" in [getattr(e, "text", "") for e in status.descendants()]
    assert job.error_message in [getattr(e, "text", "") for e in shown]
    # the figures as the report states them
    metrics = job_summary(job)["metrics"]
    for key in ("steps_succeeded", "steps_failed", "steps_skipped", "retry_count"):
        [figure] = [e for e in shown if e.props.get("data-report-figure") == key]
        assert [e.text for e in figure.descendants()][-1] == str(metrics[key])
    # the failed step with its error
    failed = step(failed_job, "press-missing")
    [box] = [e for e in shown if e.props.get("data-report-failed") == "press-missing"]
    texts = [e.text for e in box.descendants() if isinstance(e, ui.label)]
    assert failed.error_kind in texts and failed.error_message in texts
    # the export, linked where the console serves it
    export = next(a for a in failed_job.artifacts if a.kind == ArtifactKind.export)
    [link] = [e for e in shown if isinstance(e, ui.link) and e.text == export.name]
    assert link.props["href"] == f"/api/artifacts/{export.id}"
    assert str(settings.data_dir.resolve()) not in page_text(user)


@pytest.mark.asyncio
async def test_the_raw_json_shows_artifact_urls_behind_a_toggle(failed_job, user, settings):
    export = next(a for a in failed_job.artifacts if a.kind == ArtifactKind.export)
    url_line = f'"url": "/api/artifacts/{export.id}"'
    await user.open(f"/jobs/{failed_job.job.id}")
    await eventually(lambda: user.find(marker="report-raw-json").elements)
    await user.should_not_see(url_line)
    user.find(marker="report-raw-json").click()
    await user.should_see(url_line)
    await user.should_see('"job_id": ' + str(failed_job.job.id))
    assert str(settings.data_dir.resolve()) not in page_text(user)
    user.find("Hide raw JSON").click()
    await user.should_not_see(url_line)
    await user.should_see("Show raw JSON")


@pytest.mark.asyncio
@pytest.mark.parametrize(("risk", "color"), [("low", "blue-grey-6"), ("medium", "amber-9"),
                                             ("high", "red-8")])
async def test_the_risk_badge_is_coloured_by_its_level(user, risk, color):
    add_runbook(f"version: 1\nname: risky-{risk}\ntitle: Risky\nsteps:\n"
                "  - {name: go, action: goto, url: 'http://127.0.0.1:9/', "
                f"approval: {{message: Go ahead?, risk: {risk}}}}}\n")
    job = create_job(f"risky-{risk}")
    with session_scope() as session:  # what the worker records when it asks
        transition_job(session, job.id, JobStatus.running)
        transition_job(session, job.id, JobStatus.waiting_for_approval)
        events.record(session, events.APPROVAL_REQUESTED, job.id, step="go",
                      message="Go ahead?", risk=risk)
    await user.open(f"/jobs/{job.id}")
    await user.should_see("Approval needed")
    await user.should_see(f"risk: {risk}")
    [badge] = [e for e in user.find(ui.badge).elements if e.props.get("data-risk") == risk]
    assert badge.props["color"] == color


@pytest.mark.asyncio
async def test_the_editor_marks_the_lines_with_problems(user):
    await user.open("/runbooks")
    user.find("Add runbook").click()
    editor = user.find(ui.codemirror).elements.pop()
    editor.value = ("version: 1\nname: broken\ntitle: Broken\nsteps:\n"
                    "  - {name: go, action: fly, url: /}\n")
    user.find("Check and save").click()
    await user.should_see("nothing was saved")
    assert [d["line"] for d in editor.decorations] == [5]
    assert "data-error-line" in editor.decorations[0]["attributes"]
    assert 5 in editor.line_tooltips


@pytest.mark.asyncio
async def test_the_yaml_view_follows_dark_mode(user, failed_job):
    user.javascript_rules[re.compile(".*body--dark.*")] = lambda _: False  # a light system
    await user.open("/runbooks/report-check")
    [view] = user.find(ui.codemirror).elements
    await eventually(lambda: _assert_equal(view.theme, "basicLight"))
    user.find(marker="dark-mode").click()
    await eventually(lambda: _assert_equal(view.theme, "basicDark"))
    await user.open("/runbooks/report-check")  # the choice is kept for the browser
    [view] = user.find(ui.codemirror).elements
    assert view.theme == "basicDark"


def _assert_equal(got, wanted) -> None:
    assert got == wanted, got
