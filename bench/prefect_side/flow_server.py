"""Runs inside the bench's own Prefect virtualenv: the 20-step browser procedure as a
Prefect flow whose tasks are one browser step each. Reads "run" lines on stdin, answers
each with the run's wall time in ms; the browser stays open between runs (as Jobdeck's
worker keeps its browser). Usage: python flow_server.py URL STEPS_JSON CHROMIUM_PATH"""

import json
import sys
import time

from playwright.sync_api import expect, sync_playwright
from prefect import flow, task

URL, STEPS, CHROMIUM = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
TIMEOUT_MS = 10000
state = {}


@task
def step(action: str, selector: str | None, value: str | None) -> None:
    page = state["page"]
    if action == "goto":
        page.goto(URL, timeout=TIMEOUT_MS)
    elif action == "fill":
        page.locator(selector).fill(value, timeout=TIMEOUT_MS)
    elif action == "click":
        page.locator(selector).click(timeout=TIMEOUT_MS)
    else:
        expect(page.locator(selector)).to_contain_text(value, timeout=TIMEOUT_MS)


@flow(name="browser-procedure")
def procedure() -> None:
    context = state["browser"].new_context(viewport={"width": 1280, "height": 720})
    state["page"] = context.new_page()
    try:
        for action, selector, value in STEPS:
            step(action, selector, value)
    finally:
        context.close()


def main() -> None:
    with sync_playwright() as playwright:
        state["browser"] = playwright.chromium.launch(executable_path=CHROMIUM)
        print("ready", flush=True)
        for line in sys.stdin:
            if line.strip() != "run":
                break
            started = time.perf_counter()
            procedure()
            print(f"{(time.perf_counter() - started) * 1000:.1f}", flush=True)


if __name__ == "__main__":
    main()
