"""The worker's side of job actions: hears them at once on the event bus, and reads the
job's row too (an action from another process may come without a bus event)."""

import threading
import time

from engine.bus import events
from engine.runner.browser_session import TICK
from engine.store.db import read_scope, session_scope
from models import Job

POLL_S = 1.0  # the longest an action written by another process waits to be seen


class JobControl:
    """Actions for one running job: `pending` between steps, `wait` while paused or waiting
    for approval, and `cancel_requested` for interrupting a step that is still running."""

    def __init__(self, job_id: int, bus: events.EventBus):
        self.job_id = job_id
        self.woken = threading.Event()
        self.cancel_requested = threading.Event()
        self._last_read = self._last_peek = time.monotonic()
        self._unsubscribe = bus.subscribe(self._on_event)

    def _on_event(self, event: events.Event) -> None:
        # Only a hint to read the job's row now: the row says what was asked (and the
        # audit trail who asked), so an event alone can never cancel a job.
        if event.job_id == self.job_id and event.kind == events.CONTROL:
            self.woken.set()
            self._last_peek = 0.0  # the next page tick reads the row

    def pending(self) -> tuple[str | None, str | None]:
        """The action to obey now and who asked, if any; taken off the job's row."""
        now = time.monotonic()
        if not self.woken.is_set() and now - self._last_read < POLL_S:
            return None, None
        self.woken.clear()
        self._last_read = now
        action, by = take_request(self.job_id)
        if action == "cancel":
            self.cancel_requested.set()
        return action, by

    def wait(self, timeout: float) -> None:
        """Sleep until an action arrives or `timeout` seconds pass."""
        self.woken.wait(min(timeout, POLL_S))

    def watch(self, page) -> None:
        """Close `page` as soon as a cancel arrives, even in the middle of a step.

        Playwright's sync API may only be used from the worker's own thread, which is busy
        inside the step; the page logs a tick every 500 ms (browser_session.TICK_SCRIPT),
        and its console handler runs in that thread, where it may close the page.
        """
        def on_tick(message) -> None:
            if message.text != TICK:
                return
            now = time.monotonic()
            if not self.cancel_requested.is_set() and now - self._last_peek >= POLL_S:
                self._last_peek = now  # a cancel from another process comes by the row
                if peek_request(self.job_id) == "cancel":
                    self.cancel_requested.set()
            if self.cancel_requested.is_set() and not page.is_closed():
                page.close()

        page.on("console", on_tick)

    def close(self) -> None:
        self._unsubscribe()


def take_request(job_id: int) -> tuple[str | None, str | None]:
    """The worker's side: the pending action and who asked, cleared from the row."""
    with session_scope() as session:
        job = session.get(Job, job_id)
        action, by = job.requested_action, job.requested_by
        if action:
            job.requested_action = job.requested_by = None
            session.add(job)
        return action, by


def peek_request(job_id: int) -> str | None:
    """The pending action of a job, left in place; "cancel" also when the job already
    ended elsewhere (the sweeper failed it while its worker was cut off)."""
    with read_scope() as session:
        job = session.get(Job, job_id)
        if job is None or job.status.is_final:
            return "cancel"
        return job.requested_action
