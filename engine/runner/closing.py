"""The end of a job's browser context: its trace (secrets masked) and its video kept as
the job's artifacts, the context closed, and what the job left on disk removed."""

import asyncio
import logging
import shutil
from pathlib import Path

from playwright.async_api import Error as PlaywrightError

from engine.runbook.model import RunbookSettings
from engine.runner.browser_session import JobPage
from engine.runner.file_actions import UPLOAD_TMP
from engine.secrets.values import Redactor, redact_archive
from engine.store.artifacts import ArtifactStore
from models import ArtifactKind

log = logging.getLogger(__name__)


async def close_job_page(job_id: int, job_page: JobPage, store: ArtifactStore,
                         video_dir: Path | None, rb: RunbookSettings,
                         redactor: Redactor) -> None:
    """Close the job's context on the browser loop. With `rb.trace`, the trace is saved
    as trace.zip with `redactor`'s secrets masked in it; a video (recorded into
    `video_dir`) is saved as video.webm. A Playwright error while closing is logged, not
    raised: the job's end is recorded all the same."""
    context, page = job_page.context, job_page.page
    try:
        if rb.trace:
            path = store.new_path("trace", "zip")
            await context.tracing.stop(path=str(path))
            # it holds typed values and requests
            await asyncio.to_thread(redact_archive, path, redactor)
            await asyncio.to_thread(store.record, ArtifactKind.trace, "trace.zip", path, None)
        video = page.video
        await context.close()
        if video is not None:
            path = store.new_path("video", "webm")
            await video.save_as(str(path))
            await video.delete()
            await asyncio.to_thread(store.record, ArtifactKind.video, "video.webm", path,
                                    None)
    except PlaywrightError as exc:
        log.warning("job %s: closing the browser context failed: %s", job_id, exc)
    finally:
        await job_page.guard.close()
        if video_dir is not None and video_dir.exists():
            for leftover in video_dir.iterdir():
                leftover.unlink()
            video_dir.rmdir()
        shutil.rmtree(store.dir / UPLOAD_TMP, ignore_errors=True)
