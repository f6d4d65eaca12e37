"""End to end: a real console in a subprocess, driven by real Chromium as a user drives it."""

import csv
import io
import time

import httpx
import pytest
from support import ADMIN_PASSWORD, in_browser_thread, viewer_browser

from engine.demo_site import COMMENTS

pytestmark = pytest.mark.slow

LIVE_RUNBOOK = """
version: 1
name: e2e-live
title: Watch me live
settings: {base_url: SITE, timeout_ms: 8000, retries: 0, screenshots: each_step}
params:
  delay: {default: "300"}
steps:
  - {name: open, action: goto, url: "/late?delay_ms={{delay}}"}
  - {name: wait-items, action: wait, selector: .late-item}
  - {name: quotes, action: goto, url: /quotes/page/1}
  - {name: slow, action: goto, url: "/slow?seconds=1"}
  - {name: table, action: goto, url: /table}
"""

COMMENTS_RUNBOOK = """
version: 1
name: e2e-comments
title: Export comments
settings: {base_url: SITE, timeout_ms: 4000, retries: 0, screenshots: off}
steps:
  - name: open
    action: goto
    url: /comments
    capture:
      second: {selector: "li.comment >> nth=1"}
  - {name: rows, action: extract, selector: li.comment, fields: {text: ""}, into: comments}
  - {name: save, action: export, collection: comments, format: csv, filename: comments.csv}
"""


def add(console, site: str, yaml_text: str) -> None:
    response = httpx.post(f"{console}/api/runbooks", content=yaml_text.replace("SITE", site),
                          headers={"Content-Type": "application/x-yaml", **console.headers})
    assert response.status_code in (200, 201), response.text


def start(console, runbook: str, token: str | None = None) -> dict:
    """Start a job through the API, as the admin or as the owner of `token`."""
    headers = {"Authorization": f"Bearer {token}"} if token else console.headers
    return httpx.post(f"{console}/api/runbooks/{runbook}/jobs", json={},
                      headers=headers).json()


def job_of(console, job_id: int) -> dict:
    return httpx.get(f"{console}/api/jobs/{job_id}", headers=console.headers).json()


