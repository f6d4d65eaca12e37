"""Run one claimed job in a browser: every step in order, recorded as it goes.

A coroutine on the worker process's browser loop (browser_host.py); the database is
written from threads (`asyncio.to_thread`), so that one job's write never holds up the
other jobs on the loop.
"""

import asyncio
import logging
import re

from playwright.async_api import Browser
from playwright.async_api import Error as PlaywrightError

from engine.bus import events
from engine.errors import StepFailed, StorageFull
from engine.runbook.actions import ACTIONS
from engine.runbook.model import Runbook, Step
from engine.runbook.templating import render
from engine.runner.approvals import wait_for_approval
from engine.runner.browser_session import (
    JobPage,
    LiveView,
    navigation_blocked,
    on_blocked,
    watch_page,
    watch_requests,
)
from engine.runner.captures import holds, read_capture
from engine.runner.closing import close_job_page
from engine.runner.control_listener import JobControl
from engine.runner.loops import run_iterations
from engine.runner.records import JobRecorder
from engine.runner.resume import Resumption, open_job_page
from engine.runner.snapshot_taking import Snapshots
from engine.runner.step_context import JobContext, StepRunState
from engine.runner.step_tools import settle
from engine.runner.tabs import describe_tabs, watch_tabs
from engine.runner.takeover import Takeover
from engine.runner.url_policy import UrlPolicy
from engine.runner.visual import VisualCheck
from engine.secrets.values import Redactor, basic_auth_forms
from engine.store.artifacts import ArtifactStore
from models import ArtifactKind, ErrorKind, JobStatus, StepRun, StepStatus

log = logging.getLogger(__name__)


CRASH_SIGNS = ("Target crashed", "Page crashed")  # how Playwright says a renderer died
# Call-log lines of Playwright that say what it tried, not why it could not.
ROUTINE_LOG = ("retrying", "waiting", "attempting", "scrolling", "done scrolling",
               "performing", "locator resolved", "element is visible, enabled and stable")


class BrowserCrashed(Exception):
    """The browser or this job's renderer went away: this job ends (the other jobs on a
    live browser go on; a dead browser is replaced before the next job)."""


