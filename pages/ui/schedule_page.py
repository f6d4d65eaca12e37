"""One schedule: what it runs and when, its next fire times, its last runs, its misses and
who changed it; on/off, Edit and Delete."""

from datetime import datetime

from nicegui import run, ui

from engine.bus import events
from engine.service import schedule_firing, schedules
from engine.service.schedule_times import InvalidSchedule
from models import Schedule
from pages.ui import live
from pages.ui.display import duration, exact_time, job_status_look, relative_time
from pages.ui.frame import frame
from pages.ui.identity import allowed
from pages.ui.schedules_page import (
    LIVE_EVENTS,
    OVERLAP_RULES,
    apply,
    confirm_delete,
    describe,
    fire_time_shape,
    next_run,
    overlap_of,
    schedule_dialog,
    zoned_time,
)

AUDIT_ACTIONS = {"schedule_created": "created", "schedule_changed": "changed",
                 "schedule_deleted": "deleted"}


def load(schedule_id: int) -> dict:
    """Everything the page shows; {"schedule": None} when there is none (or it was deleted)."""
    schedule = schedules.get_schedule(schedule_id)
    if schedule is None:
        return {"schedule": None}
    try:
        upcoming = schedules.next_times(schedule) if schedule.enabled else []
    except InvalidSchedule:  # e.g. a time zone this machine no longer knows
        upcoming = []
    return {"schedule": schedule, "pending": schedules.pending_job(schedule_id),
            "waits_for": schedule_firing.waiting_for(schedule_id), "upcoming": upcoming,
            "runs": schedules.recent_runs(schedule_id),
            "audit": schedules.schedule_audit(schedule_id)}


async def schedule_page(schedule_id: int) -> None:
    live.connect()
    client = ui.context.client
    data = await run.io_bound(load, schedule_id)
    if data is None:  # the server is stopping
        return
    with frame(f"Schedule {schedule_id}"):
        if data["schedule"] is None:
            _none(schedule_id)
            return

        @ui.refreshable
        def page(data: dict) -> None:
            if data["schedule"] is None:  # deleted meanwhile (here or elsewhere)
                _none(schedule_id)
                return
            _head(data, reload)
            with ui.row().classes("w-full gap-4 items-start flex-wrap lg:flex-nowrap"):
                with ui.column().classes("grow basis-0 min-w-[18rem] gap-4"):
                    _definition(data["schedule"])
                    _upcoming(data)
                with ui.column().classes("grow basis-0 min-w-[18rem] gap-4"):
                    _runs(data["runs"])
                    _misses(data["schedule"])
            _changes(data["audit"])

        async def reload() -> None:
            fresh = await run.io_bound(load, schedule_id)
            if fresh is not None and not client.is_deleted:  # not stopping, tab still open
                page.refresh(fresh)

        page(data)

    async def on_event(event: events.Event) -> None:
        if event.kind in LIVE_EVENTS:
            await reread.soon()

    reread = live.Reread(reload, 1.0)
    live.job_events.subscribe(on_event)
    ui.timer(30, reread.now, immediate=False)  # "in 5 min" ages


def _none(schedule_id: int) -> None:
    ui.label(f"There is no schedule {schedule_id}.").classes("text-xl").mark("no-schedule")
    ui.label("It was deleted, or never existed. The jobs a deleted schedule ran stay in "
             "the jobs list.").classes("text-grey-7")
    ui.link("All schedules", "/schedules")


def _head(data: dict, reload) -> None:
    schedule: Schedule = data["schedule"]

    async def toggle(e) -> None:
        e.sender.text = "on" if e.value else "off"
        await apply(schedules.update_schedule, schedule.id, enabled=e.value)
        await reload()

    async def to_list() -> None:
        ui.navigate.to("/schedules")

    with ui.row().classes("w-full items-center gap-3"):
        with ui.column().classes("gap-0 grow min-w-0"):
            ui.label(f"Schedule {schedule.id}").classes("text-2xl font-semibold")
            with ui.row().classes("gap-2 items-baseline text-grey-7"):
                ui.link(schedule.runbook_name, f"/runbooks/{schedule.runbook_name}")
                ui.label(describe(schedule)).classes("font-mono text-sm")
        if allowed("schedules"):
            ui.switch("on" if schedule.enabled else "off", value=schedule.enabled,
                      on_change=toggle).mark(f"switch-schedule-{schedule.id}")
            ui.button("Edit", icon="edit", on_click=lambda: schedule_dialog(
                reload, schedule=schedule)).props("outline no-caps").mark(
                f"edit-schedule-{schedule.id}")
            ui.button("Delete", icon="delete", on_click=lambda: confirm_delete(
                schedule, to_list)).props("outline no-caps color=negative").mark(
                f"delete-schedule-{schedule.id}")
        else:
            ui.label("on" if schedule.enabled else "off").mark("schedule-state")


