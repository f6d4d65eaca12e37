"""This process's one browser: a Playwright driver and a Chromium on an event-loop thread of
their own, where every job of the process runs as a coroutine in its own browser context.

Why one loop thread: Playwright's sync API binds a driver and a browser to the thread that
started them, so a thread per job meant a Chromium per job (211 MB each). Its async API on
one loop serves any number of contexts from one browser (isolated cookies, storage and
downloads per context); worker threads hand a job over with `run` and wait for its end.
Measured in docs/architecture.md ("One browser per worker process").
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from playwright.async_api import Browser, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from engine.runner.browser import find_browser, launch
from engine.runner.browser_session import JobPage, new_job_page
from engine.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


class BrowserHost:
    """Owns the loop thread, the driver, the browser and one spare page for the next job.

    The browser starts with the first job, is replaced when it died (a crash costs the
    jobs it ran, never the next one) and is recycled after `browser_recycle_jobs` jobs once
    no job is using it.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._launching: asyncio.Lock | None = None
        self._jobs_since_launch = 0
        self.jobs_running = 0
        self._spare: JobPage | None = None

    # -- the loop thread -----------------------------------------------------------------
    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop jobs run on, started on first use."""
        with self._start_lock:
            if self._loop is None or self._loop.is_closed():
                ready = threading.Event()

                def serve() -> None:
                    self._loop = asyncio.new_event_loop()
                    asyncio.set_event_loop(self._loop)
                    ready.set()
                    self._loop.run_forever()

                self._thread = threading.Thread(target=serve, name="jobdeck-browser",
                                                daemon=True)
                self._thread.start()
                ready.wait()
            assert self._loop is not None
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the browser loop and wait for its result (from any other thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    # -- the browser (coroutines: call on the loop) --------------------------------------
    async def browser(self, settings: Settings) -> Browser:
        """The process's browser, launched or replaced when needed.

        Raises BrowserNotFound (what to install) or PlaywrightError (the launch failed).
        """
        if self._launching is None:
            self._launching = asyncio.Lock()
        async with self._launching:  # two jobs starting at once share one launch
            browser = self._browser
            due = self._jobs_since_launch >= settings.browser_recycle_jobs
            if browser is not None and browser.is_connected() and not (
                    due and self.jobs_running == 0):
                return browser
            await self._close_browser()
            executable = find_browser(settings.browser_path)
            if self._playwright is None:
                self._playwright = await async_playwright().start()
            self._browser = await launch(self._playwright, executable, settings.browser_sandbox)
            self._jobs_since_launch = 0
            return self._browser

    async def browser_if_running(self) -> Browser | None:
        """The browser when one runs now (to look into it; never launches one)."""
        browser = self._browser
        return browser if browser is not None and browser.is_connected() else None

    def job_started(self) -> None:
        self.jobs_running += 1
        self._jobs_since_launch += 1

    def job_ended(self) -> None:
        self.jobs_running -= 1

    async def take_spare(self) -> JobPage | None:
        """The page opened ahead for the next job, if it is still usable."""
        spare, self._spare = self._spare, None
        if spare is not None and (not spare.context.browser
                                  or not spare.context.browser.is_connected()
                                  or spare.page.is_closed()):
            return None
        return spare

    async def keep_spare(self, spare: JobPage) -> None:
        """Keep an unused spare for a later job (close it when one is already kept)."""
        if self._spare is None:
            self._spare = spare
        else:
            await _close_quietly(spare)

    async def prepare_spare(self, settings: Settings) -> None:
        """Open the next job's page now, while the worker is idle: a new context costs
        ~160 ms, which would otherwise sit between a job's start and its first step."""
        if self._spare is not None:
            return
        try:
            self._spare = await new_job_page(await self.browser(settings))
        except PlaywrightError as exc:
            log.warning("could not open a spare browser context: %s", exc)
        except Exception as exc:  # no browser: the next job says what to install
            log.debug("no spare browser context: %s", exc)

    async def _close_browser(self) -> None:
        spare, self._spare = self._spare, None
        if spare is not None:
            await _close_quietly(spare)
        browser, self._browser = self._browser, None
        if browser is not None:
            try:
                await browser.close()
            except Exception:  # already gone
                pass

    async def close(self) -> None:
        """Close the browser and the driver (shutdown; tests switching browsers)."""
        await self._close_browser()
        playwright, self._playwright = self._playwright, None
        if playwright is not None:
            try:
                await playwright.stop()
            except Exception:
                pass


async def _close_quietly(job_page: JobPage) -> None:
    try:
        await job_page.close()
    except PlaywrightError:
        pass


HOST = BrowserHost()  # one per process
