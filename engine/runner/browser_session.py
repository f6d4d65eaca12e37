"""A job's browser context: URL policy on every request, console errors, live frames."""

import base64
import logging
import time
from typing import Any
from urllib.parse import urljoin

from playwright.sync_api import Browser, CDPSession, Page, Route
from playwright.sync_api import Error as PlaywrightError

from engine.bus import events
from engine.identity import audit
from engine.runner.step_context import JobContext

log = logging.getLogger(__name__)

FRAME_INTERVAL_S = 0.15  # at most ~7 live frames a second


def guard_requests(ctx: JobContext) -> None:
    """Check every request against the URL policy; navigations also after each redirect."""

    def on_route(route: Route) -> None:
        try:
            check(route)
        except PlaywrightError:  # the page moved on (stopped, closed) meanwhile
            pass

    def check(route: Route) -> None:
        request = route.request
        navigation = request.is_navigation_request()
        reason = ctx.policy.blocked_reason(request.url, navigation=navigation)
        if reason is None and navigation:
            # Follow redirects one hop at a time so every hop is checked.
            try:
                response = route.fetch(max_redirects=0)
            except PlaywrightError:
                route.continue_()
                return
            location = response.headers.get("location")
            if 300 <= response.status < 400 and location:
                target = urljoin(request.url, location)
                reason = ctx.policy.blocked_reason(target)
                if reason:
                    ctx.blocked = (target, reason)
                    note_block(ctx, target, reason)
                    route.abort("blockedbyclient")
                    return
            route.fulfill(response=response)
            return
        if reason:
            if navigation:
                ctx.blocked = (request.url, reason)
            note_block(ctx, request.url, reason)
            route.abort("blockedbyclient")
            return
        route.continue_()

    ctx.context.route("**/*", on_route)


def note_block(ctx: JobContext, url: str, reason: str) -> None:
    """Each URL the policy blocked goes to the audit log once per job (secrets masked)."""
    url = ctx.redactor.text(url)
    if url in ctx.blocked_seen:
        return
    ctx.blocked_seen.add(url)
    try:
        audit.record("jobdeck", "url_blocked", job_id=ctx.artifacts.job_id, target=url[:500],
                     comment=ctx.redactor.text(reason))
    except Exception:  # the block itself must happen whatever the database says
        log.exception("could not record a blocked URL in the audit log")


def collect_console_errors(ctx: JobContext, page: Page) -> None:
    def keep(text: str) -> None:
        ctx.console_errors.append(ctx.redactor.text(text)[:500])
        del ctx.console_errors[:-10]  # the last ten are what diagnostics show

    page.on("console", lambda msg: keep(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: keep(str(exc)))


class LiveView:
    """Streams JPEG frames of the page (CDP screencast) onto the bus while anyone listens.

    Frames only arrive while the page changes and while this thread is inside a
    Playwright call, which is exactly when a step is busy.
    """

    def __init__(self, cdp: CDPSession, job_id: int, bus: events.EventBus):
        self.job_id, self.bus = job_id, bus
        self.current_step: str | None = None
        self.suspended = False
        self._last = 0.0
        self._cdp = cdp
        self._cdp.on("Page.screencastFrame", self._on_frame)
        self._cdp.send("Page.startScreencast", {"format": "jpeg", "quality": 60,
                                                "maxWidth": 1280, "maxHeight": 720})

    def _on_frame(self, params: dict) -> None:
        try:
            self._cdp.send("Page.screencastFrameAck", {"sessionId": params["sessionId"]})
        except PlaywrightError:
            return
        now = time.monotonic()
        if self.suspended or now - self._last < FRAME_INTERVAL_S:
            return
        self._last = now
        self.bus.publish(events.Event(events.SCREENSHOT, self.job_id, {
            "jpeg": base64.b64decode(params["data"]), "step": self.current_step, "live": True}))

    def suspend(self) -> None:
        """No more frames: a secret is on the page in clear text."""
        self.suspended = True


DEFAULT_VIEWPORT = {"width": 1280, "height": 720}
# Every document of a job's context logs a tick every 500 ms. While a step waits (even on
# a navigation: the old document lives until the new one arrives), those console events
# run handlers on the worker's thread, which is how a cancel reaches a busy step.
TICK = "jobdeck-tick"
TICK_SCRIPT = f"setInterval(() => console.debug({TICK!r}), 500)"


def new_job_context(browser: Browser, ctx_settings=None, video_dir=None) -> tuple:
    """A fresh context, page and CDP session for one job (defaults: a spare for any job
    with the default viewport and no video)."""
    viewport = ctx_settings.viewport if ctx_settings else DEFAULT_VIEWPORT
    kwargs: dict[str, Any] = {"viewport": viewport, "accept_downloads": True}
    if video_dir is not None:
        kwargs.update(record_video_dir=str(video_dir), record_video_size=viewport)
    context = browser.new_context(**kwargs)
    context.add_init_script(TICK_SCRIPT)  # lets a cancel interrupt a step (job_control.py)
    page = context.new_page()
    return context, page, context.new_cdp_session(page)