def sign_in(page, console, name: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    page.goto(f"{console}/login")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/jobs")


def in_browser(settings, scenario, console=None):
    """Run a scenario with a fresh browser context on the tests' browser thread, signed in
    to `console` as its admin."""
    def run():
        context = viewer_browser().new_context(viewport={"width": 1280, "height": 900},
                                                       accept_downloads=True)
        try:
            page = context.new_page()
            if console is not None:
                sign_in(page, console)
            return scenario(page)
        finally:
            context.close()
    return in_browser_thread(run)


def test_start_from_the_runbooks_page_and_watch_it_live(console, site, settings):
    add(console, site, LIVE_RUNBOOK)

    def scenario(page):
        page.goto(f"{console}/runbooks")
        page.locator('[data-runbook="e2e-live"]').get_by_role("button", name="Run").click()
        page.locator('[data-param="delay"]').fill("1200")
        page.get_by_role("button", name="Start job").click()
        page.wait_for_url("**/jobs/*")
        page.evaluate("window.stayedOnPage = true")  # a reload would drop it
        seen_succeeded, seen_frames, seen_running = set(), set(), set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            seen_succeeded.add(page.locator('[data-metric="metric-succeeded"] .text-2xl')
                               .inner_text())
            source = page.locator("[data-live] img").get_attribute("src") or ""
            if source:
                seen_frames.add(source[-64:])
            for row in page.locator('[data-step] [data-status="running"]').all():
                seen_running.add(row.is_visible())
            if page.locator('[data-job-status="completed"]').count():
                break
            page.wait_for_timeout(100)
        final = page.locator('[data-metric="metric-succeeded"] .text-2xl').inner_text()
        statuses = [page.locator(f'[data-step="{n}"] [data-status]').first
                    .get_attribute("data-status")
                    for n in ("open", "wait-items", "quotes", "slow", "table")]
        return (seen_succeeded, seen_frames, seen_running, final, statuses,
                page.evaluate("window.stayedOnPage === true"))

    succeeded, frames, running, final, statuses, stayed = in_browser(settings, scenario, console)
    assert final == "5" and statuses == ["success"] * 5
    assert len(succeeded) >= 3, f"the metric did not move live: {succeeded}"
    assert running, "no step was ever shown running"
    assert len(frames) >= 3, "the live view did not change"
    assert stayed, "the page reloaded"


def test_the_list_picks_up_a_job_started_through_the_api(console, site, settings):
    add(console, site, COMMENTS_RUNBOOK)

    def scenario(page):
        page.goto(f"{console}/jobs")
        page.wait_for_selector("text=Needs approval")
        page.evaluate("window.stayedOnPage = true")
        job = start(console, "e2e-comments")
        link = page.locator(f'a[href="/jobs/{job["id"]}"]')
        link.wait_for(timeout=12_000)  # events, or at worst the 10-second refresh
        return page.evaluate("window.stayedOnPage === true"), link.inner_text()

    stayed, text = in_browser(settings, scenario, console)
    assert stayed and text == "Export comments"


def test_an_export_previews_as_text_and_downloads(console, site, settings):
    add(console, site, COMMENTS_RUNBOOK)
    job = start(console, "e2e-comments")
    deadline = time.monotonic() + 60
    while job_of(console, job["id"])["status"] != "completed":
        assert time.monotonic() < deadline, "the job did not complete"
        time.sleep(0.2)

    def scenario(page):
        alerts = []
        page.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))
        page.goto(f"{console}/jobs/{job['id']}")
        row = page.locator("[data-artifact]").filter(has_text="comments.csv")
        row.get_by_role("button", name="View").click()
        preview = page.locator("[data-preview]")
        preview.wait_for()
        cells = preview.locator("tbody td").all_inner_texts()
        page.keyboard.press("Escape")
        page.locator('[data-step="open"]').click()  # open the step with the captured value
        page.get_by_text(COMMENTS[1], exact=True).first.wait_for()
        with page.expect_download() as download:
            row.get_by_role("button", name="Download").click()
        content = open(download.value.path(), encoding="utf-8").read()
        injected = page.locator('img[src="x"]').count() + page.locator("b:text('bold?')").count()
        return cells, content, alerts, injected, download.value.suggested_filename

    cells, content, alerts, injected, name = in_browser(settings, scenario, console)
    assert cells == COMMENTS
    assert [r["text"] for r in csv.DictReader(io.StringIO(content))] == COMMENTS
    assert name == f"job-{job['id']}-comments.csv"
    assert alerts == [] and injected == 0, "scraped markup was rendered as HTML"


APPROVAL_RUNBOOK = """
version: 1
name: e2e-approval
title: Needs a yes
settings: {base_url: SITE, timeout_ms: 5000, retries: 0, approval_timeout_s: 120}
steps:
  - {name: open, action: goto, url: /table}
  - name: risky
    action: goto
    url: /form
    description: Open the form
    approval: {message: "Go ahead?", risk: medium}
  - {name: after, action: goto, url: /table}
"""


@pytest.fixture(scope="module")
def operator_token(console) -> str:
    return console.user_token("otto", "operator")


