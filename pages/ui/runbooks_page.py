"""The runbooks: the list with each one's health and Run (sorted by name or the most failing
first, archived ones on request), and adding one by pasting or uploading YAML."""

from typing import Any
from urllib.parse import urlencode

from nicegui import events as ui_events
from nicegui import run, ui

from engine.bus import events
from engine.errors import StorageFull
from engine.runbook import Problem, RunbookInvalid
from engine.service import runbook_history, runbooks
from engine.service.runbook_history import RunbookHealth
from pages.ui import live
from pages.ui.display import relative_time
from pages.ui.frame import follow_dark_mode, frame
from pages.ui.identity import acting, allowed
from pages.ui.runbook_health import health_line
from pages.ui.start_job_dialog import open_start_dialog

# Valid as it stands and runnable on any console: {{console_url}} is this console's address.
TEMPLATE = """version: 1
name: my-runbook
title: My runbook
steps:
  - name: open
    action: goto
    url: "{{console_url}}/demo/"
"""
REFRESH_EVERY_S = 5.0  # jobs ending re-read the health at most this often


SORTS = {"name": "By name", "failing": "Most failing"}


async def runbooks_page(sort: str = "name", archived: bool = False) -> None:
    live.connect()
    state: dict[str, Any] = {"sort": sort if sort in SORTS else "name", "archived": archived}
    with frame("Runbooks"):
        with ui.row().classes("w-full items-center gap-3"):
            ui.label("Runbooks").classes("text-2xl font-semibold")
            ui.space()
            ui.toggle(SORTS, value=state["sort"], on_change=lambda e: change(sort=e.value)
                      ).props("dense no-caps").mark("sort")
            ui.switch("Show archived", value=archived,
                      on_change=lambda e: change(archived=e.value)).mark("show-archived")
            if allowed("runbooks"):
                ui.button("Add runbook", icon="add", on_click=lambda: add_dialog(refresh))
        listing = ui.column().classes("w-full gap-2")

    async def refresh() -> None:
        rows = await run.io_bound(runbook_history.runbook_health, archived=state["archived"],
                                  most_failing=state["sort"] == "failing")
        if rows is None:  # the server is stopping
            return
        listing.clear()
        with listing:
            if not rows:
                ui.label("No runbooks yet: add one.").classes("text-grey-7")
            for row in rows:
                _runbook_card(row)

    async def change(**values) -> None:
        state.update(values)
        query = {k: v for k, v in (("sort", state["sort"]), ("archived", state["archived"]))
                 if v not in ("name", False)}
        ui.navigate.history.replace("/runbooks" + (f"?{urlencode(query)}" if query else ""))
        await refresh()

    async def on_event(event: events.Event) -> None:
        if event.kind in (events.JOB_STATUS, events.RESYNC):
            await reread.soon()

    await refresh()  # before the timer: a timer makes NiceGUI send the page without waiting
    reread = live.Reread(refresh, REFRESH_EVERY_S)
    live.job_events.subscribe(on_event)


def _runbook_card(health: RunbookHealth) -> None:
    row = health.runbook
    summary = row.summary
    with ui.card().classes("w-full").props(f'data-runbook="{row.name}"'):
        with ui.row().classes("w-full items-center gap-3 no-wrap"):
            with ui.column().classes("gap-0 grow min-w-0"):
                with ui.row().classes("items-center gap-2"):
                    ui.link(row.title, f"/runbooks/{row.name}").classes(
                        "text-lg font-medium no-underline")
                    if row.archived_at is not None:
                        ui.badge("archived", color="grey-7").mark(f"archived-{row.name}")
                ui.label(f"{row.name} · v{row.version} · {len(summary.get('steps', []))} steps"
                         f" · updated {relative_time(row.updated_at)}").classes(
                    "text-xs text-grey-7")
                if summary.get("description"):
                    ui.label(summary["description"]).classes("text-sm")
            if allowed("start") and row.archived_at is None:
                ui.button("Run", icon="play_arrow",
                          on_click=lambda r=row: open_start_dialog(r)).props("outline").mark(
                    f"run-{row.name}")
        health_line(health)


def add_dialog(on_added) -> None:
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-4xl"):
        ui.label("Add a runbook").classes("text-lg font-medium")
        ui.label("Paste its YAML or upload a file; it is checked before it is saved.").classes(
            "text-sm text-grey-7")
        editor = follow_dark_mode(ui.codemirror(TEMPLATE, language="YAML").classes(
            "w-full h-80 border"))
        errors = ui.column().classes("w-full gap-0")

        async def upload(e: ui_events.UploadEventArguments) -> None:
            editor.value = (await e.file.read()).decode("utf-8", errors="replace")

        ui.upload(label="…or upload a .yaml file", auto_upload=True, on_upload=upload
                  ).props('accept=".yaml,.yml" flat bordered').classes("w-full")

        async def save() -> None:
            errors.clear()
            actor = await acting("runbooks")
            if actor is None:
                return
            try:
                saved = await run.io_bound(runbooks.add_runbook, editor.value, "runbook.yaml",
                                           by=actor)
            except RunbookInvalid as exc:
                show_errors(errors, exc.problems)
                editor.line_tooltips = error_tooltips(exc.problems)
                editor.decorations = error_lines(exc.problems)
                first = exc.problems[0].line
                if first:
                    editor.reveal_line(first)
                return
            except StorageFull as exc:  # "the data directory is full (N MB free)": say so
                ui.notify(str(exc), type="negative", multi_line=True, timeout=0,
                          close_button=True)
                return
            if saved is None:  # the server is stopping
                return
            editor.line_tooltips = {}
            editor.decorations = []
            word = {"created": "added", "unchanged": "is unchanged",
                    "new_version": f"saved as version {saved.runbook.version}"}[saved.outcome]
            ui.notify(f"Runbook {saved.runbook.name} {word}", type="positive")
            dialog.close()
            await on_added()

        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Check and save", icon="check", on_click=save).props("data-save")
    dialog.open()


def show_errors(box, problems: list[Problem]) -> None:
    """Every validation problem with its line, so the writer can go straight to it."""
    with box:
        ui.label(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}; nothing was "
                 "saved").classes("text-negative font-medium")
        for problem in problems:
            with ui.row().classes("gap-2 no-wrap items-baseline").props("data-error"):
                ui.label(f"line {problem.line}" if problem.line else "").classes(
                    "font-mono text-xs text-grey-7 w-16 shrink-0")
                ui.label(problem.text).classes("text-sm")


def error_tooltips(problems: list[Problem]) -> dict[int, str]:
    """Validation problems by line, shown in the editor's gutter."""
    marks: dict[int, str] = {}
    for problem in problems:
        if problem.line:
            text = problem.text
            marks[problem.line] = f"{marks[problem.line]}\n{text}" if problem.line in marks \
                else text
    return marks


# A line with a problem: tinted red with a red bar at its left, in light and dark mode.
ERROR_LINE = {"style": "background-color: rgba(229, 57, 53, 0.18); "
                       "box-shadow: inset 3px 0 #e53935", "data-error-line": ""}


def error_lines(problems: list[Problem]) -> list[dict]:
    """The editor's line decorations that mark each line with a problem (NiceGUI 3.17+)."""
    lines = sorted({p.line for p in problems if p.line})
    return [{"kind": "line", "line": line, "attributes": ERROR_LINE} for line in lines]
