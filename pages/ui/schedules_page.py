"""Schedules: whether a scheduler runs, each schedule with its next run, misses, on/off,
edit and delete; the schedule form (new, Run at…, edit) with its params and a live preview."""

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from nicegui import run, ui

from engine.bus import events
from engine.service import jobs, runbooks, schedule_firing, schedules
from engine.service.health import scheduler_status
from engine.service.schedule_times import InvalidSchedule, occurrences, preview, zone
from models import Schedule, ScheduleOverlap, utcnow
from pages.ui import live
from pages.ui.display import exact_time, relative_time
from pages.ui.frame import frame
from pages.ui.identity import acting, allowed
from pages.ui.start_job_dialog import given_values, params_form

KINDS = {"cron": "Cron expression", "interval": "Every N seconds", "at": "Once, at"}
OVERLAP_RULES = {
    "skip": ("Skip", "no new run while the previous one from this schedule is queued or "
             "running; the skipped time is recorded as a miss"),
    "queue": ("Queue", "wait for the previous run to end (one waits at most)"),
    "allow": ("Allow", "run beside it"),
}
AT_FORMAT = "%Y-%m-%d %H:%M"
FIRE_TIME = "%a %Y-%m-%d %H:%M %Z"
# what changes a schedule's card: it was changed or fired, or one of its jobs moved on
LIVE_EVENTS = (events.SCHEDULE_CHANGED, events.JOB_STATUS, events.RESYNC)
Saved = Callable[[], Awaitable[None]]


def describe(schedule: Schedule) -> str:
    if schedule.cron:
        return f"cron {schedule.cron} ({schedule.timezone})"
    if schedule.interval_s:
        return f"every {schedule.interval_s} s"
    return f"once at {zoned_time(schedule.at, schedule.timezone, AT_FORMAT)} ({schedule.timezone})"


def zoned_time(moment: datetime | None, timezone: str, shape: str = FIRE_TIME) -> str:
    """`moment` as the clock on the wall in `timezone` reads it: "Mon 2031-01-06 06:00 CET"
    by default, or AT_FORMAT as the form takes it."""
    if moment is None:
        return ""
    try:
        return moment.astimezone(zone(timezone.strip())).strftime(shape)
    except InvalidSchedule:  # a zone this machine does not know (any more)
        return exact_time(moment)


def fire_time_shape(times: list[datetime]) -> str:
    """Seconds only for times off the whole minute (short intervals)."""
    return FIRE_TIME.replace("%M", "%M:%S") if any(t.second for t in times) else FIRE_TIME


def overlap_of(schedule: Schedule) -> str:
    return ScheduleOverlap(schedule.overlap).value


async def apply(function, *args, on_error: Callable[[str], object] | None = None,
                **kwargs) -> bool:
    """Run a schedule change as the viewer (who must have the right now); a refusal from
    the service goes to `on_error` (a dialog's error line), else to a notification."""
    actor = await acting("schedules")
    if actor is None:
        return False
    try:
        await run.io_bound(function, *args, by=actor, **kwargs)
    except (InvalidSchedule, jobs.InvalidParams, LookupError) as exc:
        if on_error is None:
            ui.notify(str(exc), type="warning", multi_line=True)
        else:
            on_error(str(exc))
        return False
    return True


def page_dialog(client) -> ui.dialog:
    """An open dialog that belongs to the page, not to the card that opened it: cards are
    redrawn when their schedule changes, the dialog (and what was typed) stays. It is
    removed when closed."""
    with client.content:
        dialog = ui.dialog(value=True)

    def closed(e) -> None:
        if not e.value:
            dialog.delete()

    dialog.on_value_change(closed)
    return dialog


def confirm_delete(schedule: Schedule, on_deleted: Saved) -> None:
    """Asks first: deleting cannot be undone (the jobs it ran stay)."""
    with page_dialog(ui.context.client) as dialog, ui.card().classes("max-w-md"):
        ui.label(f"Delete schedule {schedule.id} ({schedule.runbook_name}, "
                 f"{describe(schedule)})? Jobs it already ran stay.")
        error = ui.label().classes("text-negative text-sm")

        async def remove() -> None:
            if await apply(schedules.delete_schedule, schedule.id, on_error=error.set_text):
                ui.notify(f"Schedule {schedule.id} deleted")
                await on_deleted()
                dialog.close()  # last: it deletes the dialog, this handler's place

        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=dialog.close).props("flat no-caps").mark(
                "cancel-delete")
            ui.button("Delete", icon="delete", color="negative", on_click=remove).props(
                "no-caps").mark("confirm-delete")


