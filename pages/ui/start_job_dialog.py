"""The Run dialog: asks for a runbook's params (a file picker for each file param) and
starts a job, or re-runs a finished job with its params filled in and editable; its params
form is also the schedule dialog's."""

from collections.abc import Awaitable, Callable

from nicegui import run, ui
from nicegui.elements.upload_files import FileUpload
from nicegui.events import UploadEventArguments

from engine.errors import JobdeckError
from engine.service import job_actions, jobs
from engine.service.job_files import JobFiles
from engine.settings import current_settings
from models import Job, Runbook
from pages.ui.dialogs import lasting_dialog
from pages.ui.identity import acting


def params_form(params: dict, values: dict | None = None, *,
                chosen: dict[str, FileUpload] | None = None,
                kept: dict[str, str] | None = None,
                on_file_change: Callable[[], object] = lambda: None) -> dict[str, ui.input]:
    """One input per text param (`params`: Runbook.summary["params"]), holding `values`
    or else the param's default, its description as hint, `*` when it must be given.
    File params get a picker whose upload lands in `chosen` (then `on_file_change` is
    called); `kept`: param -> the file a re-run keeps unless another is chosen. Without
    `chosen` (a schedule cannot keep a file) a note says they cannot be given here.
    Returns param -> input."""
    inputs: dict[str, ui.input] = {}
    for name, spec in params.items():
        if spec.get("type") == "file":
            if chosen is not None:
                _file_picker(name, spec, chosen, on_file_change, (kept or {}).get(name))
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


def edited_values(inputs: dict[str, ui.input], shown: dict[str, str], params: dict
                  ) -> tuple[dict[str, str], list[str]]:
    """A re-run's changes: (param -> value for each field that no longer holds what it was
    `shown` with, problems). The other params keep the job's values (jobs.rerun_job). An
    emptied field means the param's default; without one, the empty text a start gives an
    optional param, and a problem for a required one."""
    changed: dict[str, str] = {}
    problems = []
    for name, field in inputs.items():
        value = field.value or ""
        if value == (shown.get(name) or ""):
            continue
        default = params[name].get("default")
        if value or (default is None and not params[name].get("required")):
            changed[name] = value
        elif default is not None:
            changed[name] = default
        else:
            problems.append(f'"{name}" is required: give it a value')
    return changed, problems


def open_start_dialog(runbook: Runbook) -> None:
    """The Run dialog: the runbook's params (defaults filled in); Start job goes to the job."""

    async def start(actor, given: dict[str, str], files: JobFiles) -> Job | None:
        return await run.io_bound(jobs.start_job, runbook.name, given, started_by=actor.name,
                                  source=actor.source, files=files)

    _run_dialog(f"Run {runbook.title}", runbook.summary.get("description"),
                runbook.summary.get("params", {}), runbook.summary.get("secrets", []),
                "start", start)


async def open_rerun_dialog(job_id: int, title: str) -> None:
    """The Run dialog for a re-run of a finished job: its runbook version's params holding
    the job's values, each editable; a file param keeps the job's file unless another is
    chosen; secrets are named, never shown. Re-run goes to the new job."""
    try:
        form = await run.io_bound(jobs.rerun_form, job_id)
    except JobdeckError as exc:  # its YAML no longer reads: the message says why
        ui.notify(str(exc), type="negative", multi_line=True)
        return
    if not form:  # no such job (any more), or the server is stopping
        ui.notify(f"There is no job {job_id}.", type="negative")
        return
    params, values, secrets = form

    async def rerun(actor, given: dict[str, str], files: JobFiles) -> Job | None:
        return await run.io_bound(job_actions.act, job_id, "rerun", by=actor.name,
                                  source=actor.source, params=given, files=files)

    _run_dialog(f"Re-run #{job_id}: {title}", None, params, secrets, "rerun", rerun,
                values=values)


def _run_dialog(heading: str, description: str | None, params: dict, secrets: list[str],
                action: str, submit: Callable[..., Awaitable[Job | None]], *,
                values: dict[str, str] | None = None) -> None:
    """`submit(actor, text params, files)` starts the job; `values`: a re-run's, where a
    file param's value is the name of the file it keeps."""
    rerun = values is not None
    kept = {n: (values or {}).get(n, "") for n, spec in params.items()
            if rerun and spec.get("type") == "file"}
    with lasting_dialog() as dialog, ui.card().classes("w-full max-w-lg").props(
            f"data-{action}-dialog"):
        ui.label(heading).classes("text-lg font-medium")
        if description:
            ui.label(description).classes("text-sm text-grey-7")
        chosen: dict[str, FileUpload] = {}  # file param -> the file uploaded for it
        file_names = [n for n, spec in params.items() if spec.get("type") == "file"]
        inputs = params_form(params, values, chosen=chosen, kept=kept,
                             on_file_change=lambda: error.set_text(""))
        shown = {n: field.value for n, field in inputs.items()}  # what a re-run may change
        if secrets:
            ui.label("Uses secrets: " + ", ".join(secrets) + " (from the server's secret "
                     "store, never typed here)").classes("text-xs text-grey-7")
        error = ui.label().classes("text-negative text-sm whitespace-pre-wrap")

        async def go() -> None:
            # a re-run sends only what was edited: an unsent param keeps the job's value
            given, problems = edited_values(inputs, shown, params) if rerun else (
                given_values(inputs), [])
            problems += [f'"{n}" needs a file: choose one above' for n in file_names
                         if n not in chosen and n not in kept]
            if problems:
                error.text = "\n".join(problems)
                return
            actor = await acting(action)
            if actor is None:
                return
            files: JobFiles = {n: (upload.name, await upload.read())
                               for n, upload in chosen.items()}
            try:
                job = await submit(actor, given, files)
            except (JobdeckError, LookupError) as exc:
                error.text = str(exc)
                return
            if job is None:  # the server is stopping
                return
            dialog.close()
            ui.navigate.to(f"/jobs/{job.id}")

        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Re-run" if rerun else "Start job", icon="replay" if rerun
                      else "play_arrow", on_click=go).mark(f"{action}-job")


def _file_picker(name: str, spec: dict, chosen: dict[str, FileUpload],
                 on_change: Callable[[], object], kept: str | None = None) -> None:
    """A file param's picker: one file, uploaded at once, no larger than the server takes
    (JOBDECK_MAX_UPLOAD_MB; the server checks again when the job starts). Clearing the
    uploaded file (the picker's own button) forgets it. `kept`: the file a re-run keeps
    (its name) unless one is chosen."""
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
        if kept is not None:
            ui.label(f"Keeps the job's file {kept or '(unnamed)'}; choose a file to replace "
                     "it").classes("text-xs").mark(f"kept-{name}")
        ui.upload(label=f"a file, up to {limit_mb:g} MB", auto_upload=True, max_files=1,
                  max_file_size=int(limit_mb * 1024 * 1024), on_upload=picked,
                  on_rejected=lambda: ui.notify(f"{name}: choose one file of at most "
                                                f"{limit_mb:g} MB", type="negative"),
                  ).props("flat bordered").classes("w-full").on(
            "removed", dropped).mark(f"file-{name}")


def _attr(text: str) -> str:
    return text.replace('"', "'")
