"""The job page's header: title, status, facts (times, trigger, the jobs it re-ran or
retried, and those that re-ran or retried it), params and error; and its approval
dialog."""

from nicegui import ui

from engine.secrets.values import MASK
from engine.service.report import artifact_url
from pages.ui.dialogs import lasting_dialog
from pages.ui.display import exact_time, job_status_look, relative_time
from pages.ui.job_actions_bar import decision_buttons
from pages.ui.job_keep import keep_toggle
from pages.ui.job_timeline import risk_badge


def job_header(job, secrets: list[str], reruns: list, retries: list) -> dict[str, ui.label]:
    """Title, status, facts, parameters and error. Returns the labels of the facts that
    change while the rest stays (times, current step), which show_facts keeps up to date.
    `reruns`, `retries`: the jobs that re-ran or retried this one, linked as this one links
    to the job it re-ran or retried."""
    label, color, icon = job_status_look(job.status)
    with ui.row().classes("w-full items-center gap-3 flex-wrap"):
        ui.link(job.runbook_title, f"/runbooks/{job.runbook_name}").classes(
            "text-2xl font-semibold no-underline text-inherit")
        with ui.badge(color=color).classes("text-sm py-1 px-2").props(
                f'data-job-status="{job.status.value}"'):
            ui.icon(icon, size="16px").classes("mr-1")
            ui.label(label)
        with ui.row().classes("items-baseline gap-1 text-grey-7"):
            ui.label(f"#{job.id} ·")
            # the exact version it ran, as saved (its YAML and its diff with the current one)
            ui.link(f"{job.runbook_name} v{job.runbook_version}",
                    f"/runbooks/{job.runbook_name}?version={job.runbook_version}").classes(
                "text-grey-7").mark("job-version")
        keep_toggle(job)  # spared by the retention sweep (docs/retention.md)
    with ui.row().classes("gap-x-6 gap-y-1 text-sm flex-wrap"):
        _fact("Trigger", job.trigger.value)
        _fact("Started by", job.started_by or "—")
        facts = {"started": _fact("Started", "", exact_time(job.started_at)),
                 "finished": _fact("Finished", "", exact_time(job.finished_at)),
                 "current_step": _fact("Current step", "")}
        if job.worker_id:  # which machine and process: what one asks first at scale
            _fact("Worker", job.worker_id)
        if job.schedule_id:
            with ui.column().classes("gap-0"):
                ui.label("Schedule").classes("text-xs text-grey-7")
                ui.link(f"#{job.schedule_id}", "/schedules")
        if job.scheduled_for:
            facts["scheduled_for"] = _fact("Scheduled for", "", exact_time(job.scheduled_for))
        _links("Re-run of", [job.rerun_of] if job.rerun_of else [], "rerun-of")
        _links("Re-runs", [r.id for r in reruns], "reruns")
        _links("Retry of", [job.retry_of] if job.retry_of else [], "retry-of")
        _links("Retried as", [r.id for r in retries], "retried-as")
    params = {**job.params, **{name: MASK for name in secrets}}
    if params:
        with ui.row().classes("gap-2 flex-wrap"):
            for key, value in params.items():
                ui.chip(f"{key} = {value}").props("dense outline square").classes(
                    "font-mono text-xs")
    if job.error_message:
        with ui.card().classes("w-full bg-red-50 dark:bg-red-950 shadow-none p-3"):
            ui.label(job.error_kind or "error").classes("font-mono text-negative text-sm")
            ui.label(job.error_message).classes("whitespace-pre-wrap").props("data-job-error")
    return facts


def _fact(label: str, value: str, hover: str | None = None) -> ui.label:
    """A fact under its name; returns the label that shows it (hidden with it while empty)."""
    with ui.column().classes("gap-0") as fact:
        ui.label(label).classes("text-xs text-grey-7")
        shown = ui.label(value)
        if hover:
            shown.tooltip(hover)
    fact.bind_visibility_from(shown, "text", backward=bool)
    return shown


def show_facts(facts: dict[str, ui.label], job) -> None:
    """The facts that change as time goes by and steps go by, in place."""
    facts["started"].text = relative_time(job.started_at)
    facts["finished"].text = relative_time(job.finished_at)
    facts["current_step"].text = job.current_step or ""
    if "scheduled_for" in facts:
        facts["scheduled_for"].text = relative_time(job.scheduled_for)


def _links(label: str, job_ids: list[int], mark: str) -> None:
    """Links to other jobs under a fact's name (nothing when there are none)."""
    if not job_ids:
        return
    with ui.column().classes("gap-0").mark(mark):
        ui.label(label).classes("text-xs text-grey-7")
        with ui.row().classes("gap-2"):
            for other in job_ids:
                ui.link(f"#{other}", f"/jobs/{other}")


def approval_dialog(job_id: int, request: dict, on_done, started_by: str | None
                     ) -> ui.dialog:
    with lasting_dialog() as dialog, ui.card().classes("max-w-xl").props("data-approval"):
        with ui.row().classes("items-center gap-2"):
            ui.icon("front_hand", color="deep-orange-7", size="28px")
            ui.label("Approval needed").classes("text-lg font-medium")
        ui.label(f'Step "{request.get("step")}"').classes("font-medium")
        for key in ("description", "message"):
            if request.get(key):
                ui.label(str(request[key])).classes("whitespace-pre-wrap")
        if request.get("risk"):
            risk_badge(request["risk"])
        if request.get("artifact_id"):
            ui.image(artifact_url(request["artifact_id"])).classes("w-full border")
        decision_buttons(job_id, dialog, on_done, started_by)
    return dialog