def test_approve_from_the_dialog_on_an_open_job_page(console, site, settings, operator_token):
    add(console, site, APPROVAL_RUNBOOK)

    def scenario(page):  # an operator started it; the admin (another person) approves
        job = start(console, "e2e-approval", operator_token)
        page.goto(f"{console}/jobs/{job['id']}")
        dialog = page.locator("[data-approval]")
        dialog.wait_for(timeout=30_000)  # appears on its own when the job starts waiting
        text = dialog.inner_text()
        dialog.get_by_label("Comment (optional)").fill("checked the table")
        dialog.locator('[data-decide="approve"]').click()
        page.locator('[data-job-status="completed"]').wait_for(timeout=30_000)
        return job["id"], text, page.locator("[data-activity]").all_inner_texts()

    job_id, text, activity = in_browser(settings, scenario, console)
    assert "Go ahead?" in text and "risk: medium" in text and "Open the form" in text
    assert any("admin · approved" in a and "checked the table" in a for a in activity)
    done = job_of(console, job_id)
    assert [s["status"] for s in done["steps"]] == ["success"] * 3
    assert done["started_by"] == "otto"


def test_whoever_started_a_job_cannot_approve_it(console, site, settings):
    add(console, site, APPROVAL_RUNBOOK)

    def scenario(page):  # the admin started it: the dialog offers no decision
        job = start(console, "e2e-approval")
        page.goto(f"{console}/jobs/{job['id']}")
        dialog = page.locator("[data-approval]")
        dialog.wait_for(timeout=30_000)
        text, in_dialog = dialog.inner_text(), dialog.locator("[data-decide]").count()
        page.keyboard.press("Escape")
        on_page = page.locator('[data-action="approve"], [data-action="reject"]').count()
        others = page.locator('[data-action="cancel"]').count()  # the rest is still there
        page.goto(f"{console}/jobs?tab=approval")
        page.locator(f'a[href="/jobs/{job["id"]}"]').wait_for()
        row = page.locator("tr", has=page.locator(f'a[href="/jobs/{job["id"]}"]'))
        in_list = row.locator("[data-row-approve]").count()
        return job["id"], text, in_dialog + on_page + in_list, others

    job_id, text, buttons, others = in_browser(settings, scenario, console)
    try:
        # the console's only user started it: the dialog says how to get an approver
        assert "You started this job, and no other active user may approve it" in text
        assert "JOBDECK_FOUR_EYES=false" in text
    except AssertionError:  # never leave it holding the console's one worker
        httpx.post(f"{console}/api/jobs/{job_id}/cancel", headers=console.headers)
        raise
    assert buttons == 0 and others == 1
    refused = httpx.post(f"{console}/api/jobs/{job_id}/approve", headers=console.headers)
    assert refused.status_code == 403 and "four-eyes" in refused.json()["detail"]
    assert job_of(console, job_id)["status"] == "waiting_for_approval"  # nothing changed
    httpx.post(f"{console}/api/jobs/{job_id}/cancel", headers=console.headers)


def test_cancel_from_the_job_page_stops_a_running_step(console, site, settings):
    add(console, site, LIVE_RUNBOOK.replace("e2e-live", "e2e-cancel").replace(
        "/slow?seconds=1", "/slow?seconds=30").replace("timeout_ms: 8000", "timeout_ms: 60000"))

    def scenario(page):
        job = start(console, "e2e-cancel")
        page.goto(f"{console}/jobs/{job['id']}")
        page.locator('[data-step="slow"] [data-status="running"]').wait_for(timeout=30_000)
        page.locator('[data-action="cancel"]').click()
        page.locator("[data-confirm-yes]").click()
        page.locator('[data-job-status="cancelled"]').wait_for(timeout=10_000)
        return job["id"], page.locator("[data-action]").all_inner_texts()

    job_id, buttons = in_browser(settings, scenario, console)
    # all a cancelled job offers
    assert len(buttons) == 2 and "Re-run" in buttons[0] and "Retry from step" in buttons[1]
    done = job_of(console, job_id)
    assert done["status"] == "cancelled"
    assert next(s for s in done["steps"] if s["name"] == "slow")["error_kind"] == "cancelled"


