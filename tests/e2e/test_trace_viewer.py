"""A job recorded with `trace: true` opens in Playwright's own trace viewer inside a real
console, in real Chromium, offline: the viewer comes from the console and shows the job's
actions, and the page asks nothing of any other origin."""

import time

import pytest
from test_console_in_browser import add, in_browser, job_of, start

pytestmark = pytest.mark.slow

# the demo site the console itself mounts: the traced pages are on the console's origin,
# so any request to another origin would be the viewer reaching out (a CDN, fonts, …)
TRACED_RUNBOOK = """
version: 1
name: e2e-traced
title: Traced form
settings: {base_url: SITE, timeout_ms: 8000, retries: 0, screenshots: off, trace: true}
steps:
  - {name: open, action: goto, url: /form}
  - {name: name, action: fill, selector: "#name", value: Ada Lovelace}
  - {name: send, action: click, selector: {role: button, name: Send}}
  - {name: read, action: assert, selector: "#result", text: Ada Lovelace}
"""


def finished(console, job_id: int) -> dict:
    deadline = time.monotonic() + 90
    while (job := job_of(console, job_id))["status"] not in ("completed", "failed"):
        assert time.monotonic() < deadline, "the traced job did not end"
        time.sleep(0.2)
    return job


def test_a_traced_job_opens_in_playwrights_trace_viewer_offline(console):
    add(console, f"{console}/demo", TRACED_RUNBOOK)
    job = finished(console, start(console, "e2e-traced")["id"])
    assert job["status"] == "completed", job
    assert [a["name"] for a in job["artifacts"] if a["kind"] == "trace"] == ["trace.zip"]

    def scenario(page):
        requests: list[str] = []
        page.context.on("request", lambda request: requests.append(request.url))
        page.goto(f"{console}/jobs/{job['id']}")
        page.get_by_text("Open trace").click()
        page.wait_for_url(f"**/jobs/{job['id']}/trace")
        viewer = page.frame_locator("iframe[data-trace-viewer]")
        actions = viewer.locator(".action-title")
        actions.filter(has_text="Ada Lovelace").first.wait_for(timeout=30_000)
        titles = actions.all_inner_texts()
        return titles, requests

    titles, requests = in_browser(None, scenario, console)
    firsts = [t.split("\n")[0] for t in titles]  # a title, its duration, its target
    assert any(t.startswith("Navigate") and "/demo/form" in t for t in titles), titles
    assert 'Fill "Ada Lovelace"' in firsts and "Click" in firsts, titles
    assert any('name="Send"' in t for t in titles if t.startswith("Click")), titles
    elsewhere = [u for u in requests
                 if not u.startswith((console + "/", "data:", "blob:", "about:"))]
    assert not elsewhere, f"the page asked another origin: {elsewhere}"
    assert any(u.startswith(f"{console}/trace/") for u in requests)  # the viewer is ours
    trace_id = next(a["id"] for a in job["artifacts"] if a["kind"] == "trace")
    assert f"{console}/api/artifacts/{trace_id}" in requests  # read with the session
