"""The runbook page's "Pages that changed": the latest compared job's steps whose screenshot
differed from the last completed job's, each with its share and its diff image."""

from nicegui import run, ui

from engine.service import visual
from engine.service.visual import percent


async def page_changes(runbook_name: str) -> None:
    """The section; nothing before the runbook's second job (no screenshots compared)."""
    latest = await run.io_bound(visual.recent_changes, runbook_name)
    if latest is None:
        return
    with ui.column().classes("w-full gap-1").mark("page-changes"):
        ui.label("Pages that changed").classes("text-lg font-medium")
        with ui.row().classes("items-baseline gap-1 text-sm text-grey-7"):
            ui.label("Job")
            ui.link(f"#{latest.job_id}", f"/jobs/{latest.job_id}")
            ui.label(f"against the last completed job before it: {latest.changed} of "
                     f"{latest.compared} compared steps changed."
                     if latest.changed else
                     f"against the last completed job before it: no page changed "
                     f"({latest.compared} compared steps).")
        with ui.row().classes("w-full gap-3 flex-wrap"):
            for changed in latest.steps:
                with ui.card().classes("w-60 p-2 gap-1").props(
                        f'data-changed-step="{changed.step.replace(chr(34), "")}"'):
                    with ui.link(target=changed.diff_url, new_tab=True).classes("w-full"):
                        ui.image(changed.diff_url).classes("w-full border rounded").props(
                            f'fit=contain alt="what changed on {changed.step}"')
                    ui.label(changed.step).classes("font-medium truncate max-w-full")
                    ui.label(f"page changed {percent(changed.share)}"
                             + (" · failed its visual check" if changed.failed else "")
                             ).classes("text-sm " + (
                                 "text-negative" if changed.failed else "text-grey-7"))
