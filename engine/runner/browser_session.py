"""A job's browser context: URL policy on every request, console errors, live frames."""

import asyncio
import base64
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Browser, BrowserContext, CDPSession, Page, Request
from playwright.async_api import Error as PlaywrightError

from engine.bus import events
from engine.identity import audit
from engine.runner.network_guard import NetworkGuard
from engine.runner.step_context import JobContext

log = logging.getLogger(__name__)

FRAME_INTERVAL_S = 0.12  # at most ~8 live frames a second


def origin(url: str) -> tuple[str, int]:
    """(host, port) of a URL: how a blocked connection and a navigation are matched."""
    parts = urlsplit(url)
    return ((parts.hostname or "").lower(),
            parts.port or (443 if parts.scheme in ("https", "wss") else 80))


def watch_requests(ctx: JobContext, page: Page) -> None:
    """Note each main-frame navigation and redirect hop of the running step: a block of
    one of them fails the step; runbook's allowed_hosts is judged for each hop."""
    def on_request(request: Request) -> None:
        if request.is_navigation_request() and request.frame == page.main_frame:
            ctx.navigations.append(request.url)

    page.on("request", on_request)


def navigation_blocked(ctx: JobContext) -> tuple[str, str] | None:
    """(url, reason) when the running step's navigation, or one of its redirect hops, was
    blocked by the guard or left the runbook's allowed_hosts; else None."""
    for url in ctx.navigations:
        reason = ctx.policy.outside_allowed_hosts(url)
        if reason:
            return url, reason
    navigated = {origin(url) for url in ctx.navigations}
    for url, reason in ctx.blocks:
        if origin(url) in navigated:
            return next((n for n in ctx.navigations if origin(n) == origin(url)), url), reason
    return None


def on_blocked(ctx: JobContext) -> Callable[[str, str], None]:
    """What the network guard calls for each request it blocked (on the browser loop)."""
    def blocked(url: str, reason: str) -> None:
        ctx.blocks.append((url, reason))
        task = asyncio.get_running_loop().create_task(note_block(ctx, url, reason))
        ctx.background.add(task)
        task.add_done_callback(ctx.background.discard)

    return blocked


async def note_block(ctx: JobContext, url: str, reason: str) -> None:
    """Each URL the policy blocked goes to the audit log once per job (secrets masked)."""
    url = ctx.redactor.text(url)
    if url in ctx.blocked_seen:
        return
    ctx.blocked_seen.add(url)
    try:
        await asyncio.to_thread(audit.record, "jobdeck", "url_blocked",
                                job_id=ctx.artifacts.job_id, target=url[:500],
                                comment=ctx.redactor.text(reason))
    except Exception:  # the block itself must happen whatever the database says
        log.exception("could not record a blocked URL in the audit log")


def watch_page(ctx: JobContext, page: Page) -> None:
    """Keep the page's last console errors (for diagnostics) and notice a renderer crash."""
    def keep(text: str) -> None:
        ctx.console_errors.append(ctx.redactor.text(text)[:500])
        del ctx.console_errors[:-10]  # the last ten are what diagnostics show

    def crashed(_page: Page) -> None:
        ctx.crashed = True

    page.on("console", lambda msg: keep(msg.text) if msg.type == "error" else None)
    def page_error(exc: Exception) -> None:
        keep(str(exc))
        ctx.page_errors.append(ctx.redactor.text(str(exc))[:500])

    page.on("pageerror", page_error)
    page.on("crash", crashed)


SCREENCAST = {"format": "jpeg", "quality": 60, "maxWidth": 1280, "maxHeight": 720}

# Whether the tab shows one of FORMS (lower case, white space runs as one space) as text
# or as a field's value: in its document, open shadow roots and same-origin frames.
SHOWS_SECRET_JS = """(() => {
  const forms = FORMS, texts = [];
  const visit = (root) => {
    texts.push(root.textContent || "");
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) visit(el.shadowRoot);
      if (el.tagName === "INPUT" || el.tagName === "TEXTAREA") texts.push(el.value);
      if (el.tagName === "IFRAME" || el.tagName === "FRAME") {
        let inner = null;
        try { inner = el.contentDocument; } catch (e) {}
        if (inner && inner.documentElement) visit(inner.documentElement);
      }
    }
  };
  visit(document.documentElement);
  const text = texts.join(" ").replace(/\\s+/g, " ").toLowerCase();
  return forms.some((form) => text.includes(form));
})()"""


