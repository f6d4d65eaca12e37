"""The job page: header, metrics, live view, step timeline, artifacts and final report,
all kept live by the job's events without reloading."""

import base64
import json
import time
from typing import Any, NotRequired, TypedDict

from nicegui import run, ui

from engine.bus import events
from engine.runbook import RunbookInvalid, stored_runbook
from engine.runbook.actions import runs_nested_steps
from engine.secrets.values import MASK
from engine.service import job_actions, jobs
from engine.service.report import build_report
from engine.settings import current_settings
from models import ArtifactKind, JobStatus, utcnow
from pages.ui import live
from pages.ui.display import duration, exact_time, job_status_look, relative_time
from pages.ui.frame import frame
from pages.ui.job_actions_bar import action_buttons, activity, decision_buttons, lasting_dialog
from pages.ui.job_artifacts import render_artifacts, url
from pages.ui.job_timeline import StatusBadge, render_timeline, timeline_rows

FRAME_INTERVAL_S = 0.1  # at most 10 live frames a second per viewer


class PageState(TypedDict):
    """What one viewer's job page keeps between redraws."""

    view: dict[str, Any]  # the latest load_job()
    open: set  # the timeline rows the viewer opened (or closed)
    last_frame: float  # time.monotonic() of the last live frame shown
    busy: bool  # a reload is under way
    dirty: bool  # events came in since it started
    approval_shown: bool
    badges: dict[str, StatusBadge]  # the top-level steps' badges, by step name
    actions_key: NotRequired[tuple]  # what the action buttons were drawn for
    dialog: NotRequired[ui.dialog | None]  # the open approval dialog


def load_job(job_id: int, plan: tuple | None = None) -> dict | None:
    """Everything the page shows, read in one go off the UI loop.

    `plan` (planned steps, secret names) comes from the job's own YAML, which never
    changes: it is parsed on the first load only.
    """
    detail = jobs.get_job(job_id)
    if detail is None:
        return None
    if plan is None:
        try:
            spec = stored_runbook(detail.job.source, f"{detail.job.runbook_name}.yaml")
            plan = ([{"name": s.name, "action": s.action} for s in spec.steps], spec.secrets)
        except RunbookInvalid:
            plan = ([], [])
    planned, secrets = plan
    approval = None
    if detail.job.status == JobStatus.waiting_for_approval:
        approval = next((e.data for e in reversed(events.recorded_after(job_id))
                         if e.kind == events.APPROVAL_REQUESTED), None)
    return {"detail": detail, "planned": planned, "secrets": secrets, "approval": approval,
            "plan": plan, "actions": job_actions.available_actions(detail.job),
            "activity": job_actions.audit_trail(job_id), "reruns": jobs.reruns_of(job_id)}