def scheduler_banner(status: dict) -> None:
    """Whether schedules fire at all: the process holding the scheduler lock, or a warning."""
    if status["running"]:
        ui.label(f"Scheduler: running in {status['holder']} since "
                 f"{exact_time(status['since'])}").classes("text-sm text-grey-7").mark(
            "scheduler-status")
        return
    with ui.row().classes("w-full items-center gap-2 p-3 rounded bg-negative text-white "
                          "no-wrap").mark("scheduler-status"):
        ui.icon("warning")
        ui.label("No scheduler is running: schedules do not fire. Start a console with "
                 "JOBDECK_SCHEDULER=true (the default).")


def load() -> dict:
    rows = []
    for s in schedules.list_schedules():
        assert s.id is not None  # a stored schedule
        rows.append((s, schedules.pending_job(s.id), schedule_firing.waiting_for(s.id)))
    return {"rows": rows, "scheduler": scheduler_status()}


async def schedules_page() -> None:
    live.connect()
    client = ui.context.client
    with frame("Schedules"):
        with ui.row().classes("w-full items-center"):
            ui.label("Schedules").classes("text-2xl font-semibold")
            ui.space()
            if allowed("schedules"):
                ui.button("New schedule", icon="add",
                          on_click=lambda: schedule_dialog(reload))
        data = await run.io_bound(load)
        if data is None:  # the server is stopping
            return

        @ui.refreshable
        def listing(data: dict) -> None:
            scheduler_banner(data["scheduler"])
            if not data["rows"]:
                ui.label("No schedules yet. A schedule runs a runbook by itself: daily, "
                         "every hour, or once at a set time.").classes("text-grey-7")
            for schedule, pending, waits_for in data["rows"]:
                _card(schedule, pending, waits_for, reload)

        async def reload() -> None:
            fresh = await run.io_bound(load)
            if fresh is not None and not client.is_deleted:  # not stopping, tab still open
                listing.refresh(fresh)

        listing(data)

    async def on_event(event: events.Event) -> None:
        if event.kind in LIVE_EVENTS:
            await reread.soon()

    reread = live.Reread(reload, 1.0)
    live.job_events.subscribe(on_event)
    # "in 5 min" ages; a scheduler may start or stop elsewhere
    ui.timer(30, reread.now, immediate=False)


def _card(schedule: Schedule, pending, waits_for: int | None, reload: Saved) -> None:
    async def toggle(e) -> None:
        e.sender.text = "on" if e.value else "off"
        await apply(schedules.update_schedule, schedule.id, enabled=e.value)
        await reload()

    with ui.card().classes("w-full").props(f'data-schedule="{schedule.id}"'):
        with ui.row().classes("w-full items-center gap-3 no-wrap"):
            with ui.column().classes("gap-0 grow min-w-0"):
                with ui.row().classes("items-baseline gap-2"):
                    ui.link(schedule.runbook_name, f"/runbooks/{schedule.runbook_name}"
                            ).classes("text-lg font-medium no-underline")
                    ui.link(f"schedule {schedule.id}", f"/schedules/{schedule.id}").classes(
                        "text-sm").mark(f"open-schedule-{schedule.id}")
                ui.link(describe(schedule), f"/schedules/{schedule.id}").classes(
                    "font-mono text-sm no-underline text-inherit")
                next_run(schedule, pending, waits_for)
                if overlap_of(schedule) != "skip":
                    ui.label(f"overlap: {overlap_of(schedule)}").classes("text-xs text-grey-7")
                if schedule.params:
                    ui.label(", ".join(f"{k}={v}" for k, v in schedule.params.items())
                             ).classes("text-xs text-grey-7 font-mono break-words")
            if allowed("schedules"):
                ui.switch("on" if schedule.enabled else "off", value=schedule.enabled,
                          on_change=toggle).mark(f"switch-schedule-{schedule.id}")
                ui.button(icon="edit", on_click=lambda: schedule_dialog(
                    reload, schedule=schedule)).props("flat round").tooltip("Edit").mark(
                    f"edit-schedule-{schedule.id}")
                ui.button(icon="delete", on_click=lambda: confirm_delete(schedule, reload)
                          ).props("flat round color=negative").tooltip(
                    "Delete (jobs it ran stay)").mark(f"delete-schedule-{schedule.id}")
            else:
                ui.label("on" if schedule.enabled else "off").classes("text-sm")
        if schedule.misses:
            with ui.expansion(f"{len(schedule.misses)} missed runs", icon="event_busy"
                              ).classes("w-full text-sm"):
                for miss in schedule.misses[::-1]:
                    at = datetime.fromisoformat(miss["at"])
                    ui.label(f"{exact_time(at)}: {miss['reason']}").classes("text-xs")


