"""Files in and out of the page: `download` (by a click or by URL) and `upload`."""

import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from playwright.async_api import Download, Page
from playwright.async_api import Error as PlaywrightError

from engine.errors import StepFailed
from engine.runbook.actions import step_action
from engine.runner.browser_session import navigation_blocked, note_block
from engine.runner.step_context import JobContext, StepRunState
from engine.runner.step_tools import absolute_url, element_of
from engine.store.artifacts import artifact_named, sniffed_extension
from engine.store.inputs import input_file
from models import ArtifactKind, ErrorKind


@step_action("download", one_of=("selector", "url"))
async def download(ctx: JobContext, st: StepRunState, args: dict) -> None:
    element = await element_of(ctx, st, args) if "selector" in args else None
    if ctx.guard is not None:  # a download over the limit is cut off as it passes it
        ctx.guard.arm(ctx.max_download_bytes)
    try:
        if element is not None:
            dl = await _started_download(ctx, st, ctx.page, element.click)
            assert dl is not None  # a click's download, or StepFailed
            await _keep(ctx, st, dl)
        else:
            await _download_url(ctx, st, absolute_url(ctx, args["url"]))
    finally:
        if ctx.guard is not None:
            ctx.guard.disarm()


def _over_limit(ctx: JobContext, name: str) -> StepFailed:
    return StepFailed(ErrorKind.action_failed, f"download {name} is over the limit of "
                      f"{ctx.max_download_bytes} bytes (JOBDECK_MAX_DOWNLOAD_MB); nothing was kept")


async def _keep(ctx: JobContext, st: StepRunState, dl: Download) -> None:
    """Save a started download as the step's artifact, under the server's file name."""
    # Content-Disposition's (RFC 6266), or the URL's: a secret in it stays out of the record
    name = ctx.redactor.text(dl.suggested_filename or "download")
    stem, dot, ext = name.rpartition(".")
    path = ctx.artifacts.new_path(stem if dot else name, ext if dot else "bin")
    try:
        await dl.save_as(path)  # Chromium streamed it to disk; this waits for the end
    except PlaywrightError:
        if ctx.guard is not None and ctx.guard.cut_off:
            raise _over_limit(ctx, name) from None
        raise
    await _record(ctx, st, name, path, bool(dot))


async def _record(ctx: JobContext, st: StepRunState, name: str, path: Path,
                  typed: bool) -> None:
    if path.stat().st_size > ctx.max_download_bytes:  # e.g. a blob: URL, never on the wire
        path.unlink()
        raise _over_limit(ctx, name)
    if not typed and (sniffed := sniffed_extension(path)):  # a name without its type
        path = path.rename(path.with_suffix(f".{sniffed}"))
    await asyncio.to_thread(ctx.artifacts.record, ArtifactKind.download, name, path,
                            st.step_run_id)


async def _download_url(ctx: JobContext, st: StepRunState, url: str) -> None:
    """Fetch `url` in a tab of its own in the job's context (its cookies, the network
    guard): an attachment is saved as it streams; a page shown inline (a PDF, a text
    file) is saved from its response, under the last part of the URL's path."""
    if reason := ctx.policy.blocked_reason(url):
        await note_block(ctx, url, reason)
        raise StepFailed(ErrorKind.blocked_url, f"download from {url} blocked: {reason}")
    ctx.expecting_tab = True  # the job's own tab for the fetch, not a surprise
    try:
        page = await ctx.context.new_page()
    finally:
        ctx.expecting_tab = False
    try:
        fetched = asyncio.ensure_future(page.goto(url, timeout=st.timeout_ms))
        dl = await _started_download(ctx, st, page, lambda: fetched, navigates=True)
        if dl is not None:
            await _keep(ctx, st, dl)
            return
        response = fetched.result()
        if blocked := navigation_blocked(ctx):  # the guard's own refusal, or a hop's
            raise StepFailed(ErrorKind.blocked_url, f"download from {blocked[0]} blocked: "
                             f"{blocked[1]}")
        if response is None or response.status >= 400:
            status = response.status if response else "no response"
            raise StepFailed(ErrorKind.http_error, f"{url} answered HTTP {status}; "
                             "nothing was downloaded", {"url": url, "status": status})
        body = await response.body()
        name = ctx.redactor.text(unquote(urlsplit(response.url).path.rsplit("/", 1)[-1])
                                 or "download")
        stem, dot, ext = name.rpartition(".")
        path = ctx.artifacts.new_path(stem if dot else name, ext if dot else "bin")
        await asyncio.to_thread(path.write_bytes, body)
        await _record(ctx, st, name, path, bool(dot))
    finally:
        await page.close()


