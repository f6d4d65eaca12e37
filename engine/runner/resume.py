"""Retry from step N, in the runner: a retried job (`Job.resume`) restores a snapshot of
the old job and runs on from where that job stood (docs/recovery.md); the snapshots
themselves are taken by engine/runner/snapshot_taking.py.

A retried job opens its context with the snapshot's storage state, reopens its tabs,
takes back its values and collections, copies the old job's rows before the resume point,
and starts at the resume path: its loops at the path's iteration, their nested steps at
the path's step.
"""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import TYPE_CHECKING, Callable, cast
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from sqlmodel import col, select

from engine.errors import StepFailed
from engine.runbook.model import Step
from engine.runner.browser_session import DEFAULT_VIEWPORT, JobPage, new_job_page
from engine.runner.tabs import switch_to
from engine.store.db import read_scope
from engine.store.snapshots import (
    SnapshotInfo,
    SnapshotUnreadable,
    ancestry,
    list_snapshots,
    read_state,
    restore_point,
    row_path,
)
from models import ErrorKind, StepRun, StepStatus

if TYPE_CHECKING:  # the execution imports this module
    from engine.runner.execution import JobExecution

AGAIN = "; retry from step 1 instead (or Re-run the job)"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [repr(exc)])[0]


async def open_job_page(job: JobExecution, video_dir: Path | None) -> JobPage:
    """The job's context and page: a retried job's with the restored storage state (one
    Chromium rejects: a fresh context, and the first step fails with restore_failed), else
    the spare page opened ahead when it fits, else a new one."""
    rb = job.runbook.settings
    state = await job.resuming.load() if job.resuming else None
    if state is None and job.spare and video_dir is None and (
            rb.viewport == DEFAULT_VIEWPORT and job.http_credentials is None):
        job.spare_used = True
        return job.spare  # opened while the worker was idle
    if state is not None and job.resuming:
        try:
            return await new_job_page(job.browser, rb, video_dir, job.http_credentials,
                                      state)
        except PlaywrightError as exc:
            job.resuming.fail(f"the browser did not accept the state restored from job "
                              f"#{job.resuming.old_job} ({_first_line(exc)})" + AGAIN)
    return await new_job_page(job.browser, rb, video_dir, job.http_credentials, None)


