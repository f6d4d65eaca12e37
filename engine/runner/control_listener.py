"""The worker's side of job actions: a person's request is written on the job's row (the
truth, with the audit trail) and announced on the event bus (a hint to read the row now).

Requests from a process with no bus link to this one (the CLI on SQLite) are noticed by one
poll per worker process (`RequestPoller`), not one per job: a single query a second over
the jobs this process runs.
"""

import asyncio
import logging

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from sqlmodel import col, select

from engine.bus import events
from engine.store.db import read_scope, session_scope
from models import Job

log = logging.getLogger(__name__)
POLL_S = 1.0  # the longest a request written by a process without a bus link waits


class JobControl:
    """Actions for one running job, on the browser loop: `pending` between steps, `wait`
    while paused or waiting for approval, and a cancel that closes the job's page at once,
    which interrupts the step that is running."""

    def __init__(self, job_id: int, bus: events.EventBus):
        self.job_id = job_id
        self.woken = asyncio.Event()
        self.cancel_requested = asyncio.Event()
        self.page: Page | None = None
        self._loop = asyncio.get_running_loop()
        self._checking: asyncio.Task | None = None
        self._unsubscribe = bus.subscribe(self._on_event)
        RequestPoller.of_loop().add(self)

    def _on_event(self, event: events.Event) -> None:  # any thread: the bus's
        # Only a hint to read the job's row: an event alone can never cancel a job.
        if event.job_id == self.job_id and event.kind == events.CONTROL:
            try:
                self._loop.call_soon_threadsafe(self.hint)
            except RuntimeError:  # the loop is gone
                pass

    def hint(self) -> None:
        """A request may be on the row: wake the job, and look for a cancel now."""
        self.woken.set()
        if self._checking is None or self._checking.done():
            self._checking = self._loop.create_task(self._check_cancel())

    async def _check_cancel(self) -> None:
        if self.cancel_requested.is_set():
            return
        if await asyncio.to_thread(peek_request, self.job_id) == "cancel":
            await self.interrupt()

    async def interrupt(self) -> None:
        """Cancel: close the page, so that a step waiting on it fails at once."""
        self.cancel_requested.set()
        self.woken.set()
        if self.page is not None and not self.page.is_closed():
            try:
                await self.page.close()
            except PlaywrightError:
                pass

    async def pending(self) -> tuple[str | None, str | None]:
        """The action to obey now and who asked, if any; taken off the job's row."""
        if not self.woken.is_set():
            return None, None
        self.woken.clear()
        action, by = await asyncio.to_thread(take_request, self.job_id)
        if action == "cancel":
            self.cancel_requested.set()
        return action, by

    async def wait(self, timeout: float) -> None:
        """Sleep until a request may have arrived, or `timeout` seconds pass."""
        try:
            await asyncio.wait_for(self.woken.wait(), max(timeout, 0))
        except TimeoutError:
            pass

    def watch(self, page: Page) -> None:
        """The page a cancel closes."""
        self.page = page

    def close(self) -> None:
        self._unsubscribe()
        RequestPoller.of_loop().discard(self)
        if self._checking is not None:
            self._checking.cancel()


class RequestPoller:
    """Once a second, one query for requests on the rows of the jobs this loop runs; each
    job with one (or ended elsewhere, e.g. failed by the sweeper) gets a hint."""

    _by_loop: dict[asyncio.AbstractEventLoop, "RequestPoller"] = {}

    def __init__(self) -> None:
        self.controls: dict[int, JobControl] = {}
        self._task: asyncio.Task | None = None

    @classmethod
    def of_loop(cls) -> "RequestPoller":
        loop = asyncio.get_running_loop()
        if loop not in cls._by_loop:
            cls._by_loop[loop] = cls()
        return cls._by_loop[loop]

    def add(self, control: JobControl) -> None:
        self.controls[control.job_id] = control
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._poll())

    def discard(self, control: JobControl) -> None:
        if self.controls.get(control.job_id) is control:
            del self.controls[control.job_id]

    async def _poll(self) -> None:
        while self.controls:
            await asyncio.sleep(POLL_S)
            ids = list(self.controls)
            try:
                asked = await asyncio.to_thread(jobs_with_requests, ids)
            except Exception as exc:  # the database is away: the next round tries again
                log.warning("could not read job requests: %s", exc)
                continue
            for job_id in asked:
                if job_id in self.controls:
                    self.controls[job_id].hint()


def jobs_with_requests(job_ids: list[int]) -> list[int]:
    """Of `job_ids`, those with a pending request or already ended (elsewhere)."""
    with read_scope() as session:
        rows = session.exec(select(Job.id, Job.requested_action, Job.status)
                            .where(col(Job.id).in_(job_ids))).all()
    found = {job_id: (action, status) for job_id, action, status in rows}
    return [job_id for job_id in job_ids
            if job_id not in found or found[job_id][0] or found[job_id][1].is_final]


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