class LiveView:
    """Streams JPEG frames of the page (CDP screencast) onto the bus while someone watches
    the job: viewers repeat a VIEWING event (engine/bus/events.py); with none for
    VIEWING_TTL_S the screencast stops, so an unwatched job pays nothing for it. Each frame
    is encoded once by Chromium and published once, whatever the number of viewers.
    A frame taken while the tab shows a secret (`secret_texts`, Redactor.page_texts) as
    text is dropped: screencast frames cannot be masked."""

    def __init__(self, cdp: CDPSession, job_id: int, bus: events.EventBus,
                 secret_texts: list[str] | None = None):
        self.job_id, self.bus, self._cdp = job_id, bus, cdp
        forms = sorted({" ".join(text.split()).lower() for text in secret_texts or []})
        # Sent over CDP, not Playwright's API: a trace records no CDP call, so the forms
        # stay out of it.
        self._probe = SHOWS_SECRET_JS.replace("FORMS", json.dumps(forms)) if forms else ""
        self.current_step: str | None = None
        self.suspended = False
        self.streaming = False
        self._last_viewed = 0.0
        self._loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task] = set()
        self._cdp.on("Page.screencastFrame", self._on_frame)
        self._heard = [cdp]  # the CDP sessions whose frames come to _on_frame
        self._unsubscribe = bus.subscribe(self._on_event)

    def _on_event(self, event: events.Event) -> None:  # any thread: the bus's
        if event.kind == events.VIEWING and event.job_id == self.job_id:
            try:
                self._loop.call_soon_threadsafe(self._viewed)
            except RuntimeError:  # the loop is gone (process stopping)
                pass

    def _viewed(self) -> None:
        self._last_viewed = time.monotonic()
        if not self.streaming and not self.suspended:
            self.streaming = True
            self._spawn(self._stream())

    def _spawn(self, coro) -> None:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _stream(self) -> None:
        try:
            await self._cdp.send("Page.startScreencast", SCREENCAST)
            while not self.suspended and (
                    time.monotonic() - self._last_viewed < events.VIEWING_TTL_S):
                await asyncio.sleep(1)
            await self._cdp.send("Page.stopScreencast")
        except PlaywrightError:  # the page closed
            pass
        finally:
            self.streaming = False

    async def _on_frame(self, params: dict) -> None:
        # Chromium sends the next frame only once this one is acknowledged: acknowledging
        # after FRAME_INTERVAL_S caps the rate at the source, so Chromium encodes only the
        # frames viewers get (not every painted frame, ~60 a second on a busy page).
        if not self.suspended and not await self._shows_secret():
            frame = events.Event(events.SCREENSHOT, self.job_id, {
                "jpeg": base64.b64decode(params["data"]), "step": self.current_step,
                "live": True})
            await asyncio.to_thread(self.bus.publish, frame)  # a link or Redis: I/O
        await asyncio.sleep(FRAME_INTERVAL_S)
        try:
            await self._cdp.send("Page.screencastFrameAck", {"sessionId": params["sessionId"]})
        except PlaywrightError:
            pass

    async def _shows_secret(self) -> bool:
        """Whether the tab shows a secret as text; when it cannot be told, yes."""
        if not self._probe:
            return False
        try:
            reply = await self._cdp.send("Runtime.evaluate", {
                "expression": self._probe, "returnByValue": True})
        except PlaywrightError:
            return True
        return reply.get("result", {}).get("value") is not False

    def follow(self, page: Page, cdp: CDPSession) -> None:
        """Show another tab: frames come from its CDP session from now on."""
        old, self._cdp = self._cdp, cdp
        if cdp not in self._heard:  # a tab shown before already sends to _on_frame
            self._heard.append(cdp)
            cdp.on("Page.screencastFrame", self._on_frame)
        if self.streaming:
            self._spawn(self._move_screencast(old))

    async def _move_screencast(self, old: CDPSession) -> None:
        try:
            await old.send("Page.stopScreencast")
        except PlaywrightError:  # the old tab closed
            pass
        try:
            await self._cdp.send("Page.startScreencast", SCREENCAST)
        except PlaywrightError:
            pass

    def suspend(self) -> None:
        """No more frames: a secret is on the page in clear text."""
        self.suspended = True

    def close(self) -> None:
        self._unsubscribe()
        self.suspended = True
        for task in list(self._tasks):
            task.cancel()


DEFAULT_VIEWPORT = {"width": 1280, "height": 720}


@dataclass
class JobPage:
    """A job's browser context, its page, a CDP session on that page, and the network
    guard the context's every connection goes through."""

    context: BrowserContext
    page: Page
    cdp: CDPSession  # for what Playwright has no call for: stop loading, screencast
    guard: NetworkGuard

    async def close(self) -> None:
        try:
            await self.context.close()
        finally:
            await self.guard.close()


async def new_job_page(browser: Browser, ctx_settings=None, video_dir=None,
                       http_credentials: dict | None = None,
                       storage_state: dict | None = None) -> JobPage:
    """A fresh context, page and CDP session for one job (defaults: a spare for any job
    with the default viewport, no video and no HTTP credentials). Its guard blocks
    everything until the job gives it its policy (`guard.use`). `http_credentials`
    ({username, password}) answer the sites' HTTP Basic and Digest challenges;
    `storage_state` (Playwright's {cookies, origins}) starts the context with that state
    (a retried job's, engine/runner/resume.py)."""
    viewport = ctx_settings.viewport if ctx_settings else DEFAULT_VIEWPORT
    guard = NetworkGuard()
    # Chromium would otherwise send loopback and `*.localhost` straight out, unchecked.
    kwargs: dict[str, Any] = {"viewport": viewport, "accept_downloads": True,
                              "proxy": {"server": await guard.start(), "bypass": "<-loopback>"}}
    if video_dir is not None:
        kwargs.update(record_video_dir=str(video_dir), record_video_size=viewport)
    if http_credentials:
        kwargs["http_credentials"] = http_credentials
    if storage_state is not None:
        kwargs["storage_state"] = storage_state
    try:
        context = await browser.new_context(**kwargs)
    except BaseException:
        await guard.close()
        raise
    try:
        page = await context.new_page()
        return JobPage(context, page, await context.new_cdp_session(page), guard)
    except BaseException:
        await context.close()
        await guard.close()
        raise
