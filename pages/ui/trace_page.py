"""A job's trace in Playwright's own trace viewer (pages/trace_viewer.py), inside the
console: /jobs/{id}/trace.

The viewer runs on a service worker, which browsers give only to secure contexts (HTTPS,
or http://localhost and 127.0.0.1): elsewhere, and where this installation lacks the
viewer's files, the page says so and offers the trace's download instead."""

from dataclasses import dataclass
from datetime import datetime

from nicegui import run, ui

from engine.service import jobs
from engine.service.report import artifact_url
from models import ArtifactKind
from pages.trace_viewer import viewer_available, viewer_dir, viewer_url
from pages.ui.display import exact_time
from pages.ui.frame import frame

# what the browser must offer for the viewer to run (service workers: secure contexts only)
CAN_RUN_VIEWER = "window.isSecureContext === true && 'serviceWorker' in navigator"
CONNECT_TIMEOUT_S = 60  # a browser that has not connected by then went away
OPEN_ELSEWHERE = ("Or open it with `playwright show-trace trace.zip` on a machine with "
                  "Playwright.")


@dataclass
class TraceView:
    """What the page shows: the job's trace (if any) and why there is none."""

    job_id: int
    title: str
    artifact_id: int | None  # the job's trace.zip, with its file on disk
    missing: str | None  # why there is no trace to show (None: there is one)


def load_trace(job_id: int) -> TraceView | None:
    """The job's newest trace artifact whose file is still on disk (None: no such job)."""
    detail = jobs.get_job(job_id)
    if detail is None:
        return None
    job = detail.job
    title = job.runbook_title or job.runbook_name
    traces = [a for a in detail.artifacts if a.kind == ArtifactKind.trace]
    for artifact in reversed(traces):
        if jobs.artifact_path(artifact) is not None:
            return TraceView(job_id, title, artifact.id, None)
    if traces:
        deleted: datetime | None = job.artifacts_deleted_at
        missing = ("The trace's file is no longer on disk"
                   + (f": the retention sweep deleted this job's artifacts on "
                      f"{exact_time(deleted)}." if deleted else "."))
    elif job.status.is_active:
        missing = ("This job has no trace yet: a job of a runbook with "
                   "`settings: {trace: true}` saves its trace when it ends.")
    else:
        missing = ("This job did not record a trace. Add `settings: {trace: true}` to the "
                   "runbook to record one for its next jobs.")
    return TraceView(job_id, title, None, missing)


async def trace_page(job_id: int) -> None:
    view = await run.io_bound(load_trace, job_id)
    with frame(f"Trace of job {job_id}"):
        if view is None:
            ui.label(f"There is no job {job_id}.").classes("text-xl")
            ui.link("Back to the jobs list", "/jobs")
            return
        ui.context.slot.parent.classes(remove="max-w-6xl")  # the viewer wants the width
        with ui.row().classes("w-full items-center gap-3"):
            ui.label(f"Trace · {view.title}").classes("text-xl font-medium")
            ui.link(f"job #{job_id}", f"/jobs/{job_id}").classes("text-grey-7")
            ui.space()
            if view.artifact_id is not None:
                ui.button("Download trace.zip", icon="download").props(
                    f'flat dense no-caps href="{artifact_url(view.artifact_id, True)}"')
        if view.artifact_id is None:
            ui.markdown(view.missing or "").mark("trace-missing")
            return
        if not viewer_available():
            notice(f"The trace viewer is not available in this installation: Playwright's "
                   f"viewer files were not found in `{viewer_dir()}`. Download trace.zip "
                   f"above. {OPEN_ELSEWHERE}")
            return
        place = ui.column().classes("w-full gap-0")
        try:
            await ui.context.client.connected(timeout=CONNECT_TIMEOUT_S)
        except TimeoutError:  # the browser went away before it connected
            return
        try:
            can_run = await ui.run_javascript(CAN_RUN_VIEWER)
        except TimeoutError:  # a slow answer is no reason to refuse: let the viewer try
            can_run = True
        if not can_run:
            with place:
                notice("The trace viewer cannot run here: browsers give it the service "
                       "worker it needs only on a secure page, and this console is opened "
                       "over plain HTTP on another host. Open the console over HTTPS (or "
                       "at http://localhost / 127.0.0.1 on its own machine), or download "
                       f"trace.zip above. {OPEN_ELSEWHERE}")
            return
        with place:
            ui.element("iframe").props(
                f'src="{viewer_url(artifact_url(view.artifact_id))}" title="Trace viewer" '
                'data-trace-viewer').mark("trace-viewer").classes(
                "w-full border border-gray-300 dark:border-gray-700 rounded").style(
                "height: calc(100vh - 150px); min-height: 480px")


def notice(text: str) -> None:
    with ui.card().classes("w-full bg-amber-50 dark:bg-amber-950").props(
            "flat bordered").mark("trace-unavailable"):
        ui.markdown(text)
