"""The dialog that asks for a runbook's params (a file picker for each file param) and
starts a job; its params form is also the schedule dialog's."""

from collections.abc import Callable

from nicegui import run, ui
from nicegui.elements.upload_files import FileUpload
from nicegui.events import UploadEventArguments

from engine.errors import Unavailable
from engine.service import jobs
from engine.service.job_files import JobFiles
from engine.settings import current_settings
from models import Runbook
from pages.ui.identity import acting


def params_form(params: dict, values: dict | None = None, *,
                chosen: dict[str, FileUpload] | None = None,
                on_file_change: Callable[[], object] = lambda: None) -> dict[str, ui.input]:
    """One input per text param (`params`: Runbook.summary["params"]), holding `values`
    or else the param's default, its description as hint, `*` when it must be given.
    File params get a picker whose upload lands in `chosen` (then `on_file_change` is
    called); without `chosen` (a schedule cannot keep a file) a note says they cannot be
    given here. Returns param -> input."""
    inputs: dict[str, ui.input] = {}
    for name, spec in params.items():
        if spec.get("type") == "file":
            if chosen is not None:
                _file_picker(name, spec, chosen, on_file_change)
            else:
                ui.label(f'"{name}" is a file parameter: a schedule cannot give it a file, '
                         "so this runbook is not schedulable (start it with Run)").classes(
                    "text-sm text-grey-7").mark(f"file-note-{name}")
            continue
        label = name + (" *" if spec.get("required") and spec.get("default") is None else "")
        value = (values or {}).get(name, spec.get("default")) or ""
        inputs[name] = ui.input(label, value=value).props(
            f'outlined dense data-param="{name}"').classes("w-full").mark(f"param-{name}")
        if spec.get("description"):
            inputs[name].props(f'hint="{_attr(spec["description"])}"')
    if not params:
        ui.label("This runbook takes no parameters.").classes("text-sm")
    return inputs


def given_values(inputs: dict[str, ui.input]) -> dict[str, str]:
    """What was typed; an emptied field is left out, so that its default applies."""
    return {k: field.value for k, field in inputs.items() if field.value not in (None, "")}


def open_start_dialog(runbook: Runbook) -> None:
    params = runbook.summary.get("params", {})
    with ui.dialog() as dialog, ui.card().classes("w-full max-w-lg").props("data-start-dialog"):
        ui.label(f"Run {runbook.title}").classes("text-lg font-medium")
        if runbook.summary.get("description"):
            ui.label(runbook.summary["description"]).classes("text-sm text-grey-7")
        chosen: dict[str, FileUpload] = {}  # file param -> the file uploaded for it
        file_names = [n for n, spec in params.items() if spec.get("type") == "file"]
        inputs = params_form(params, chosen=chosen,
                             on_file_change=lambda: error.set_text(""))
        secrets = runbook.summary.get("secrets", [])
        if secrets:
            ui.label("Uses secrets: " + ", ".join(secrets) + " (from the server's secret "
                     "store, never typed here)").classes("text-xs text-grey-7")
        error = ui.label().classes("text-negative text-sm whitespace-pre-wrap")

        async def start() -> None:
            given = given_values(inputs)
            missing = [n for n in file_names if n not in chosen]
            if missing:
                error.text = "\n".join(f'"{n}" needs a file: choose one above'
                                        for n in missing)
                return
            actor = await acting("start")
            if actor is None:
                return
            files: JobFiles = {n: (upload.name, await upload.read())
                               for n, upload in chosen.items()}
            try:
                job = await run.io_bound(jobs.start_job, runbook.name, given,
                                         started_by=actor.name, source=actor.source,
                                         files=files)
            except (jobs.InvalidParams, LookupError, Unavailable) as exc:
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


def _file_picker(name: str, spec: dict, chosen: dict[str, FileUpload],
                 on_change: Callable[[], object]) -> None:
    """A file param's picker: one file, uploaded at once, no larger than the server takes
    (JOBDECK_MAX_UPLOAD_MB; the server checks again when the job starts). Clearing the
    uploaded file (the picker's own button) forgets it."""
    limit_mb = current_settings().max_upload_mb

    def picked(e: UploadEventArguments) -> None:
        chosen[name] = e.file
        on_change()

    def dropped() -> None:
        chosen.pop(name, None)

    with ui.column().classes("w-full gap-1").props(f'data-file-param="{name}"'):
        ui.label(f"{name} *").classes("text-sm font-medium")
        if spec.get("description"):
            ui.label(spec["description"]).classes("text-xs text-grey-7")
        ui.upload(label=f"a file, up to {limit_mb:g} MB", auto_upload=True, max_files=1,
                  max_file_size=int(limit_mb * 1024 * 1024), on_upload=picked,
                  on_rejected=lambda: ui.notify(f"{name}: choose one file of at most "
                                                f"{limit_mb:g} MB", type="negative"),
                  ).props("flat bordered").classes("w-full").on(
            "removed", dropped).mark(f"file-{name}")


def _attr(text: str) -> str:
    return text.replace('"', "'")
