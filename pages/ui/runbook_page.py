"""One runbook: what it does, its params and steps, its YAML, and Run."""

from nicegui import run, ui

from engine.service import jobs, runbooks, schedules
from pages.ui.display import job_status_look, relative_time
from pages.ui.frame import follow_dark_mode, frame
from pages.ui.identity import allowed
from pages.ui.runbook_changes import page_changes
from pages.ui.runbook_grid import run_history
from pages.ui.runbook_healing import healed_selectors
from pages.ui.runbook_versions import archive_button, archived_banner, runbook_versions
from pages.ui.schedules_page import describe, schedule_dialog
from pages.ui.start_job_dialog import open_start_dialog


async def to_schedules() -> None:
    ui.navigate.to("/schedules")


async def runbook_page(name: str, version: str | None = None) -> None:
    row = await run.io_bound(runbooks.get_runbook, name)
    with frame(row.title if row else "Runbook"):
        if row is None:
            ui.label(f'There is no runbook named "{name}".').classes("text-xl")
            ui.link("All runbooks", "/runbooks")
            return
        summary = row.summary
        with ui.row().classes("w-full items-center gap-3"):
            with ui.column().classes("gap-0 grow"):
                ui.label(row.title).classes("text-2xl font-semibold")
                ui.label(f"{row.name} · version {row.version} · updated "
                         f"{relative_time(row.updated_at)}").classes("text-grey-7 text-sm")
            archive_button(row)  # admins: Archive, or Restore when archived
            runnable = row.archived_at is None  # an archived runbook neither runs nor fires
            if allowed("schedules") and runnable:
                ui.button("Run at…", icon="schedule", on_click=lambda: schedule_dialog(
                    to_schedules, runbook=row.name, first_kind="at")).props(
                    "outline").mark("run-at")
            if allowed("start") and runnable:
                ui.button("Run", icon="play_arrow", on_click=lambda: open_start_dialog(row))
        archived_banner(row)
        if summary.get("description"):
            ui.label(summary["description"])
        with ui.row().classes("w-full gap-4 items-start flex-wrap lg:flex-nowrap"):
            with ui.card().classes("grow basis-0 min-w-[16rem]"):
                ui.label("Parameters").classes("text-lg font-medium")
                if not summary.get("params"):
                    ui.label("none").classes("text-grey-7")
                for pname, spec in summary.get("params", {}).items():
                    with ui.row().classes("gap-2 items-baseline"):
                        ui.label(pname).classes("font-mono")
                        ui.label("file, required" if spec.get("type") == "file" else
                                 "required" if spec.get("required") else
                                 f"default {spec.get('default')!r}").classes(
                            "text-xs text-grey-7")
                        if spec.get("description"):
                            ui.label(spec["description"]).classes("text-sm")
                if summary.get("secrets"):
                    ui.label("Secrets: " + ", ".join(summary["secrets"])).classes(
                        "text-sm text-grey-7")
                ui.label("Steps").classes("text-lg font-medium mt-2")
                for index, step in enumerate(summary.get("steps", []), start=1):
                    ui.label(f"{index}. {step['name']} ({step['action']})").classes("text-sm")
            with ui.card().classes("grow basis-0 min-w-[20rem]"):
                ui.label("YAML").classes("text-lg font-medium")
                follow_dark_mode(ui.codemirror(row.source, language="YAML").classes(
                    "w-full border border-gray-300 dark:border-gray-600").disable())
        await runbook_versions(row, version)  # ?version=N: that version's YAML and diff
        mine = [s for s in await run.io_bound(schedules.list_schedules) or []
                if s.runbook_name == row.name]
        if mine:
            ui.label("Schedules").classes("text-lg font-medium")
            for schedule in mine:
                ui.link(describe(schedule) + ("" if schedule.enabled else " (off)"),
                        f"/schedules/{schedule.id}").classes("font-mono text-sm")
        await run_history(row.name)  # the run grid and its trends
        ui.label("Recent jobs").classes("text-lg font-medium")
        listed = await run.io_bound(jobs.list_jobs, None, None, 10, 0, row.name)
        recent = listed[0] if listed is not None else []  # None: the server is stopping
        if not recent:
            ui.label("No jobs yet.").classes("text-grey-7")
        for job in recent:
            label, color, _icon = job_status_look(job.status)
            with ui.row().classes("items-center gap-2"):
                ui.badge(label, color=color)
                ui.link(f"#{job.id}", f"/jobs/{job.id}")
                ui.label(relative_time(job.created_at)).classes("text-sm text-grey-7")
        await page_changes(row.name)
        await healed_selectors(row.name)
