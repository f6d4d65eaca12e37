"""The dialog that asks for a runbook's params and starts a job."""

from nicegui import run, ui

from engine.service import jobs
from models import Runbook
from pages.ui.identity import acting


def open_start_dialog(runbook: Runbook) -> None:
    params = runbook.summary.get("params", {})
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-lg").props("data-start-dialog"):
        ui.label(f"Run {runbook.title}").classes("text-lg font-medium")
        if runbook.summary.get("description"):
            ui.label(runbook.summary["description"]).classes("text-sm text-grey-7")
        inputs = {}
        for name, spec in params.items():
            label = name + (" *" if spec.get("required") and spec.get("default") is None
                            else "")
            inputs[name] = ui.input(label, value=spec.get("default") or "").props(
                f'outlined dense data-param="{name}"').classes("w-full").mark(f"param-{name}")
            if spec.get("description"):
                inputs[name].props(f'hint="{_attr(spec["description"])}"')
        if not params:
            ui.label("This runbook takes no parameters.").classes("text-sm")
        secrets = runbook.summary.get("secrets", [])
        if secrets:
            ui.label("Uses secrets: " + ", ".join(secrets) + " (from the server's secret "
                     "store, never typed here)").classes("text-xs text-grey-7")
        error = ui.label().classes("text-negative text-sm whitespace-pre-wrap")

        async def start() -> None:
            given = {k: field.value for k, field in inputs.items()
                     if field.value not in (None, "")}
            actor = await acting("start")
            if actor is None:
                return
            try:
                job = await run.io_bound(jobs.start_job, runbook.name, given,
                                         started_by=actor.name, source=actor.source)
            except (jobs.InvalidParams, LookupError) as exc:
                error.text = str(exc)
                return
            if job is None:  # the server is stopping
                return
            dialog.close()
            ui.navigate.to(f"/jobs/{job.id}")

        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Start job", icon="play_arrow", on_click=start).mark("start-job")
    dialog.open()


def _attr(text: str) -> str:
    return text.replace('"', "'")
