"""Schedules: each with its next run, misses, on/off and delete; a form with a live preview."""

from datetime import datetime

from nicegui import run, ui

from engine.service import jobs, runbooks, schedules
from engine.service.schedule_times import InvalidSchedule, make_trigger, preview
from pages.ui.display import exact_time, relative_time
from pages.ui.frame import frame
from pages.ui.identity import acting, allowed

KINDS = {"cron": "Cron expression", "interval": "Every N seconds", "at": "Once, at"}


def describe(schedule) -> str:
    if schedule.cron:
        return f"cron {schedule.cron} ({schedule.timezone})"
    if schedule.interval_s:
        return f"every {schedule.interval_s} s"
    return f"once at {exact_time(schedule.at)}"


def load() -> list[tuple]:
    rows = []
    for s in schedules.list_schedules():
        assert s.id is not None  # a stored schedule
        rows.append((s, schedules.pending_job(s.id)))
    return rows


async def schedules_page() -> None:
    with frame("Schedules"):
        with ui.row().classes("w-full items-center"):
            ui.label("Schedules").classes("text-2xl font-semibold")
            ui.space()
            if allowed("schedules"):
                ui.button("New schedule", icon="add",
                          on_click=lambda: schedule_dialog(refresh))
        listing = ui.column().classes("w-full gap-2")

    async def refresh() -> None:
        rows = await run.io_bound(load) or []
        listing.clear()
        with listing:
            if not rows:
                ui.label("No schedules yet. A schedule runs a runbook by itself: daily, "
                         "every hour, or once at a set time.").classes("text-grey-7")
            for schedule, pending in rows:
                _card(schedule, pending, refresh)

    await refresh()


def _card(schedule, pending, refresh) -> None:
    async def toggle(e) -> None:
        await _apply(schedules.update_schedule, schedule.id, enabled=e.value)
        await refresh()

    async def remove() -> None:
        await _apply(schedules.delete_schedule, schedule.id)
        await refresh()

    with ui.card().classes("w-full").props(f'data-schedule="{schedule.id}"'):
        with ui.row().classes("w-full items-center gap-3 no-wrap"):
            with ui.column().classes("gap-0 grow min-w-0"):
                ui.link(schedule.runbook_name, f"/runbooks/{schedule.runbook_name}").classes(
                    "text-lg font-medium no-underline")
                ui.label(describe(schedule)).classes("font-mono text-sm")
                if pending:
                    with ui.row().classes("gap-1 text-sm items-baseline"):
                        ui.label("next run")
                        ui.link(relative_time(pending.scheduled_for),
                                f"/jobs/{pending.id}").tooltip(
                            exact_time(pending.scheduled_for))
                elif schedule.enabled:
                    ui.label("no more runs").classes("text-sm text-grey-7")
                if schedule.params:
                    ui.label(", ".join(f"{k}={v}" for k, v in schedule.params.items())
                             ).classes("text-xs text-grey-7 font-mono")
            if allowed("schedules"):
                ui.switch("enabled", value=schedule.enabled, on_change=toggle)
                ui.button(icon="delete", on_click=remove).props(
                    "flat round color=negative").tooltip("Delete (jobs it ran stay)").mark(
                    f"delete-schedule-{schedule.id}")
            else:
                ui.label("enabled" if schedule.enabled else "disabled").classes("text-sm")
        if schedule.misses:
            with ui.expansion(f"{len(schedule.misses)} missed runs", icon="event_busy"
                              ).classes("w-full text-sm"):
                for miss in schedule.misses[::-1]:
                    at = datetime.fromisoformat(miss["at"])
                    ui.label(f"{exact_time(at)}: {miss['reason']}").classes("text-xs")


async def _apply(function, *args, **kwargs) -> bool:
    actor = await acting("schedules")
    if actor is None:
        return False
    try:
        await run.io_bound(function, *args, by=actor, **kwargs)
    except (InvalidSchedule, jobs.InvalidParams, LookupError) as exc:
        ui.notify(str(exc), type="warning", multi_line=True)
        return False
    return True


def schedule_dialog(on_saved, runbook: str | None = None, first_kind: str = "cron") -> None:
    names = [r.name for r in runbooks.list_runbooks()]
    with ui.dialog(value=True) as dialog, ui.card().classes("w-full max-w-xl"):
        ui.label("New schedule").classes("text-lg font-medium")
        chosen = ui.select(names, label="Runbook", value=runbook or (names[0] if names
                                                                    else None)
                           ).classes("w-full").mark("schedule-runbook")
        kind = ui.toggle(KINDS, value=first_kind).mark("schedule-kind")
        cron = ui.input("Cron (minute hour day month weekday)", value="0 6 * * 1-5"
                        ).classes("w-full").mark("schedule-cron")
        interval = ui.number("Seconds between runs", value=3600, min=1).classes("w-full")
        at = ui.input("Date and time (YYYY-MM-DD HH:MM)").classes("w-full")
        cron.bind_visibility_from(kind, "value", value="cron")
        interval.bind_visibility_from(kind, "value", value="interval")
        at.bind_visibility_from(kind, "value", value="at")
        zone = ui.input("Time zone", value=schedules.server_timezone()).classes("w-full")
        grace = ui.number("Run a missed time if at most this many seconds late", value=300,
                          min=0).classes("w-full")
        upcoming = ui.column().classes("gap-0 text-sm").mark("schedule-preview")

        def fields() -> dict:
            when = {"cron": cron.value if kind.value == "cron" else None,
                    "interval_s": int(interval.value or 0) if kind.value == "interval"
                    else None, "at": None}
            if kind.value == "at":
                try:
                    when["at"] = datetime.fromisoformat((at.value or "").strip())
                except ValueError:
                    raise InvalidSchedule("write the time as YYYY-MM-DD HH:MM") from None
            return when

        def show_preview() -> None:
            upcoming.clear()
            with upcoming:
                try:
                    when = fields()
                    times = preview(make_trigger(when["cron"], when["interval_s"],
                                                 when["at"], zone.value), zone.value)
                except InvalidSchedule as exc:
                    ui.label(str(exc)).classes("text-negative")
                    return
                ui.label("Next runs:").classes("text-grey-7")
                for moment in times:
                    ui.label(exact_time(moment)).classes("font-mono")

        for field in (kind, cron, interval, at, zone):
            field.on_value_change(show_preview)
        show_preview()

        async def save() -> None:
            try:
                when = fields()
            except InvalidSchedule as exc:
                ui.notify(str(exc), type="warning")
                return
            if await _apply(schedules.create_schedule, chosen.value, {}, **when,
                            timezone=zone.value, misfire_grace_s=int(grace.value or 0)):
                dialog.close()
                ui.notify("Schedule saved", type="positive")
                await on_saved()

        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
            ui.button("Save", icon="check", on_click=save).mark("schedule-save")