async def job_page(job_id: int) -> None:
    live.connect()
    data_dir = current_settings().data_dir
    view = await run.io_bound(load_job, job_id)
    with frame(f"Job {job_id}"):
        if view is None:
            ui.label(f"There is no job {job_id}.").classes("text-xl")
            ui.link("Back to the jobs list", "/jobs")
            return
        header = ui.column().classes("w-full gap-1")
        actions_row = ui.row().classes("gap-2 items-start w-full")
        metrics = ui.row().classes("w-full gap-3")
        with ui.row().classes("w-full gap-4 items-start flex-wrap lg:flex-nowrap"):
            with ui.card().classes("grow basis-0 min-w-[18rem]"):
                ui.label("Steps").classes("text-lg font-medium")
                timeline = ui.column().classes("w-full")
            with ui.card().classes("w-full lg:w-[28rem] shrink-0"):
                ui.label("Live view").classes("text-lg font-medium")
                # a plain <img> without transitions: frames replace each other at once
                live_image = ui.interactive_image().classes(
                    "w-full border rounded bg-grey-2 min-h-[8rem]").props(
                    'alt="latest browser frame" data-live')
                live_caption = ui.label().classes("text-xs text-grey-7")
                strip = ui.row().classes("w-full gap-1 flex-nowrap overflow-x-auto")
        with ui.card().classes("w-full"):
            ui.label("Artifacts").classes("text-lg font-medium")
            artifacts_box = ui.column().classes("w-full")
        report_box = ui.column().classes("w-full")
    state: PageState = {"view": view, "open": set(), "last_frame": 0.0, "busy": False,
                        "dirty": False, "approval_shown": False, "badges": {}}

    def draw() -> None:
        v = state["view"]
        detail = v["detail"]
        job = detail.job
        names = {s.id: s.name for s in detail.steps}
        shots = {a.step_run_id: a.id for a in detail.artifacts
                 if a.kind == ArtifactKind.screenshot and a.step_run_id}
        header.clear()
        with header:
            _header(job, v["secrets"], v["reruns"])
        # Buttons are rebuilt only when what can be done changes: a click on a button that a
        # redraw has just replaced would be lost, and steps finish several times a second.
        actions_key = (tuple(v["actions"]), tuple(a.id for a in v["activity"]))
        if actions_key != state.get("actions_key"):
            state["actions_key"] = actions_key
            actions_row.clear()
            with actions_row:
                if action_buttons(job.id, v["actions"], reload, job.started_by):
                    ui.space()
                activity(v["activity"])
        metrics.clear()
        with metrics:
            _metrics(job, detail.steps)
        timeline.clear()
        with timeline:
            state["badges"] = render_timeline(timeline_rows(v["planned"], detail.steps),
                                              state["open"], shots)
        artifacts_box.clear()
        with artifacts_box:
            render_artifacts(detail.artifacts, names, data_dir)
        screenshots = [a for a in detail.artifacts if a.kind == ArtifactKind.screenshot]
        if screenshots and (job.status.is_final or not live_image.source):
            live_image.set_source(url(screenshots[-1]))
            live_caption.text = f"{screenshots[-1].name}"
        strip.clear()
        with strip:
            for shot in screenshots if job.status.is_final else []:
                ui.image(url(shot)).classes("w-24 h-14 border rounded cursor-pointer shrink-0"
                                            ).props(f'fit=cover title="{_attr(shot.name)}"'
                                                    ).on("click", lambda s=shot: _show(s))
        report_box.clear()
        if job.status.is_final:
            with report_box:
                _report(job.id, data_dir)
        dialog = state.get("dialog")
        if job.status != JobStatus.waiting_for_approval and dialog:
            dialog.close()  # decided, here or elsewhere
            state["dialog"], state["approval_shown"] = None, False
        if v["approval"] and not state["approval_shown"]:
            state["approval_shown"] = True
            state["dialog"] = _approval_dialog(job.id, v["approval"], reload, job.started_by)

    def _show(shot) -> None:
        live_image.set_source(url(shot))
        live_caption.text = shot.name

    async def reload() -> None:
        """Read the job again and redraw, again and again while events came in meanwhile."""
        state["dirty"] = True
        if state["busy"]:
            return  # the read under way sees the flag and reads once more
        state["busy"] = True
        try:
            while state["dirty"]:
                state["dirty"] = False
                fresh = await run.io_bound(load_job, job_id, state["view"]["plan"])
                if fresh is not None:
                    state["view"] = fresh
                    draw()
        finally:
            state["busy"] = False

    async def on_event(event: events.Event) -> None:
        if event.kind == events.RESYNC:  # events from other processes may have been missed
            await reload()
            return
        if event.job_id != job_id:
            return
        if event.kind == events.SCREENSHOT:
            now = time.monotonic()
            if event.data.get("jpeg") and now - state["last_frame"] >= FRAME_INTERVAL_S:
                state["last_frame"] = now
                encoded = base64.b64encode(event.data["jpeg"]).decode()
                live_image.set_source(f"data:image/jpeg;base64,{encoded}")
                live_caption.text = f"live · {event.data.get('step') or ''}"
            return
        if event.kind == events.APPROVAL_REQUESTED and not state["approval_shown"]:
            state["approval_shown"] = True
            state["dialog"] = _approval_dialog(job_id, event.data, reload,
                                               state["view"]["detail"].job.started_by)
        if event.kind in (events.STEP_STARTED, events.STEP_FINISHED) and (
                event.data.get("parent_id") is None):
            # show the new status at once; the full reload below fills in the rest
            badge = state["badges"].get(event.data.get("name", ""))  # no step is named ""
            if badge is not None:
                badge.show(event.data.get("status", "running"))
        await reload()

    live.job_events.subscribe(on_event)
    if not view["detail"].job.status.is_final:  # what happened between the read and now
        ui.timer(0, reload, once=True)
    ui.timer(1.0, lambda: _tick(state, metrics, draw))  # keeps the running time moving
    draw()


def _tick(state: PageState, metrics, draw) -> None:
    job = state["view"]["detail"].job
    if job.status.is_active:
        metrics.clear()
        with metrics:
            _metrics(job, state["view"]["detail"].steps)