class JobExecution:
    """One job's run: create the context, walk the steps, close and record the end."""

    def __init__(self, job_id: int, runbook: Runbook, values: dict[str, str],
                 secret_values: list[str], browser: Browser, settings,
                 bus: events.EventBus, spare: JobPage | None = None,
                 resume: dict | None = None, runbook_version: int | None = None):
        self.job_id, self.runbook, self.browser, self.settings = job_id, runbook, browser, settings
        self.bus = bus
        self.recorder = JobRecorder(job_id, bus)
        self.values = values
        rb = runbook.settings
        self.http_credentials = render(rb.http_credentials, values) if (
            rb.http_credentials) else None
        # The Authorization header carries them base64-encoded (RFC 7617): mask that too.
        self.redactor = Redactor(secret_values + basic_auth_forms(self.http_credentials))
        self.failure: StepFailed | None = None  # what ends the job as failed
        self.stopped = False  # no further steps run (stop_on_error, a crash)
        self.live: LiveView | None = None
        self.takeover = Takeover(self)  # a person driving the page by hand
        self.visual = VisualCheck(self)  # each step's screenshot against the last good job's
        self.approver = None  # optional callable(step) -> "approve" | "reject"
        self.spare = spare  # a page opened ahead on this browser, or None
        self.spare_used = False
        self.opened = False  # its context is set up (before that, nothing was recorded)
        self.cancelled_by: str | None = None
        self.runbook_version = runbook_version
        self.snapshots = Snapshots(self)  # the state after each step, for Retry from step N
        self.resuming = Resumption(self, resume) if resume else None  # a retried job's

    async def run(self) -> JobStatus:
        """The whole job, from a fresh context to its final record; returns its status."""
        rb = self.runbook.settings
        store = ArtifactStore(self.settings.data_dir, self.job_id)
        video_dir = store.dir / "video-tmp" if rb.video else None
        self.control = JobControl(self.job_id, self.bus)
        try:
            job_page = await open_job_page(self, video_dir)
        except BaseException:
            self.control.close()
            raise
        context, page, cdp = job_page.context, job_page.page, job_page.cdp
        self.ctx = JobContext(
            runbook=self.runbook, page=page, context=context, cdp=cdp,
            policy=UrlPolicy(self.settings.private_host_allowlist, rb.allowed_hosts),
            artifacts=store, redactor=self.redactor, values=self.values,
            max_download_bytes=int(self.settings.max_download_mb * 1024 * 1024),
            run_nested=self.run_nested, guard=job_page.guard)
        if rb.base_url:
            self.values["__base_url__"] = render(rb.base_url, self.values)
        self.ctx.cdp_sessions[page] = cdp
        try:
            self.control.watch(page)
            watch_page(self.ctx, page)
            watch_requests(self.ctx, page)
            watch_tabs(self.ctx)
            job_page.guard.use(self.ctx.policy, on_blocked(self.ctx))
            if rb.trace:  # the trace's screenshots would show a typed secret unmasked
                await context.tracing.start(screenshots=not self.runbook.secrets,
                                            snapshots=True)
            self.live = LiveView(cdp, self.job_id, self.bus, self.redactor.page_texts)
            self.ctx.on_switch += [lambda tab, _: self.control.watch(tab), self.live.follow]
            self.takeover.start()
            self.opened = True
            if self.resuming:
                await self.resuming.restore()
            await self.run_steps(self.runbook.steps)
        except BrowserCrashed:
            pass
        finally:
            try:
                await self.snapshots.flush()  # the last one is on disk before the job ends
            finally:
                await self.takeover.close()  # a takeover still held: its row, page open
                self.control.close()
                if self.live:
                    self.live.close()
                await close_job_page(self.job_id, job_page, store, video_dir, rb,
                                     self.redactor)
        end: tuple[JobStatus, ErrorKind | None, str | None]
        if self.cancelled_by:
            end = (JobStatus.cancelled, ErrorKind.cancelled,
                   f"cancelled by {self.cancelled_by}; artifacts recorded so far are kept")
        elif self.failure:
            end = (JobStatus.failed, self.failure.kind, self.failure.message)
        else:
            end = (JobStatus.completed, None, None)
        return (await asyncio.to_thread(self.recorder.job_finished, *end)).status

    # -- steps ---------------------------------------------------------------------------
    async def run_steps(self, steps: list[Step], parent_id: int | None = None,
                        iteration: int | None = None) -> None:
        start, resumed = self.resuming.start_index(steps, parent_id) if self.resuming \
            else (0, False)
        for index, step in enumerate(steps):
            if index < start:  # before the resume point: restored from the old job
                continue
            if not self.stopped:
                await self.obey_actions()
            if self.stopped:
                if parent_id is None:  # the timeline lists what never ran
                    await self._skipped(step, reached=False)
                continue
            if index and self.runbook.settings.step_delay_ms:
                await asyncio.sleep(self.runbook.settings.step_delay_ms / 1000)
            # the step resumed at ran in the old job: its `when` held there
            if step.when is not None and not (resumed and index == start) and (
                    not await self.condition_holds(step.when)):
                await self._skipped(step, parent_id, iteration)
                continue
            row = None
            if step.approval is not None:  # the step starts with its wait: it is current
                row = await self._started(step, parent_id, iteration)
                await wait_for_approval(self, step, row)
                if self.stopped:  # rejected, timed out or cancelled: the row is closed
                    continue
            await self.run_step(step, parent_id, iteration, row)

    async def _started(self, step: Step, parent_id: int | None,
                       iteration: int | None) -> StepRun:
        return await asyncio.to_thread(self.recorder.step_started, step.name, step.action,
                                       self._description(step), parent_id, iteration)

    async def _skipped(self, step: Step, parent_id: int | None = None,
                       iteration: int | None = None, reached: bool = True) -> None:
        await asyncio.to_thread(self.recorder.step_skipped, step.name, step.action,
                                self._description(step), parent_id, iteration, reached)

    def _description(self, step: Step) -> str | None:
        """The step's description, templated like its parameters (secrets masked)."""
        if step.description is None:
            return None
        return self.redactor.text(render(step.description, self.values))

    # -- actions -------------------------------------------------------------------------
    async def obey_actions(self) -> None:
        """Between steps: pause (keeping the browser) or cancel, as a person asked."""
        action, by = await self.control.pending()
        if action == "cancel" or self.control.cancel_requested.is_set():
            self.cancel(by)
        elif action == "pause":
            await asyncio.to_thread(self.recorder.set_status, JobStatus.paused, by=by)
            while True:
                await self.control.wait(3600)
                action, by = await self.control.pending()
                if action == "resume":  # a takeover's row comes before the next step's
                    await self.takeover.settle(f"the job was resumed by {by}")
                    await asyncio.to_thread(self.recorder.set_status, JobStatus.running,
                                            by=by)
                    return
                if action == "cancel" or self.control.cancel_requested.is_set():
                    self.cancel(by)
                    await self.takeover.settle(f"the job was cancelled by {self.cancelled_by}")
                    return

    def cancel(self, by: str | None) -> None:
        self.cancelled_by, self.stopped = by or "someone", True

    async def run_step(self, step: Step, parent_id: int | None, iteration: int | None,
                       row: StepRun | None = None) -> None:
        """Run one step on its row (`row`: started already, when it waited for approval)."""
        row = row or await self._started(step, parent_id, iteration)
        assert row.id is not None  # step_started inserted the row
        self.ctx.enter_step(row.id, step.action, parent_id, iteration)
        if self.live:
            self.live.current_step = step.name
        rb = self.runbook.settings
        st = StepRunState(step=step, step_run_id=row.id,
                          timeout_ms=step.timeout_ms if step.timeout_ms is not None
                          else rb.timeout_ms,
                          retries=step.retries if step.retries is not None else rb.retries,
                          frame=render(step.frame, self.values))
        captures: dict[str, str] = {}
        failure: StepFailed | None = None
        action = ACTIONS[step.action]
        if not action.nested:  # blocks that came between steps stay: this step shows them
            self.ctx.navigations.clear()
            self.ctx.page_errors.clear()  # only the step's own count for fail_on_page_errors
            self.ctx.dialog_answer = render(step.dialog, self.values)
        try:
            if self.resuming:  # a loop on the resume path; a failed restore fails the step
                await self.resuming.entered(step, row)
            await action.run(self.ctx, st, render(step.args, self.values))
            if not action.nested and self.ctx.navigations and step.action != "goto":
                await settle(self.ctx, st)  # goto waited for the load itself
            if not action.nested and (blocked := navigation_blocked(self.ctx)):
                raise StepFailed(ErrorKind.blocked_url,
                                 f"navigation to {blocked[0]} blocked: {blocked[1]}")
            if not action.nested and rb.fail_on_page_errors and self.ctx.page_errors:
                raise StepFailed(ErrorKind.action_failed, "the page threw an uncaught error "
                                 f"during the step: {self.ctx.page_errors[0]}",
                                 {"page_errors": list(self.ctx.page_errors)})
            if not action.nested:  # the nested steps took their own captures
                for cap in step.captures:
                    captures[cap.name] = await read_capture(self.ctx, cap, st.frame)
                    self.values[cap.name] = captures[cap.name]
        except StepFailed as exc:
            failure = exc if self._browser_alive(exc.message) else StepFailed(
                ErrorKind.browser_crashed, f"the browser stopped: {exc.message}")
        except StorageFull as exc:  # a screenshot, export or download the disk cannot hold
            failure = StepFailed(ErrorKind.storage_full, str(exc))
        except PlaywrightError as exc:
            blocked = navigation_blocked(self.ctx)
            failure = self._classify(exc, st.selector_used) if not blocked else StepFailed(
                ErrorKind.blocked_url, f"navigation to {blocked[0]} blocked: {blocked[1]}")
        if failure and self.control.cancel_requested.is_set():
            self.cancel(self.cancelled_by or (await self.control.pending())[1])
            failure = StepFailed(ErrorKind.cancelled, "cancelled while this step ran")
        if self.ctx.masked and self.live:
            self.live.suspend()
        cancelled = failure is not None and failure.kind == ErrorKind.cancelled
        change: float | None = None  # how much the page changed against the baseline
        if not action.nested and not cancelled:  # a cancel is closing the page
            shot = await self._step_screenshot(step, row.id, failure is not None)
            if shot is not None:
                change, failure = await self.visual.compare(step, st, row.id, shot, failure)
        status = StepStatus.success
        if failure:  # a step a cancel stopped did not fail: it is not counted as failed
            status = (StepStatus.cancelled if failure.kind == ErrorKind.cancelled
                      else StepStatus.failed)
            failure = StepFailed(failure.kind, self.redactor.text(failure.message),
                                 self.redactor.data(await self._diagnostics(failure)))
        diagnostics = failure.diagnostics if failure else {}
        if not action.nested and self.ctx.blocks:  # e.g. an image the policy kept out
            diagnostics = {**diagnostics, "blocked_requests": self.redactor.data(
                [{"url": url, "reason": reason} for url, reason in self.ctx.blocks[:20]])}
            self.ctx.blocks.clear()
        page_events = await self._page_events() if not action.nested else {}
        # for Retry from step N: the state is read while the row is written
        snapshot = self.snapshots.begin(row) if status == StepStatus.success else None
        try:
            await asyncio.to_thread(
                self.recorder.step_finished, row, status, retries=st.used_retries,
                selector_used=st.selector_used, candidate=st.candidate,
                visual_change=change, captures=self.redactor.data(captures),
                error_kind=failure.kind.value if failure else None,
                error_message=failure.message if failure else None,
                diagnostics=diagnostics, **page_events)
        finally:  # never left running on its own
            await self.snapshots.settle(snapshot, row)
        if failure and failure.kind == ErrorKind.cancelled:
            return
        if failure and failure.kind == ErrorKind.browser_crashed:
            self.failure, self.stopped = failure, True
            raise BrowserCrashed(failure.message)
        if failure and not step.continue_on_error:
            self.failure = self.failure or failure
            if rb.stop_on_error or failure.kind in (ErrorKind.storage_full,
                                                    ErrorKind.restore_failed):
                self.stopped = True

    async def run_nested(self, step: Step, row_id: int) -> None:
        """A repeat's or a for_each's iterations (loops.py)."""
        await run_iterations(self, step, row_id)

    async def _page_events(self) -> dict:
        """What the page did during the step (dialogs, tabs opened, warnings), taken for
        its row; a tab opened without new_tab is a warning, as the job did not follow it."""
        ctx = self.ctx
        tabs = await describe_tabs(ctx.tabs_opened)
        for page, tab in zip(ctx.tabs_opened, tabs, strict=True):
            if page is not ctx.page and page not in ctx.tab_history:
                ctx.warnings.append(f"a new tab opened ({tab['url']}) and the job stayed on "
                                    "this one; give the step new_tab: true to work in it")
        events = {"dialogs": ctx.dialogs[:50], "tabs": tabs[:20], "warnings": ctx.warnings[:20]}
        ctx.dialogs, ctx.tabs_opened, ctx.warnings, ctx.page_errors = [], [], [], []
        return self.redactor.data(events)

    async def condition_holds(self, cond) -> bool:
        try:
            return await holds(self.ctx, cond)
        except PlaywrightError as exc:
            log.warning("condition could not be read: %s", exc)
            return False

    # -- recording helpers ---------------------------------------------------------------
    def _browser_alive(self, text: str) -> bool:
        """False when the browser or this job's renderer died under the step."""
        return self.browser.is_connected() and not self.ctx.crashed and not any(
            sign in text for sign in CRASH_SIGNS) and (
            "has been closed" not in text or self.stopped
            or self.control.cancel_requested.is_set())

    def _classify(self, exc: PlaywrightError, selector: str | None) -> StepFailed:
        """A Playwright error as the step's failure, in Playwright's own words: its first
        line, the reason its call log ends with (e.g. which element intercepts the
        pointer), the selector involved; the call log goes to the diagnostics."""
        lines = [line.strip() for line in str(exc).strip().splitlines()] or [repr(exc)]
        text = lines[0]
        if not self._browser_alive(text):
            return StepFailed(ErrorKind.browser_crashed, f"the browser stopped: {text}")
        log_lines = lines[lines.index("Call log:") + 1:] if "Call log:" in lines else []
        said = [re.sub(r"^[-\s]*(\d+ × )?", "", line) for line in log_lines]
        reason = next((line for line in reversed(said) if not line.startswith(ROUTINE_LOG)),
                      None)
        message = (f"{text.rstrip('.')}: {reason}" if reason else text) + (
            f" (selector {selector})" if selector else "")
        return StepFailed(ErrorKind.action_failed, message,
                          {"playwright": log_lines[-30:]} if log_lines else {})

    async def _diagnostics(self, failure: StepFailed) -> dict:
        diag = dict(failure.diagnostics)
        diag["console_errors"] = list(self.ctx.console_errors)
        try:
            diag["url"], diag["title"] = self.ctx.page.url, await self.ctx.page.title()
        except PlaywrightError:
            pass
        return diag

    async def _step_screenshot(self, step: Step, row_id: int, failed: bool) -> bytes | None:
        """The JPEG kept after the step (None when none was taken or kept)."""
        mode = self.runbook.settings.screenshots
        if mode == "off" or (mode == "on_failure" and not failed):
            return None
        try:
            data = await self.ctx.page.screenshot(type="jpeg", quality=60,
                                                  mask=self.ctx.masks(), timeout=3000)
        except PlaywrightError as exc:  # e.g. a page too busy to paint: say so on the step
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            self.ctx.warnings.append(
                f"the screenshot after this step could not be taken: {reason}")
            return None
        try:
            await asyncio.to_thread(self._keep_screenshot, step, row_id, data)
        except StorageFull as exc:  # the step did its work; the job cannot keep its files
            self.ctx.warnings.append(f"the screenshot after this step was not saved: {exc}")
            self.failure, self.stopped = StepFailed(ErrorKind.storage_full, str(exc)), True
            return None
        return data

    def _keep_screenshot(self, step: Step, row_id: int, data: bytes) -> None:
        self.ctx.artifacts.save(ArtifactKind.screenshot,
                                self.ctx.artifact_name(f"after {step.name}", row_id), data,
                                "jpg", row_id)
        self.bus.publish(events.Event(events.SCREENSHOT, self.job_id,
                                      {"jpeg": data, "step": step.name, "live": False}))
