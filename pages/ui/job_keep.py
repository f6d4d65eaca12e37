"""The job page's Keep toggle: a kept job's files are never deleted by the retention sweep
(docs/retention.md). Operators and up may change it; others see whether it is kept."""

from nicegui import run, ui

from engine.errors import JobdeckError
from engine.service import retention
from pages.ui.display import exact_time
from pages.ui.identity import acting, allowed

KEPT_TIP = "Kept: the retention sweep never deletes this job's files. Click to let them go."
NOT_KEPT_TIP = ("Keep this job's screenshots, videos, traces, exports and snapshots: the "
                "retention sweep then never deletes them.")


def keep_toggle(job) -> None:
    """A pin button (or, for a viewer, a "Kept" chip); for a swept job, when it was swept."""
    if job.artifacts_deleted_at is not None:
        swept = exact_time(job.artifacts_deleted_at)
        ui.chip("Files swept", icon="auto_delete").props("dense outline square").tooltip(
            f"The retention sweep deleted this job's files on {swept}").mark("files-swept")
        return
    if not allowed("keep"):
        if job.keep:
            ui.chip("Kept", icon="push_pin").props("dense outline square").tooltip(
                KEPT_TIP.split(".")[0]).mark("job-kept")
        return
    state = {"keep": bool(job.keep)}
    button = ui.button().props("flat dense no-caps").mark("keep-job")
    with button:
        tip = ui.tooltip("")

    def show() -> None:
        kept = state["keep"]
        button.text = "Kept" if kept else "Keep"
        button.props(f"icon={'push_pin' if kept else 'o_push_pin'} "
                     f"color={'primary' if kept else 'grey-7'}")
        tip.text = KEPT_TIP if kept else NOT_KEPT_TIP

    async def toggle() -> None:
        actor = await acting("keep")
        if actor is None:
            return
        wanted = not state["keep"]
        try:
            await run.io_bound(retention.set_keep, job.id, wanted, by=actor)
        except JobdeckError as exc:
            ui.notify(str(exc), type="warning", multi_line=True)
            return
        state["keep"] = wanted
        show()
        ui.notify(f"Job {job.id} is kept: the retention sweep never deletes its files"
                  if wanted else f"Job {job.id} is no longer kept: its files go when they "
                  "are due")

    button.on_click(toggle)
    show()