def next_run(schedule: Schedule, pending, waits_for: int | None) -> None:
    """The pending occurrence (its job), what it waits for, or why there is none."""
    if not schedule.enabled:
        ui.label("off: no runs planned").classes("text-sm text-grey-7")
    elif pending is None:
        ui.label("no more runs").classes("text-sm text-grey-7")
    else:
        with ui.row().classes("gap-1 text-sm items-baseline"):
            ui.label("next run")
            ui.link(relative_time(pending.scheduled_for), f"/jobs/{pending.id}").tooltip(
                exact_time(pending.scheduled_for))
            if waits_for is not None:
                ui.label("· waits for")
                ui.link(f"job #{waits_for}", f"/jobs/{waits_for}").mark("waits-for")


async def schedule_dialog(on_saved: Saved, runbook: str | None = None,
                          first_kind: str = "cron", schedule: Schedule | None = None) -> None:
    """New schedule (Run at… opens it on `runbook` with `first_kind` "at"), or, given
    `schedule`, its Edit: the same form filled in, the runbook fixed. Save creates or
    changes it; a refusal is shown in the dialog, which keeps what was typed."""
    client = ui.context.client  # before waiting: the card that opened this may be redrawn
    rows = await run.io_bound(runbooks.list_runbooks)
    if rows is None:  # the server is stopping
        return
    specs = {r.name: r.summary.get("params", {}) for r in rows}
    old = schedule
    first = old.runbook_name if old else runbook or next(iter(specs), None)
    title = (f"Edit schedule {old.id}" if old else f"Run {runbook} at…"
             if runbook and first_kind == "at" else "New schedule")
    tz = old.timezone if old else schedules.server_timezone()
    next_hour = (utcnow() + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    # the form scrolls between its title and its buttons, which stay in sight
    with page_dialog(client) as dialog, ui.card().classes("w-full max-w-xl no-wrap").style(
            "max-height: calc(100vh - 48px)") as card:
        ui.label(title).classes("text-lg font-medium")
        body = ui.column().classes("w-full min-h-0 overflow-auto no-wrap gap-3 p-1")
    with body:
        chosen = ui.select(list(specs), label="Runbook", value=first).classes("w-full").mark(
            "schedule-runbook")
        if old:
            chosen.disable()  # another runbook is another schedule
        form: dict[str, dict] = {"inputs": {}}

        @ui.refreshable
        def params_section() -> None:
            if chosen.value is None:
                ui.label("No runbooks yet: add one on the Runbooks page.").classes("text-sm")
                return
            form["inputs"] = params_form(specs.get(chosen.value, {}),
                                         old.params if old else None)

        ui.label("Parameters").classes("text-sm font-medium")
        with ui.column().classes("w-full gap-2"):
            params_section()
        ui.label("When").classes("text-sm font-medium mt-2")
        kind = ui.toggle(KINDS, value=(("cron" if old.cron else "interval" if old.interval_s
                                        else "at") if old else first_kind)).mark(
            "schedule-kind")
        cron = ui.input("Cron (minute hour day month weekday)",
                        value=old.cron if old and old.cron else "0 6 * * 1-5").classes(
            "w-full").mark("schedule-cron")
        interval = ui.number("Seconds between runs", min=1, value=(
            old.interval_s if old and old.interval_s else 3600)).classes("w-full").mark(
            "schedule-interval")
        at = ui.input("Date and time (YYYY-MM-DD HH:MM)", value=zoned_time(
            old.at if old else next_hour, tz, AT_FORMAT)).props(
            'placeholder="2031-01-02 03:04"').classes("w-full").mark("schedule-at")
        cron.bind_visibility_from(kind, "value", value="cron")
        interval.bind_visibility_from(kind, "value", value="interval")
        at.bind_visibility_from(kind, "value", value="at")
        with ui.row().classes("w-full gap-4 no-wrap"):
            zone_name = ui.input("Time zone", value=tz).classes("grow").mark("schedule-zone")
            grace = ui.number("Grace for a late run (s)", min=0, value=(
                old.misfire_grace_s if old else 300)).props(
                'hint="a missed time runs if at most this late"').classes(
                "w-56").mark("schedule-grace")

        def when() -> dict:
            """The fire time fields of the chosen kind; the other two are None."""
            found = {"cron": cron.value if kind.value == "cron" else None,
                     "interval_s": int(interval.value or 0) if kind.value == "interval"
                     else None, "at": None}
            if kind.value == "at":
                try:
                    found["at"] = datetime.fromisoformat((at.value or "").strip())
                except ValueError:
                    raise InvalidSchedule("write the time as YYYY-MM-DD HH:MM, e.g. "
                                          "2031-01-02 03:04") from None
            return found

        def same_time(found: dict) -> bool:
            """The edited schedule fires as before (so it is not held to today's rules)."""
            if old is None or found["cron"] != old.cron or found["interval_s"] != old.interval_s:
                return False
            if found["at"] is None or old.at is None:
                return found["at"] is old.at
            typed = found["at"]
            return (typed if typed.tzinfo else typed.replace(tzinfo=zone(zone_name.value))
                    ) == old.at

        @ui.refreshable
        def upcoming() -> None:
            _upcoming(when, same_time, old, zone_name.value)

        with ui.column().classes("gap-0 text-sm").mark("schedule-preview"):
            upcoming()
        # a one-off run has no previous run of its own to overlap
        with ui.column().classes("w-full gap-2").bind_visibility_from(
                kind, "value", backward=lambda v: v != "at"):
            ui.label("If its previous run is still queued or running").classes(
                "text-sm font-medium mt-2")
            overlap = ui.toggle({k: label for k, (label, _) in OVERLAP_RULES.items()},
                                value=overlap_of(old) if old else "skip").mark(
                "schedule-overlap")
            ui.label().classes("text-xs text-grey-7").bind_text_from(
                overlap, "value", backward=lambda v: OVERLAP_RULES[v][1])
        error = ui.label().classes("text-negative text-sm whitespace-pre-wrap").mark(
            "schedule-error")

        def changed_runbook() -> None:
            error.text = ""
            params_section.refresh()

        chosen.on_value_change(changed_runbook)
        for field in (kind, cron, interval, at, zone_name):
            field.on_value_change(upcoming.refresh)

        async def save() -> None:
            error.text = ""
            try:
                found = when()
                keep_time = same_time(found)
            except InvalidSchedule as exc:
                error.text = str(exc)
                return
            if chosen.value is None:
                error.text = "choose a runbook"
                return
            rest = {"timezone": (zone_name.value or "").strip(), "overlap": overlap.value,
                    "misfire_grace_s": int(grace.value or 0)}
            params = given_values(form["inputs"])
            if old is not None:
                saved = await apply(schedules.update_schedule, old.id, on_error=error.set_text,
                                    params=params, **rest, **({} if keep_time else found))
            else:
                saved = await apply(schedules.create_schedule, chosen.value, params,
                                    on_error=error.set_text, **found, **rest)
            if saved:
                ui.notify("Schedule saved", type="positive")
                await on_saved()
                dialog.close()  # last: it deletes the dialog, this handler's place

    with card, ui.row().classes("w-full justify-end"):  # below the scrolling form
        ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
        ui.button("Save", icon="check", on_click=save).mark("schedule-save")


def _upcoming(when: Callable[[], dict], same_time: Callable[[dict], bool],
              old: Schedule | None, timezone: str) -> None:
    """The next five fire times of what the form says, or what is wrong with it."""
    try:
        found = when()
        # an edited interval counts from the schedule's creation, as the scheduler's does
        times = preview(occurrences(found["cron"], found["interval_s"], found["at"],
                                    (timezone or "").strip(),
                                    start=old.created_at if old else None,
                                    new=not same_time(found)))
    except InvalidSchedule as exc:
        ui.label(str(exc)).classes("text-negative")
        return
    ui.label("Next runs:").classes("text-grey-7")
    if not times:
        ui.label("none: this time has passed").classes("text-grey-7")
    with ui.row().classes("gap-x-4 gap-y-0"):
        for moment in times:
            ui.label(zoned_time(moment, timezone, fire_time_shape(times))).classes(
                "font-mono text-xs")