def _definition(schedule: Schedule) -> None:
    label, rule = OVERLAP_RULES[overlap_of(schedule)]
    rows = [("Runbook", None), ("When", describe(schedule)),
            ("Time zone", schedule.timezone),
            ("Overlap", f"{label.lower()}: {rule}"),
            ("Late runs", f"run a missed time if at most {schedule.misfire_grace_s} s late"),
            ("Parameters", ", ".join(f"{k}={v}" for k, v in schedule.params.items())
             or "none"),
            ("State", "on" if schedule.enabled else "off"),
            ("Created", exact_time(schedule.created_at)),
            ("Last fired", exact_time(schedule.last_fired_at) or "never")]
    with ui.card().classes("w-full"):
        ui.label("What it is").classes("text-lg font-medium")
        with ui.grid(columns="auto 1fr").classes("gap-x-4 gap-y-1 text-sm w-full"):
            for name, value in rows:
                ui.label(name).classes("text-grey-7")
                if value is None:
                    ui.link(schedule.runbook_name, f"/runbooks/{schedule.runbook_name}")
                else:
                    ui.label(value).classes("break-words min-w-0")


def _upcoming(data: dict) -> None:
    schedule: Schedule = data["schedule"]
    with ui.card().classes("w-full").mark("next-times"):
        ui.label("Next fire times").classes("text-lg font-medium")
        next_run(schedule, data["pending"], data["waits_for"])
        if schedule.enabled and not data["upcoming"]:
            ui.label("none left").classes("text-sm text-grey-7")
        shape = fire_time_shape(data["upcoming"])
        with ui.column().classes("gap-1"):
            for moment in data["upcoming"]:
                with ui.row().classes("gap-2 items-baseline"):
                    ui.label(zoned_time(moment, schedule.timezone, shape)).classes(
                        "font-mono text-sm")
                    ui.label(relative_time(moment)).classes("text-xs text-grey-7")


def _runs(runs: list) -> None:
    with ui.card().classes("w-full").mark("last-runs"):
        ui.label("Last runs").classes("text-lg font-medium")
        if not runs:
            ui.label("No runs yet.").classes("text-sm text-grey-7")
        for job in runs:
            label, color, _icon = job_status_look(job.status)
            with ui.row().classes("items-center gap-3 text-sm"):
                ui.link(f"#{job.id}", f"/jobs/{job.id}").mark(f"run-{job.id}")
                ui.badge(label, color=color)
                ui.label(duration(job.duration_ms)).classes("text-grey-7")
                started = job.started_at or job.queued_at
                ui.label(("started " if job.started_at else "queued ")
                         + relative_time(started) if started else "not started").tooltip(
                    exact_time(started)).classes("text-grey-7")


def _misses(schedule: Schedule) -> None:
    with ui.card().classes("w-full").mark("misses"):
        ui.label("Missed runs").classes("text-lg font-medium")
        if not schedule.misses:
            ui.label("No missed runs.").classes("text-sm text-grey-7")
        for miss in schedule.misses[::-1]:  # stored oldest first
            with ui.column().classes("gap-0"):
                ui.label(exact_time(datetime.fromisoformat(miss["at"]))).classes(
                    "font-mono text-sm")
                ui.label(miss["reason"]).classes("text-xs text-grey-7")


def _changes(audit: list) -> None:
    with ui.card().classes("w-full").mark("schedule-audit"):
        ui.label("Changes").classes("text-lg font-medium")
        if not audit:
            ui.label("No recorded changes.").classes("text-sm text-grey-7")
        for event in audit:
            with ui.column().classes("gap-0 w-full"):
                with ui.row().classes("gap-2 items-baseline text-sm"):
                    ui.label(event.actor).classes("font-medium")
                    ui.label(AUDIT_ACTIONS.get(event.action, event.action))
                    ui.label(relative_time(event.at)).tooltip(exact_time(event.at)).classes(
                        "text-grey-7")
                # before above after: the two are long and alike, the eye compares lines
                if event.status_before:
                    ui.label(event.status_before).classes(
                        "font-mono text-xs text-grey-7 break-words")
                if event.status_after:
                    ui.label(("→ " if event.status_before else "") + event.status_after
                             ).classes("font-mono text-xs break-words")
