"""The snapshots a job takes as it goes, for Retry from step N (docs/recovery.md).

A snapshot (engine/store/snapshots.py) follows every step that ends `success` when the
runbook's `settings.resume` is true. Each holds what changed since the job's previous
one: the records appended to each collection, the local storage of the origins whose
storage changed (the cookies, values, tabs and place in full: they are small), so that
a step's snapshot costs the same at step 5 and at step 500 of a job that collects rows.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

from engine.store.snapshots import row_path, write_snapshot
from models import StepRun

if TYPE_CHECKING:  # the execution imports this module
    from engine.runner.execution import JobExecution

log = logging.getLogger(__name__)

INTERNAL_VALUES = ("console_url",)  # and every `__name__`: set by the runner, not captured
LOCAL_STORAGE_JS = "() => Object.entries(window.localStorage)"
READ_TIMEOUT_S = 5  # a tab busy longer (a script hogging its main thread) is not waited for


class StorageUnread(Exception):
    """A tab's local storage could not be read in READ_TIMEOUT_S."""


async def browser_state(context: BrowserContext, known: dict[str, list]) -> dict:
    """The context's storage state in Playwright's form ({cookies, origins: [{origin,
    localStorage: [{name, value}]}]}): the cookies, and the local storage of each origin
    an open tab shows, read now; an origin no tab shows any more keeps what was read last
    (`known`, origin -> [name, value] pairs, kept by the caller). Not
    BrowserContext.storage_state(): for an origin no tab shows it opens a hidden tab and
    loads the origin there, 70 ms a snapshot once a job has left a second origin.
    StorageUnread when a tab does not answer within READ_TIMEOUT_S (a busy background
    tab must not hold the job up for ever)."""
    pages = [p for p in context.pages if urlsplit(p.url).scheme in ("http", "https")]

    async def read(page: Page) -> None:
        try:
            pairs = await asyncio.wait_for(page.evaluate(LOCAL_STORAGE_JS), READ_TIMEOUT_S)
        except PlaywrightError:  # navigating or closing: what was read last stands
            return
        except TimeoutError:
            raise StorageUnread(f"the tab {urlsplit(page.url).netloc} did not answer in "
                                f"{READ_TIMEOUT_S} s") from None
        parts = urlsplit(page.url)  # the origin: never a user name or password
        known[f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"] = pairs

    cookies, *_ = await asyncio.wait_for(
        asyncio.gather(context.cookies(), *(read(p) for p in pages)), READ_TIMEOUT_S + 1)
    return {"cookies": cookies, "origins": [
        {"origin": origin, "localStorage": [{"name": k, "value": v} for k, v in pairs]}
        for origin, pairs in known.items() if pairs]}


class Snapshots:
    """Takes the job's snapshots; after a failed write (a full disk) it takes no more."""

    def __init__(self, job: JobExecution):
        self.job = job
        self.on = job.runbook.settings.resume
        self.seq = 0
        self.bytes = 0  # written so far
        self.kept_out = set(job.runbook.params) | set(job.runbook.secrets)
        self.writing: tuple[StepRun, asyncio.Task] | None = None
        self.local_storage: dict[str, list] = {}  # origin -> pairs (browser_state)
        # what the previous snapshot holds: per collection its list and length; per
        # origin a hash of its local storage
        self.sent: dict[str, tuple[list, int]] = {}
        self.storage_sent: dict[str, str] = {}
        self.whole = True  # the next one replaces the state (a job's first one)

    def begin(self, row: StepRun) -> asyncio.Task | None:
        """`take` as a task, so that the job can write the step's row meanwhile (None
        when the job takes no snapshots)."""
        return asyncio.get_running_loop().create_task(self.take(row)) if self.on else None

    async def settle(self, task: asyncio.Task | None, row: StepRun) -> None:
        """Wait for `begin`'s task; a snapshot not taken becomes a warning on the row."""
        if task is None:
            return
        warning = await task
        if warning:
            await self._warn(row, warning)

    async def take(self, row: StepRun) -> str | None:
        """One snapshot after the step of `row` succeeded: the state is read now and
        written in a thread while the job goes on (the previous write is waited for first,
        so they land in order; `flush` waits for the last). Returns why none was taken
        (a warning for the step), else None."""
        await self.flush()
        job = self.job
        ctx = job.ctx
        if not self.on:
            return None
        try:
            pages = ctx.context.pages
            storage = await browser_state(ctx.context, self.local_storage)
        except (PlaywrightError, StorageUnread, TimeoutError) as exc:
            # e.g. the page is closing, or a tab too busy to answer: this step has none
            log.info("job %s: no snapshot after %s: %s", job.job_id, row.name, exc)
            return (f"no snapshot was taken after this step ({exc or 'timed out'}): Retry "
                    "from a later step may have to start earlier")
        values = {k: v for k, v in job.values.items() if k not in self.kept_out
                  and k not in INTERNAL_VALUES and not k.startswith("__")}
        # copies of what the job goes on changing while the thread writes (records are
        # appended, never changed)
        state = {"rows": job.recorder.rows_started, "after_ordinal": row.ordinal,
                 "step": row.name, "path": row_path(cast(dict, job.recorder.places), row),
                 "url": ctx.page.url, "tabs": [p.url for p in pages],
                 "current": pages.index(ctx.page) if ctx.page in pages else 0,
                 "storage_state": self._storage_delta(storage), "values": values,
                 "collections": self._collections_delta(ctx.collections),
                 "runbook_version": job.runbook_version}
        self.write(row, state)
        return None

    def write(self, row: StepRun, state: dict) -> None:
        """Write `state` (what changed since the previous snapshot, or the whole state
        when `whole`) in a thread."""
        state["whole"], self.whole = self.whole, False
        self.seq += 1
        task = asyncio.get_running_loop().create_task(
            asyncio.to_thread(self._write, self.seq, state))
        self.writing = (row, task)

    def _collections_delta(self, collections: dict[str, list]) -> dict:
        delta = {}
        for name, records in collections.items():
            sent, length = self.sent.get(name, (None, 0))
            start = length if sent is records and len(records) >= length else 0
            if start == len(records) and sent is records:
                continue  # unchanged
            delta[name] = {"from": start, "records": records[start:]}
            self.sent[name] = (records, len(records))
        return delta

    def _storage_delta(self, storage: dict) -> dict:
        origins = []
        for origin in storage["origins"]:
            digest = hashlib.blake2b(json.dumps(origin["localStorage"]).encode(),
                                     digest_size=16).hexdigest()
            if self.storage_sent.get(origin["origin"]) != digest:
                self.storage_sent[origin["origin"]] = digest
                origins.append(origin)
        for gone in set(self.storage_sent) - {o["origin"] for o in storage["origins"]}:
            del self.storage_sent[gone]  # emptied: replay sees an empty list
            origins.append({"origin": gone, "localStorage": []})
        return {"cookies": storage["cookies"], "origins": origins}

    def start_whole(self) -> None:
        """The next snapshot holds the whole state, not what changed (after one written
        from another job's state)."""
        self.whole, self.sent, self.storage_sent = True, {}, {}

    async def flush(self) -> None:
        """Wait for the snapshot being written. One that could not be (ENOSPC, or any
        other error) adds a warning to its step's row, and the job takes no more; the step
        stands."""
        if self.writing is None:
            return
        (row, task), self.writing = self.writing, None
        try:
            self.bytes += await task
        except Exception as exc:  # noqa: BLE001 - the job must close its browser anyway
            self.on = False
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            log.warning("job %s: snapshot after %s not saved: %r", self.job.job_id,
                        row.name, exc)
            await self._warn(row, f"no snapshot could be saved after this step ({reason}): "
                                  "Retry from a later step of this job is not possible")

    async def _warn(self, row: StepRun, text: str) -> None:
        try:
            await asyncio.to_thread(self.job.recorder.step_warning, row, text)
        except Exception:  # noqa: BLE001 - e.g. the database is gone too: logged
            log.exception("job %s: a snapshot warning was not recorded", self.job.job_id)

    def _write(self, seq: int, state: dict) -> int:
        state = self.job.redactor.data(state)  # secrets never reach the file
        return write_snapshot(self.job.settings.data_dir, self.job.job_id, seq,
                              state["rows"], state)