def test_the_api_docs_render_offline(console, settings):
    """/docs shows the API's operations from the bundled Swagger UI (no CDN here)."""
    def scenario(page):
        page.goto(f"{console}/docs")
        page.get_by_text("List jobs, newest first").first.wait_for(timeout=10_000)
        return page.locator(".opblock").count(), page.get_by_text(
            "Unable to render this definition").count()

    operations, errors = in_browser(settings, scenario, console)
    assert errors == 0 and operations >= 10


XSS = "<img src=x onerror=window.pwned=1>"
XSS_RUNBOOK = f"""
version: 1
name: e2e-xss
title: "Markup {XSS}"
description: "<script>window.pwned=2</script> in the description"
settings: {{base_url: SITE, timeout_ms: 1500, retries: 0, screenshots: off,
           approval_timeout_s: 120}}
params:
  note: {{default: "<svg onload=window.pwned=3>"}}
steps:
  - name: open
    action: goto
    url: /comments
    description: "{XSS} in a step"
    capture:
      second: {{selector: "li.comment >> nth=1"}}
  - name: missing
    action: click
    selector: "#nothing-{{{{note}}}}"
    continue_on_error: true
  - name: ask
    action: goto
    url: /table
    approval: {{message: "{XSS} in the question"}}
"""


def test_markup_from_runbooks_sites_and_people_stays_text_everywhere(console, site, settings,
                                                                    operator_token):
    """Text that looks like HTML, from a runbook, a website and a person's comment, shown on
    every page that shows it: no script runs, nothing is injected."""
    add(console, site, XSS_RUNBOOK)
    job = start(console, "e2e-xss", operator_token)

    def scenario(page):
        alerts, seen = [], {}
        page.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))

        def check(name: str, *shown: str) -> None:
            for text in shown:  # the markup is on the page, as text, before looking
                # visible: a phone-only copy of a cell is hidden on this desktop viewport
                page.get_by_text(text).filter(visible=True).first.wait_for(timeout=15_000)
            seen[name] = page.evaluate("""[window.pwned, document.querySelectorAll(
                'img[src=x], svg[onload], [onerror], [onload]').length]""")

        page.goto(f"{console}/jobs/{job['id']}")
        dialog = page.locator("[data-approval]")
        dialog.wait_for(timeout=30_000)
        question = dialog.inner_text()
        check("approval dialog", f"{XSS} in the question")
        dialog.get_by_label("Comment (optional)").fill(f"no: {XSS}")
        dialog.locator('[data-decide="reject"]').click()
        page.locator('[data-job-status="failed"]').wait_for(timeout=30_000)
        page.locator('[data-step="open"]').click()
        page.locator('[data-step="missing"]').click()
        check("job page", f"Markup {XSS}", "<svg onload=window.pwned=3>", COMMENTS[1],
              f"no: {XSS}")
        shown_on = {"/jobs": [f"Markup {XSS}"],
                    "/runbooks": [f"Markup {XSS}", "<script>window.pwned=2</script>"],
                    "/runbooks/e2e-xss": [f"{XSS} in a step"],
                    "/audit": [f"no: {XSS}"]}
        for path, shown in shown_on.items():
            page.goto(f"{console}{path}")
            check(path, *shown)
        return alerts, seen, question, page.locator("body").inner_text()

    alerts, seen, question, audit_page = in_browser(settings, scenario, console)
    assert alerts == []
    assert all(found == [None, 0] for found in seen.values()), seen
    assert f"{XSS} in the question" in question  # shown, as text
    assert f"no: {XSS}" in audit_page


def test_signing_out_in_the_browser_ends_the_session(console, settings):
    def scenario(page):
        page.goto(f"{console}/jobs")
        page.locator('.q-btn:has-text("admin")').first.click()  # the menu under the name
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/login?signed_out=1")
        said = page.locator("main").inner_text()
        page.goto(f"{console}/jobs/1")  # the cookie is gone: back to the form
        return said, page.url

    said, url = in_browser(settings, scenario, console)
    assert "You are signed out" in said
    assert "/login?next=%2Fjobs%2F1" in url