def _attr(text: str) -> str:
    return text.replace('"', "'")


def _header(job, secrets: list[str], reruns: list) -> None:
    label, color, icon = job_status_look(job.status)
    with ui.row().classes("w-full items-center gap-3 flex-wrap"):
        ui.link(job.runbook_title, f"/runbooks/{job.runbook_name}").classes(
            "text-2xl font-semibold no-underline text-inherit")
        with ui.badge(color=color).classes("text-sm py-1 px-2").props(
                f'data-job-status="{job.status.value}"'):
            ui.icon(icon, size="16px").classes("mr-1")
            ui.label(label)
        ui.label(f"#{job.id} · {job.runbook_name} v{job.runbook_version}").classes(
            "text-grey-7")
    with ui.row().classes("gap-x-6 gap-y-1 text-sm flex-wrap"):
        _fact("Trigger", job.trigger.value)
        _fact("Started by", job.started_by or "—")
        _fact("Started", relative_time(job.started_at), exact_time(job.started_at))
        _fact("Finished", relative_time(job.finished_at), exact_time(job.finished_at))
        if job.current_step:
            _fact("Current step", job.current_step)
        if job.worker_id:  # which machine and process: what one asks first at scale
            _fact("Worker", job.worker_id)
        if job.schedule_id:
            with ui.column().classes("gap-0"):
                ui.label("Schedule").classes("text-xs text-grey-7")
                ui.link(f"#{job.schedule_id}", "/schedules")
        if job.scheduled_for:
            _fact("Scheduled for", relative_time(job.scheduled_for),
                  exact_time(job.scheduled_for))
        if job.rerun_of:
            with ui.column().classes("gap-0"):
                ui.label("Re-run of").classes("text-xs text-grey-7")
                ui.link(f"#{job.rerun_of}", f"/jobs/{job.rerun_of}")
        if reruns:
            with ui.column().classes("gap-0"):
                ui.label("Re-runs").classes("text-xs text-grey-7")
                with ui.row().classes("gap-2"):
                    for rerun in reruns:
                        ui.link(f"#{rerun.id}", f"/jobs/{rerun.id}")
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


def _fact(label: str, value: str, hover: str | None = None) -> None:
    with ui.column().classes("gap-0"):
        ui.label(label).classes("text-xs text-grey-7")
        shown = ui.label(value)
        if hover:
            shown.tooltip(hover)


def _metrics(job, steps) -> None:
    leaves = [s for s in steps if not runs_nested_steps(s.action)]
    if job.duration_ms is not None:
        total = job.duration_ms
    elif job.started_at:  # still running: it keeps counting
        end = job.finished_at or utcnow()
        total = int((end - job.started_at).total_seconds() * 1000)
    else:
        total = None
    cards = [
        ("Total duration", duration(total), "timer", "metric-duration"),
        ("Steps succeeded", str(sum(s.status.value == "success" for s in leaves)),
         "check_circle", "metric-succeeded"),
        ("Steps failed", str(sum(s.status.value == "failed" for s in leaves)), "error",
         "metric-failed"),
        ("Retries", str(sum(s.retries for s in steps)), "replay", "metric-retries"),
    ]
    for label, value, icon, test_id in cards:
        with ui.card().classes("grow basis-0 min-w-[9rem] p-3 gap-0").props(
                f'data-metric="{test_id}"'):
            with ui.row().classes("items-center gap-1 text-grey-7 text-xs"):
                ui.icon(icon, size="16px")
                ui.label(label)
            ui.label(value).classes("text-2xl font-semibold")


def _report(job_id: int, data_dir) -> None:
    with ui.expansion("Execution report", icon="summarize").classes(
            "w-full border rounded").props("data-report") as box:
        async def fill() -> None:
            if box.default_slot.children:
                return
            report = await run.io_bound(build_report, job_id, data_dir)
            with box:
                ui.link("Download as JSON", f"/api/jobs/{job_id}/report")
                ui.label(json.dumps(report, indent=2, ensure_ascii=False)).classes(
                    "font-mono text-xs whitespace-pre-wrap break-all")
        box.on_value_change(fill)


def _approval_dialog(job_id: int, request: dict, on_done, started_by: str | None
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
            ui.badge(f"risk: {request['risk']}", color="deep-orange-7")
        if request.get("artifact_id"):
            ui.image(f"/api/artifacts/{request['artifact_id']}").classes("w-full border")
        decision_buttons(job_id, dialog, on_done, started_by)
    return dialog
