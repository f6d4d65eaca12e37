"""Run one claimed job in a browser: every step in order, recorded as it goes."""

import logging

from playwright.sync_api import Browser
from playwright.sync_api import Error as PlaywrightError

from engine.bus import events
from engine.errors import StepFailed
from engine.runbook.actions import ACTIONS
from engine.runbook.model import Runbook, Step
from engine.runbook.templating import render
from engine.runner.approvals import wait_for_approval
from engine.runner.browser_session import (
    DEFAULT_VIEWPORT,
    LiveView,
    collect_console_errors,
    guard_requests,
    new_job_context,
)
from engine.runner.captures import holds, read_capture
from engine.runner.control_listener import POLL_S, JobControl
from engine.runner.records import JobRecorder
from engine.runner.step_context import JobContext, StepRunState
from engine.runner.url_policy import UrlPolicy
from engine.secrets.values import Redactor, redact_archive
from engine.store.artifacts import ArtifactStore
from models import ArtifactKind, ErrorKind, JobStatus, StepStatus

log = logging.getLogger(__name__)


class BrowserCrashed(Exception):
    """The browser went away; the worker replaces it before its next job."""


class JobExecution:
    """One job's run: create the context, walk the steps, close and record the end."""

    def __init__(self, job_id: int, runbook: Runbook, values: dict[str, str],
                 secret_values: list[str], browser: Browser, settings,
                 bus: events.EventBus, spare_context: tuple | None = None):
        self.job_id, self.runbook, self.browser, self.settings = job_id, runbook, browser, settings
        self.bus = bus
        self.recorder = JobRecorder(job_id, bus)
        self.redactor = Redactor(secret_values)
        self.values = values
        self.failure: StepFailed | None = None  # what ends the job as failed
        self.stopped = False  # no further steps run (stop_on_error, a crash)
        self.live: LiveView | None = None
        self.crashed = False  # the worker then replaces its browser
        self.approver = None  # optional callable(step) -> "approve" | "reject"
        self.spare_context = spare_context  # (context, page, cdp) opened ahead, or None
        self.spare_used = False
        self.control = JobControl(job_id, bus)
        self.cancelled_by: str | None = None

    def run(self) -> JobStatus:
        rb = self.runbook.settings
        store = ArtifactStore(self.settings.data_dir, self.job_id)
        video_dir = store.dir / "video-tmp" if rb.video else None
        if self.spare_context and video_dir is None and rb.viewport == DEFAULT_VIEWPORT:
            context, page, cdp = self.spare_context  # opened while the worker was idle
            self.spare_used = True
        else:
            context, page, cdp = new_job_context(self.browser, rb, video_dir)
        self.ctx = JobContext(
            runbook=self.runbook, page=page, context=context, cdp=cdp,
            policy=UrlPolicy(self.settings.private_host_allowlist, rb.allowed_hosts),
            artifacts=store, redactor=self.redactor, values=self.values,
            max_download_bytes=int(self.settings.max_download_mb * 1024 * 1024),
            run_nested=self.run_repeat)
        if rb.base_url:
            self.values["__base_url__"] = render(rb.base_url, self.values)
        try:
            self.control.watch(page)
            guard_requests(self.ctx)
            collect_console_errors(self.ctx, page)
            if rb.trace:  # the trace's screenshots would show a typed secret unmasked
                context.tracing.start(screenshots=not self.runbook.secrets, snapshots=True)
            if getattr(self.bus, "has_subscribers", True):
                self.live = LiveView(cdp, self.job_id, self.bus)
            self.run_steps(self.runbook.steps)
        except BrowserCrashed:
            self.crashed = True
        finally:
            self.control.close()
            self._close(context, page, store, video_dir)
        if self.cancelled_by:
            return self.recorder.job_finished(
                JobStatus.cancelled, ErrorKind.cancelled,
                f"cancelled by {self.cancelled_by}; artifacts recorded so far are kept").status
        if self.failure:
            return self.recorder.job_finished(JobStatus.failed, self.failure.kind,
                                              self.failure.message).status
        return self.recorder.job_finished(JobStatus.completed).status

    # -- steps ---------------------------------------------------------------------------
    def run_steps(self, steps: list[Step], parent_id: int | None = None,
                  iteration: int | None = None) -> None:
        for index, step in enumerate(steps):
            if self.stopped:
                if parent_id is None:  # the timeline lists what never ran
                    self.recorder.step_skipped(step.name, step.action, step.description)
                continue
            self.obey_actions()
            if self.stopped:
                if parent_id is None:
                    self.recorder.step_skipped(step.name, step.action, step.description)
                continue
            if index and self.runbook.settings.step_delay_ms:
                self.ctx.page.wait_for_timeout(self.runbook.settings.step_delay_ms)
            if step.when is not None and not self._holds(step.when):
                self.recorder.step_skipped(step.name, step.action, step.description,
                                           parent_id, iteration)
                continue
            if step.approval is not None:
                wait_for_approval(self, step)
                if self.cancelled_by:  # cancelled while waiting: the step never ran
                    self.recorder.step_skipped(step.name, step.action, step.description,
                                               parent_id, iteration)
                if self.stopped:
                    continue
            self.run_step(step, parent_id, iteration)

    # -- actions -------------------------------------------------------------------------
    def obey_actions(self) -> None:
        """Between steps: pause (keeping the browser) or cancel, as a person asked."""
        action, by = self.control.pending()
        if action == "cancel":
            self.cancel(by)
        elif action == "pause":
            self.recorder.set_status(JobStatus.paused, by=by)
            while True:
                self.control.wait(POLL_S)
                action, by = self.control.pending()
                if action == "resume":
                    self.recorder.set_status(JobStatus.running, by=by)
                    return
                if action == "cancel":
                    self.cancel(by)
                    return

    def cancel(self, by: str | None) -> None:
        self.cancelled_by, self.stopped = by or "someone", True

    def run_step(self, step: Step, parent_id: int | None, iteration: int | None) -> None:
        row = self.recorder.step_started(step.name, step.action, step.description,
                                         parent_id, iteration)
        assert row.id is not None  # step_started inserted the row
        if self.live:
            self.live.current_step = step.name
        rb = self.runbook.settings
        st = StepRunState(step=step, step_run_id=row.id,
                          timeout_ms=step.timeout_ms if step.timeout_ms is not None
                          else rb.timeout_ms,
                          retries=step.retries if step.retries is not None else rb.retries)
        captures: dict[str, str] = {}
        failure: StepFailed | None = None
        action = ACTIONS[step.action]
        try:
            action.run(self.ctx, st, render(step.args, self.values))
            if not action.nested:  # the nested steps took their own captures
                for cap in step.captures:
                    captures[cap.name] = read_capture(self.ctx, cap)
                    self.values[cap.name] = captures[cap.name]
        except StepFailed as exc:
            failure = exc if self._browser_alive(exc.message) else StepFailed(
                ErrorKind.browser_crashed, f"the browser stopped: {exc.message}")
        except PlaywrightError as exc:
            failure = self._classify(exc)
        if failure and self.control.cancel_requested.is_set():
            self.cancel(self.cancelled_by or self.control.pending()[1])
            failure = StepFailed(ErrorKind.cancelled, "cancelled while this step ran")
        if self.ctx.masked and self.live:
            self.live.suspend()
        if not action.nested:
            self._step_screenshot(step, row.id, failure is not None)
        status = StepStatus.success
        if failure:
            status = StepStatus.failed
            failure = StepFailed(failure.kind, self.redactor.text(failure.message),
                                 self.redactor.data(self._diagnostics(failure)))
        self.recorder.step_finished(
            row, status, retries=st.used_retries, selector_used=st.selector_used,
            captures=self.redactor.data(captures),
            error_kind=failure.kind.value if failure else None,
            error_message=failure.message if failure else None,
            diagnostics=failure.diagnostics if failure else {})
        if failure and failure.kind == ErrorKind.cancelled:
            return
        if failure and failure.kind == ErrorKind.browser_crashed:
            self.failure, self.stopped = failure, True
            raise BrowserCrashed(failure.message)
        if failure and not step.continue_on_error:
            self.failure = self.failure or failure
            if rb.stop_on_error:
                self.stopped = True

    def run_repeat(self, step: Step, row_id: int) -> None:
        """Run a repeat's steps as its iterations (nested under its row `row_id`); raises
        StepFailed when an iteration failed or the job was cancelled."""
        assert step.max is not None  # the loader requires max on a repeat
        for n in range(1, step.max + 1):
            if step.while_ is not None and not self._holds(step.while_):
                return
            failed_before = self.failure
            self.run_steps(step.steps, row_id, n)
            if self.cancelled_by:
                raise StepFailed(ErrorKind.cancelled, f"cancelled during iteration {n}")
            if self.stopped or self.failure is not failed_before:
                assert self.failure is not None  # only a cancel stops without a failure
                raise StepFailed(self.failure.kind, f"iteration {n} failed: "
                                 f"{self.failure.message}")
            if step.until is not None and self._holds(step.until):
                return

    def _holds(self, cond) -> bool:
        try:
            return holds(self.ctx, cond)
        except PlaywrightError as exc:
            log.warning("condition could not be read: %s", exc)
            return False

    # -- recording helpers ---------------------------------------------------------------
    def _browser_alive(self, text: str) -> bool:
        """False when an error says the browser (or its page) died under the step."""
        return self.browser.is_connected() and "Target crashed" not in text and (
            "has been closed" not in text or self.stopped)

    def _classify(self, exc: PlaywrightError) -> StepFailed:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        if not self._browser_alive(text):
            return StepFailed(ErrorKind.browser_crashed, f"the browser stopped: {text}")
        if "Timeout" in type(exc).__name__ or "Timeout" in text:
            return StepFailed(ErrorKind.action_failed, f"the element was found but the action "
                              f"did not complete: {text} (is it hidden, disabled or covered?)")
        return StepFailed(ErrorKind.action_failed, text)

    def _diagnostics(self, failure: StepFailed) -> dict:
        diag = dict(failure.diagnostics)
        diag["console_errors"] = list(self.ctx.console_errors)
        try:
            diag["url"], diag["title"] = self.ctx.page.url, self.ctx.page.title()
        except PlaywrightError:
            pass
        return diag

    def _step_screenshot(self, step: Step, row_id: int, failed: bool) -> None:
        mode = self.runbook.settings.screenshots
        if mode == "off" or (mode == "on_failure" and not failed):
            return
        try:
            data = self.ctx.page.screenshot(type="jpeg", quality=60, mask=self.ctx.masked,
                                            timeout=3000)
        except PlaywrightError:
            return
        self.ctx.artifacts.save(ArtifactKind.screenshot, f"after {step.name}", data, "jpg",
                                row_id)
        self.bus.publish(events.Event(events.SCREENSHOT, self.job_id,
                                      {"jpeg": data, "step": step.name, "live": False}))

    def _close(self, context, page, store: ArtifactStore, video_dir) -> None:
        rb = self.runbook.settings
        try:
            if rb.trace:
                path = store.new_path("trace", "zip")
                context.tracing.stop(path=str(path))
                redact_archive(path, self.redactor)  # it holds typed values and requests
                store.record(ArtifactKind.trace, "trace.zip", path, None)
            video = page.video
            context.close()
            if video is not None:
                path = store.new_path("video", "webm")
                video.save_as(str(path))
                video.delete()
                store.record(ArtifactKind.video, "video.webm", path, None)
        except PlaywrightError as exc:
            log.warning("job %s: closing the browser context failed: %s", self.job_id, exc)
        finally:
            if video_dir is not None and video_dir.exists():
                for leftover in video_dir.iterdir():
                    leftover.unlink()
                video_dir.rmdir()
