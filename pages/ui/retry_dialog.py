"""The Retry dialog of a failed or cancelled job: the step to start from (the failed one
first), and, when the runbook changed since the job ran, the diff of its YAML and a choice
of the job's version or the current one. Submitting starts the new job and shows it."""

from nicegui import run, ui

from engine.errors import JobdeckError
from engine.service import job_actions, recovery
from models import Job, JobAction
from pages.ui.dialogs import lasting_dialog
from pages.ui.diff_view import diff_view
from pages.ui.display import STEP_STATUS_LOOK
from pages.ui.identity import acting


def refusals(job: Job, actions: list[JobAction]) -> dict[str, str]:
    """action -> why it cannot be taken on this job after all, for the action bar: a retry
    that the engine refuses (resume: false, no snapshot, ...; recovery.retry_refusal, which
    works out no retry point). Reads the database: call it off the UI loop."""
    if JobAction.retry not in actions:
        return {}
    try:
        refused = recovery.retry_refusal(job)
    except JobdeckError as exc:  # its YAML no longer reads
        refused = str(exc)
    return {JobAction.retry.value: refused} if refused else {}


def point_label(point) -> str:
    """"pages › more (iteration 2) — success": the step as the timeline nests it (the loops
    it is in, then its name), its place in those loops, and how it ended in the job. No
    number: the timeline numbers top-level steps, the rows' ordinals count nested runs."""
    place = f" ({point.place})" if point.place else ""
    status = str(point.status)
    ended = STEP_STATUS_LOOK[status][0] if status in STEP_STATUS_LOOK else status
    names = " › ".join(part for part in point.path if isinstance(part, str))
    return f"{names}{place} — {ended}"


async def open_retry_dialog(job_id: int) -> None:
    """Read where the job can be retried from (engine.service.recovery.retry_options) and
    open the dialog; a job that cannot be retried gets the reason instead of a form."""
    try:
        options = await run.io_bound(recovery.retry_options, job_id)
    except JobdeckError as exc:
        ui.notify(str(exc), type="negative", multi_line=True)
        return
    if options is None:  # the server is stopping
        return
    with lasting_dialog() as dialog, ui.card().classes("w-full max-w-2xl").props(
            "data-retry-dialog"):
        ui.label(f"Retry job #{job_id} from a step").classes("text-lg font-medium")
        if options.refused or not options.points:
            ui.label(options.refused or "This job has no step to retry from.").classes(
                "whitespace-pre-wrap").mark("retry-refused")
            with ui.row().classes("w-full justify-end"):
                ui.button("Close", on_click=dialog.close).props("flat no-caps")
            return
        ui.label("The new job restores the browser state (cookies, storage, page), the "
                 "captured values and the collected rows this job had reached just before "
                 "that step, and runs from there.").classes("text-sm text-grey-8")
        # the engine's default is one of the points; were it not, the select would raise
        ordinals = [p.ordinal for p in options.points]
        first = options.default if options.default in ordinals else ordinals[-1]
        step = ui.select({p.ordinal: point_label(p) for p in options.points}, value=first,
                         label="Start from step").classes("w-full").mark("retry-step")
        version = None
        if options.job_version != options.current_version:
            ui.label(f"The runbook changed since this job ran: version "
                     f"{options.job_version} → {options.current_version}").classes(
                "font-medium").mark("retry-changed")
            diff_view(options.diff).mark("retry-diff")
            version = ui.radio({"old": f"run the job's version {options.job_version}",
                                "new": f"run the current version {options.current_version}"},
                               value="old").props("inline").mark("retry-version")
        comment = ui.input("Comment (optional)").classes("w-full")

        async def retry() -> None:
            actor = await acting("retry")
            if actor is None:
                return
            try:
                job = await run.io_bound(
                    job_actions.act, job_id, "retry", by=actor.name, source=actor.source,
                    comment=comment.value or None, from_step=step.value,
                    version=version.value if version else "old")
            except JobdeckError as exc:
                ui.notify(str(exc), type="negative", multi_line=True)
                return
            if job is None:  # the server is stopping
                return
            dialog.close()
            ui.navigate.to(f"/jobs/{job.id}")

        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
            ui.button("Retry", icon="restart_alt", on_click=retry).props(
                "unelevated no-caps").mark("retry-job")
