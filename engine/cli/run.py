"""`main.py run`: run one runbook in this terminal, with live progress and a final report."""

import json
import sys
from contextlib import ExitStack
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from engine.bus import events
from engine.cli.approvals import REMIND_EVERY_S, WaitNotice, ask
from engine.cli.as_user import acting_user
from engine.cli.errors import exit_code
from engine.errors import JobdeckError, Unavailable
from engine.limits import excerpt
from engine.runbook import Runbook, RunbookInvalid, load_runbook_file
from engine.runner.worker import close_browser, execute_job
from engine.runtime import Runtime
from engine.service.job_files import JobFiles
from engine.service.jobs import InvalidParams, create_job
from engine.service.report import build_report, figures_text
from engine.service.runbooks import save_runbook
from engine.settings import Settings
from engine.store.db import session_scope
from models import JobStatus, StepRun, Trigger

STATUS_STYLE = {"success": "green", "failed": "red", "skipped": "yellow"}


def run_file(path: Path, params: dict[str, str], settings: Settings,
             report_json: Path | None, *, as_name: str | None = None, no_input: bool = False,
             remind_every_s: float = REMIND_EVERY_S) -> int:
    """Exit code: 0 completed, 1 failed or cancelled, 2 invalid runbook or parameters or
    an unknown `as_name` (1 when their role may not start jobs).

    An approval step asks y/n when stdin is a terminal (not `no_input`) and four eyes is
    off; otherwise the run says on stderr what it waits for and how to decide, again every
    `remind_every_s`."""
    console = Console(stderr=False, highlight=False)
    try:
        spec = load_runbook_file(path)
    except RunbookInvalid as exc:
        for line in exc.errors:
            console.print(line, style="red", markup=False)
        return exit_code(exc)
    runtime = Runtime(settings)
    try:
        started_by = acting_user(as_name, "start")
    except JobdeckError as exc:
        console.print(str(exc), style="red", markup=False)
        return exit_code(exc)
    save_runbook(spec)
    try:
        with ExitStack() as opened:  # the files are copied into the job as it is created
            texts, files = split_params(spec, params, opened)
            job = create_job(spec.name, texts, trigger=Trigger.cli, started_by=started_by,
                             files=files)
    except InvalidParams as exc:
        console.print(f"invalid parameters: {exc} (give each as -p NAME=VALUE)",
                      style="red", markup=False)
        return exit_code(exc)
    except Unavailable as exc:  # the files could not be stored
        console.print(str(exc), style="red", markup=False)
        return exit_code(exc)
    assert job.id is not None  # create_job committed the row
    console.print(f"job {job.id}: {spec.title} ({len(spec.steps)} steps)")
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                  "{task.total}"), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("running", total=len(spec.steps))

        def on_event(event: events.Event) -> None:
            if event.job_id != job.id or event.kind != events.STEP_FINISHED:
                return
            with session_scope() as session:
                row = session.get(StepRun, event.data["step_run_id"])
            progress.console.print(_step_line(row), markup=False)
            if row.parent_id is None:
                progress.advance(task)

        # Four eyes: whoever runs the job may not answer its approval, so the terminal
        # waits for another approver as a script does.
        asking = sys.stdin.isatty() and not no_input and not settings.four_eyes
        notice = WaitNotice(job.id, Console(stderr=True, highlight=False), settings,
                            remind_every_s, started_by=started_by)
        unsubscribe = events.get_bus().subscribe(on_event)
        unsubscribe_notice = (lambda: None) if asking else \
            events.get_bus().subscribe(notice.on_event)
        try:
            status = execute_job(job.id, settings=settings, bus=events.get_bus(),
                                 heartbeat=runtime.heartbeat,
                                 approver=ask(console, progress) if asking else None)
        finally:
            unsubscribe_notice()
            notice.close()
            unsubscribe()
            close_browser()
    report = build_report(job.id, settings.data_dir)
    assert report is not None  # the job exists: it was just created
    _print_report(console, report)
    if report_json:
        report_json.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return 0 if status == JobStatus.completed else 1


def split_params(spec: Runbook, params: dict[str, str], opened: ExitStack
                 ) -> tuple[dict[str, str], JobFiles]:
    """(text params, files) from `-p name=value` and `-p name=@path` (a file param's file,
    opened in `opened`); `@@` starts a text value with a single @. InvalidParams for a
    file that cannot be read, or a path given for a text param."""
    texts: dict[str, str] = {}
    files: JobFiles = {}
    problems = []
    for name, value in params.items():
        param = spec.params.get(name)
        if not value.startswith("@") or param is None:
            texts[name] = value
        elif value.startswith("@@"):
            texts[name] = value[1:]
        elif param.type != "file":
            problems.append(f'-p {name}={value}: "{name}" is a text param, not a file param '
                            f"(to give a text that starts with @, write @@)")
        else:
            path = Path(value[1:]).expanduser()
            try:
                files[name] = (path.name, opened.enter_context(path.open("rb")))
            except OSError as exc:
                problems.append(f"-p {name}={value}: cannot read the file {path} "
                                f"({exc.strerror})")
    if problems:
        raise InvalidParams("; ".join(problems))
    return texts, files


def _step_line(row: StepRun) -> str:
    indent = "    " if row.parent_id else ""
    it = f"[{row.iteration}] " if row.iteration else ""
    took = "—" if row.duration_ms is None else f"{row.duration_ms} ms"  # skipped: none
    text = (f"{indent}{it}{row.status.value:9} {row.name} ({row.action}) "
            f"{took}, {row.retries} retries")
    if row.captures:
        text += "  " + ", ".join(f"{k}={excerpt(str(v))!r}" for k, v in row.captures.items())
    if row.error_message:
        text += f"\n{indent}    {row.error_kind}: {excerpt(row.error_message)}"
    return text


def _print_report(console: Console, report: dict) -> None:
    m = report["metrics"]
    style = "green" if report["status"] == "completed" else "red"
    console.print(f"job {report['job_id']} {report['status']}", style=style)
    console.print(f"duration {m['duration_ms']} ms · {figures_text(report)}", markup=False)
    if report["error"]:
        console.print(f"{report['error']['kind']}: {excerpt(report['error']['message'])}",
                      style="red", markup=False)
    for a in report["artifacts"]:
        console.print(f"  {a['kind']:10} {a['name']}  {a['path']}", markup=False)