async def _started_download(ctx: JobContext, st: StepRunState, page: Page, act,
                            navigates: bool = False) -> Download | None:
    """Run `act()` (a click; with `navigates`, a goto) and wait for the download it starts.
    Fails at once when the guard refused it. A goto that loads a page instead gives None;
    one that fails for another reason than the download starting fails the step."""
    started = asyncio.ensure_future(page.wait_for_event("download", timeout=st.timeout_ms))
    blocked = asyncio.ensure_future(_until_navigation_blocked(ctx))
    acted = asyncio.ensure_future(act())
    try:
        await asyncio.wait({started, blocked, acted}, return_when=asyncio.FIRST_COMPLETED)
        if acted.done() and not (started.done() or blocked.done()):
            if navigates and acted.exception() is None:
                return None  # the URL answered with a page, shown inline
            # A goto ends with net::ERR_ABORTED as its download starts: give it a moment.
            await asyncio.wait({started, blocked}, return_when=asyncio.FIRST_COMPLETED,
                               timeout=1.0 if navigates else None)
            if not (started.done() or blocked.done()):
                raise StepFailed(ErrorKind.action_failed, "no download started: " + str(
                    acted.exception()).strip().splitlines()[0])
        if blocked.done() and not started.done():  # no need to wait the step's timeout out
            url, reason = blocked.result()
            raise StepFailed(ErrorKind.blocked_url, f"download from {url} blocked: {reason}")
        if acted.done() and acted.exception() is not None and not navigates:
            raise acted.exception()  # e.g. the click could not happen
        return started.result()
    finally:
        for task in (started, blocked, acted):
            task.cancel()


async def _until_navigation_blocked(ctx: JobContext) -> tuple[str, str]:
    while (found := navigation_blocked(ctx)) is None:
        await asyncio.sleep(0.05)
    return found


UPLOAD_TMP = "upload-tmp"  # in the job's artifact directory


@step_action("upload", required=("selector", "files"), kinds={"files": "files"})
async def upload(ctx: JobContext, st: StepRunState, args: dict) -> None:
    """Set a file input to the step's files, each under its own name: a file param's
    upload, an earlier step's artifact, or a file under the data directory's files/."""
    element = await element_of(ctx, st, args)
    # Chromium reads the files when the form is sent, steps later: they stay until the
    # job's end (its execution removes UPLOAD_TMP).
    (ctx.artifacts.dir / UPLOAD_TMP).mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=ctx.artifacts.dir / UPLOAD_TMP))
    paths = [await _file(ctx, ref, scratch / str(i)) for i, ref in enumerate(args["files"])]
    await element.set_input_files(paths, timeout=st.timeout_ms)


async def _file(ctx: JobContext, ref: dict, scratch: Path) -> Path:
    data_dir = ctx.artifacts.data_dir
    if "param" in ref:
        path = input_file(data_dir, ctx.artifacts.job_id, ref["param"])
        if path is None:
            raise StepFailed(ErrorKind.action_failed, f'the file param "{ref["param"]}" has '
                             "no file: start the job with one")
        return path
    if "path" in ref:
        folder = (data_dir / "files").resolve()
        path = (folder / ref["path"]).resolve()
        if not path.is_relative_to(folder) or not path.is_file():
            raise StepFailed(ErrorKind.action_failed, f"no file {ref['path']} in {folder}; "
                             "put it there, or give the file as a param")
        return path
    found = await asyncio.to_thread(artifact_named, data_dir, ctx.artifacts.job_id,
                                    ref["artifact"])
    if found is None:
        raise StepFailed(ErrorKind.action_failed, f'this job has no file "{ref["artifact"]}" '
                         "yet: name an earlier download, export or screenshot step that ran")
    name, path = found
    scratch.mkdir()
    named = scratch / Path(name).name  # the page sees the artifact's name, not the store's
    try:
        os.link(path, named)
    except OSError:
        shutil.copyfile(path, named)
    return named
