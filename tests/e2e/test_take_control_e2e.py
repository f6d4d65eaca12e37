"""Take control, end to end: a job asks for a person (a `handover` step), someone takes
control on the job page of a real console, clicks into the job's page in the live view and
types, hands back, and the job goes on with what they typed. Real Chromium on both sides."""

import os
from pathlib import Path

import httpx
import pytest
from support import ADMIN_PASSWORD, eventually, in_browser_thread, viewer_browser
from test_console_in_browser import add, in_browser, job_of, sign_in, start

from engine.runner.browser_session import DEFAULT_VIEWPORT

pytestmark = pytest.mark.slow
TYPED = "Ada 4711"
HANDOVER_RUNBOOK = """
version: 1
name: e2e-handover
title: Needs a person
settings: {base_url: SITE, timeout_ms: 5000, retries: 0, screenshots: off,
           approval_timeout_s: 120}
steps:
  - {name: open, action: goto, url: /form}
  - {name: code, action: handover, message: "Type the code sent to the team phone"}
  - {name: send, action: click, selector: {role: button, name: Send}}
  - name: read
    action: assert
    selector: "#result"
    text: plan
    capture:
      typed: {selector: "#result dd >> nth=0"}
"""
# Where the screenshot of the job page under control is kept, to look at
SHOT = Path(os.environ.get("JOBDECK_TEST_SHOTS", "/tmp")) / "take-control-job-page.png"


def name_field_fraction(site: str) -> tuple[float, float]:
    """Where the form's name field is on the job's page, as fractions of its viewport."""
    def find():
        page = viewer_browser().new_page(viewport=DEFAULT_VIEWPORT)
        try:
            page.goto(f"{site}/form")
            box = page.locator("#name").bounding_box()
        finally:
            page.close()
        assert box is not None
        return ((box["x"] + box["width"] / 2) / DEFAULT_VIEWPORT["width"],
                (box["y"] + box["height"] / 2) / DEFAULT_VIEWPORT["height"])
    return in_browser_thread(find)


def copy_to_clipboard(page, text: str) -> None:
    """Put `text` on the clipboard as a person would: select it in a field and copy."""
    page.evaluate("""text => { const f = document.createElement('input'); f.id = 'copy-me';
        f.value = text; document.body.append(f); }""", text)
    page.locator("#copy-me").select_text()
    page.keyboard.press("Control+C")
    page.evaluate("document.getElementById('copy-me').remove()")


def test_take_control_type_into_the_page_and_hand_back(console, site, settings):
    add(console, site, HANDOVER_RUNBOOK)
    fx, fy = name_field_fraction(site)
    job = start(console, "e2e-handover")
    job_id = job["id"]
    try:
        eventually(lambda: job_of(console, job_id)["status"] in ("paused", "failed"), 60,
                   "the job to ask for a person")
        assert job_of(console, job_id)["status"] == "paused", job_of(console, job_id)
        colleague = console.user_token("petra", "operator")

        def scenario(page):
            page.goto(f"{console}/jobs/{job_id}")
            request = page.locator("[data-handover]")
            request.wait_for(timeout=30_000)
            asked = request.inner_text()
            page.locator("[data-control-action=take]").click()
            page.locator("[data-control=mine]").wait_for(timeout=10_000)
            image = page.locator("[data-live] img")
            page.wait_for_function(  # the live frames of the paused job's page come in
                "() => (document.querySelector('[data-live] img')?.src || '')"
                ".startsWith('data:image/jpeg')", timeout=20_000)
            copy_to_clipboard(page, "4711x")
            box = image.bounding_box()
            page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
            page.keyboard.type("Ada ")
            page.keyboard.press("Control+V")  # a paste arrives as text
            page.keyboard.press("Backspace")  # a named key
            banner = page.locator("[data-control=mine]").inner_text()
            page.wait_for_timeout(1500)  # a frame or two of what was typed, for the picture
            page.screenshot(path=str(SHOT), full_page=True)
            others_see = seen_by_colleague()
            page.locator("[data-control-action=hand-back]").click()
            page.locator('[data-job-status="completed"]').wait_for(timeout=30_000)
            return asked, banner, others_see

        def seen_by_colleague() -> str:
            context = viewer_browser().new_context()
            try:
                other = context.new_page()
                sign_in(other, console, "petra", ADMIN_PASSWORD)
                other.goto(f"{console}/jobs/{job_id}")
                shown = other.locator("[data-control=other]")
                shown.wait_for(timeout=10_000)
                buttons = other.locator("[data-control-action]").count()
                return f"{shown.inner_text()} | buttons: {buttons}"
            finally:
                context.close()

        asked, banner, others_see = in_browser(settings, scenario, console)
    except BaseException:  # never leave it holding the console's one worker
        httpx.post(f"{console}/api/jobs/{job_id}/cancel", headers=console.headers)
        raise
    assert "Type the code sent to the team phone" in asked
    assert "You have control — your clicks and typing go to the job's browser" in banner
    assert others_see.startswith("admin has control since") and "buttons: 0" in others_see
    assert colleague  # petra exists, with a token the API would take
    done = job_of(console, job_id)
    steps = {s["name"]: s for s in done["steps"]}
    assert steps["read"]["captures"] == {"typed": TYPED}  # what the job's page received
    takeover = [s for s in done["steps"] if s["name"] == "taken over by admin"]
    assert takeover and "inputs" in (takeover[0]["description"] or "")
    assert done["control"] is None