class Resumption:
    """A retried job's restore and where it starts (`plan`: the job's `resume`)."""

    def __init__(self, job: JobExecution, plan: dict):
        self.job, self.plan = job, plan
        self.old_job: int = plan["job"]
        self.path: list = list(plan["path"])
        self.at = 0  # the next path element to reach
        self.parent: int | None = None  # the row under which the next element runs
        self.state: dict | None = None
        self.failure: StepFailed | None = None  # fails the first step that runs
        self.rows: list[StepRun] = []  # the old job's rows before the resume point
        self.resume_row: StepRun | None = None  # the old row resumed at
        self.ancestors: list[int] = []  # the old rows of the loops around the resume point
        self.parents: dict[int, int] = {}  # old row id -> this job's copy
        self.snaps: list[SnapshotInfo] = []  # the old job's

    async def load(self) -> dict | None:
        """Read the old rows and the snapshot; the storage state to open the context with
        (None: a fresh one). A snapshot that cannot be read is the first step's failure."""
        await asyncio.to_thread(self._read_rows)
        seq = self.plan.get("snapshot")
        if seq is None:
            return None
        try:
            self.state = await asyncio.to_thread(read_state, self.snaps, seq)
        except SnapshotUnreadable as exc:
            self.fail(f"the browser state of job #{self.old_job} cannot be restored: {exc}"
                      + AGAIN)
            return None
        return self.state["storage_state"]

    def _read_rows(self) -> None:
        ordinal = self.plan["from_ordinal"]
        self.snaps = list_snapshots(self.job.settings.data_dir, self.old_job)
        with read_scope() as session:
            rows = list(session.exec(select(StepRun).where(
                StepRun.job_id == self.old_job, col(StepRun.ordinal) <= ordinal)
                .order_by(col(StepRun.ordinal))))
        by_id = {r.id: r for r in rows}
        self.resume_row = next((r for r in rows if r.ordinal == ordinal), None)
        if self.resume_row is not None:
            self.ancestors = [cast(int, r.id) for r in ancestry(by_id, self.resume_row)]
        self.rows = [r for r in rows if r.ordinal < ordinal]

    def fail(self, message: str) -> None:
        """The restore failed: the first step that runs fails with `message`."""
        self.failure = self.failure or StepFailed(ErrorKind.restore_failed, message)

    async def restore(self) -> None:
        """Copy the rows before the resume point outside its loops, take back the values
        and collections, reopen the tabs (the job's own reloaded and checked)."""
        if self.state is not None:
            self.job.values.update(self.state["values"])
            self.job.ctx.collections = copy.deepcopy(self.state["collections"])
            if self.failure is None:
                await self._reopen_tabs()
        top = self.ancestors[0] if self.ancestors else None
        await self._copy(lambda chain: top not in chain, 0, None)

    async def _copy(self, keep: Callable[[list[int]], bool], level: int,
                    loop: StepRun | None) -> None:
        """Copy the old rows whose ancestor chain (ids, outermost first) `keep` accepts,
        at `level` of the resume path (0: top level; `loop`: this job's row of the loop
        they are in), and snapshot the state before the path's next row, so that this
        job can be retried from there in turn."""
        by_id = {r.id: r for r in self.rows}
        rows = [r for r in self.rows if r.id not in self.ancestors
                and keep([a.id for a in ancestry(by_id, r)])]
        copies = await asyncio.to_thread(self.job.recorder.rows_restored, rows,
                                         self.parents, self.old_job) if rows else []
        label = copies[-1] if copies else loop
        snapshots = self.job.snapshots
        if label is None or self.failure is not None or not snapshots.on:
            return
        if level == len(self.ancestors):  # the innermost: the restored state itself
            if self.state is not None:
                await snapshots.take(label)
            return
        # an outer level: the old job's state before the loop the path enters next
        # (not the restored one: that is inside the loop)
        state = await asyncio.to_thread(self._state_before, self.ancestors[level])
        await snapshots.flush()  # in order, and not after a write that failed
        if state is not None and snapshots.on:
            snapshots.start_whole()
            snapshots.write(label, {**state, "collections": {  # a whole one: all from 0
                name: {"from": 0, "records": records}
                for name, records in state["collections"].items()},
                "rows": self.job.recorder.rows_started,
                                    "after_ordinal": label.ordinal, "step": label.name,
                                    "path": row_path(cast(dict, self.job.recorder.places),
                                                     label)})
            snapshots.start_whole()  # the next one is whole: it follows another state

    def _state_before(self, old_id: int) -> dict | None:
        """The old job's whole state just before its row `old_id`; None when none was
        kept (no snapshot, or a step succeeded after the last one)."""
        target = next(r for r in self.rows if r.id == old_id)
        snap = restore_point(self.snaps, target.ordinal)
        after = snap.rows if snap else 0
        if snap is None or any(r.status == StepStatus.success and after < r.ordinal
                               for r in self.rows if r.ordinal < target.ordinal):
            return None
        try:
            return read_state(self.snaps, snap.seq)
        except SnapshotUnreadable:
            return None

    async def _reopen_tabs(self) -> None:
        ctx, state = self.job.ctx, self.state
        assert state is not None
        urls, current = state["tabs"] or [state["url"]], state["current"]
        pages = [ctx.page]
        ctx.expecting_tab = True  # the restored tabs are not surprises
        try:
            for _ in urls[1:]:
                pages.append(await ctx.context.new_page())
        except PlaywrightError as exc:
            self.fail(f"the tabs of job #{self.old_job} could not be opened again "
                      f"({_first_line(exc)})" + AGAIN)
            return
        finally:
            ctx.expecting_tab = False
        for n, (page, url) in enumerate(zip(pages, urls, strict=True)):
            if n != current and url != "about:blank":
                await self._load(page, url, check=False)
        if urls[current] != "about:blank":
            await self._load(pages[current], urls[current], check=True)
        ctx.tab_history[:] = []
        try:
            await switch_to(ctx, pages[current], remember=False)
        except PlaywrightError as exc:
            self.fail(f"the restored tab {urls[current]} could not be shown "
                      f"({_first_line(exc)})" + AGAIN)
            return
        ctx.tab_history[:] = [p for p in pages if p is not pages[current]]

    async def _load(self, page, url: str, check: bool) -> None:
        """Reload a restored tab; the job's own must land on the same URL path."""
        job = self.job
        timeout = job.runbook.settings.timeout_ms or None
        try:
            response = await page.goto(url, timeout=timeout)
        except PlaywrightError as exc:
            if check:
                self.fail(f"the restored page {url} did not load ({_first_line(exc)})"
                          + AGAIN)
            return
        if not check:
            return
        refused = f"the site did not accept the browser state restored from job " \
                  f"#{self.old_job}"
        if urlsplit(page.url)[:3] != urlsplit(url)[:3]:
            self.fail(f"the restored page {url} loaded as {page.url}: {refused}" + AGAIN)
        elif response is not None and response.status >= 400:
            self.fail(f"the restored page {url} answered HTTP {response.status}: {refused}"
                      + AGAIN)

    # -- where the run starts ------------------------------------------------------------
    def start_index(self, steps: list[Step], parent_id: int | None) -> tuple[int, bool]:
        """Where a list of steps starts, and whether it resumes there: at the path's step
        when the list is the one the path goes through next (True), else at its first."""
        if self.at >= len(self.path) or parent_id != self.parent:
            return 0, False
        name = self.path[self.at]
        index = next((i for i, s in enumerate(steps) if s.name == name), None)
        if index is None:
            self.fail(f'step "{name}" of the resume point is not in this runbook version')
            self.at = len(self.path)
            return 0, False
        self.at += 1
        return index, True

    async def entered(self, step: Step, row: StepRun) -> None:
        """A step's row started: a loop on the path gets the old rows it had before the
        resume point (earlier iterations); the first step fails if the restore failed."""
        if 0 < self.at < len(self.path) and self.path[self.at - 1] == step.name and (
                self.parent == row.parent_id and self.at % 2 == 1):
            level = (self.at - 1) // 2
            old = self.ancestors[level]
            after = self.ancestors[level + 1] if level + 1 < len(self.ancestors) else None
            assert row.id is not None
            self.parents[old] = row.id
            self.parent = row.id
            await self._copy(lambda chain: old in chain and after not in chain, level + 1,
                             row)
        if self.failure is not None:
            failure, self.failure = self.failure, None
            self.at = len(self.path)
            raise failure

    def first_iteration(self, row_id: int) -> int | None:
        """The iteration a loop on the path resumes at (None: not resuming this loop)."""
        if self.at < len(self.path) and self.parent == row_id and isinstance(
                self.path[self.at], int):
            self.at += 1
            return self.path[self.at - 1]
        return None
