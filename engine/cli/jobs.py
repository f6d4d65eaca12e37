"""`python main.py jobs …`: list jobs, show one, and act on them from a terminal (same
engine calls as the console and the API; `--json` gives what the API gives)."""

import json
from contextlib import ExitStack
from datetime import datetime

from rich import box
from rich.console import Console
from rich.table import Table

from engine.bus import events
from engine.cli.as_user import SOURCE, decider
from engine.cli.errors import exit_code
from engine.cli.run import split_params
from engine.errors import JobdeckError, NotFound
from engine.limits import excerpt
from engine.runtime import Runtime, open_records
from engine.service import job_actions, jobs
from engine.service.report import build_report, figures_text, job_summary, public_report
from engine.settings import Settings
from models import JobStatus

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def _print_json(document) -> None:
    # print, not rich: a script parses it, so no wrapping at the terminal's width
    print(json.dumps(document, indent=2, ensure_ascii=False))


def list_command(settings: Settings, status: str | None, limit: int, as_json: bool) -> int:
    open_records(settings)
    try:
        wanted = [JobStatus(s.strip()) for s in status.split(",") if s.strip()] \
            if status else None
    except ValueError:
        err.print(f"unknown status in {status!r}: use one or more of "
                  f"{', '.join(s.value for s in JobStatus)}", style="red", markup=False)
        return 2
    found, total = jobs.list_jobs(wanted, limit=limit)
    if as_json:  # the shape of GET /api/jobs
        _print_json({"items": [job_summary(job) for job in found], "total": total})
        return 0
    # The status and the time are what a reader scans for: never cut or folded. In a
    # narrow terminal the runbook's name and the actions fold instead (the full times
    # are in `jobs show` and --json).
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1), collapse_padding=True)
    table.add_column("id", no_wrap=True, justify="right")
    table.add_column("runbook", overflow="fold", ratio=3)
    table.add_column("status", no_wrap=True, min_width=len("waiting_for_approval"))
    table.add_column("trigger", no_wrap=True)
    table.add_column("created", no_wrap=True)
    table.add_column("steps", no_wrap=True)
    table.add_column("can do", overflow="fold", ratio=2, min_width=len("approve,"))
    for job in found:
        table.add_row(str(job.id), job.runbook_name, job.status.value, job.trigger.value,
                      job.created_at.astimezone().strftime("%m-%d %H:%M"),
                      f"{job.steps_done}/{job.step_count}",
                      ", ".join(job_actions.available_actions(job)))
    console.print(table)
    console.print(f"{len(found)} of {total} jobs")
    return 0


def job_document(job_id: int, settings: Settings) -> dict:
    """The execution report as GET /api/jobs/{id} gives it: artifacts by their API URL,
    not by a path on this machine. Raises NotFound."""
    report = build_report(job_id, settings.data_dir)
    if report is None:
        raise NotFound(f"there is no job {job_id}")
    return public_report(report)


def show_command(settings: Settings, job_id: int, as_json: bool) -> int:
    """0 shown, 2 no such job."""
    open_records(settings)
    try:
        report = job_document(job_id, settings)
    except NotFound as exc:
        err.print(str(exc), style="red", markup=False)
        return exit_code(exc)
    if as_json:
        _print_json(report)
        return 0
    for line in _summary(report, settings):  # long lines wrap in the terminal, not here
        console.print(line, markup=False, soft_wrap=True)
    return 0


def _time(value: str | None) -> str:
    return datetime.fromisoformat(value).astimezone().strftime("%Y-%m-%d %H:%M:%S") \
        if value else "-"


def _summary(report: dict, settings: Settings) -> list[str]:
    m = report["metrics"]
    lines = [
        f"job {report['job_id']}: {report['runbook_title']} ({report['runbook']} "
        f"v{report['runbook_version']})",
        f"status      {report['status']}",
        f"trigger     {report['trigger']}" + (f" (schedule {report['schedule_id']})"
                                              if report["schedule_id"] else ""),
        f"started by  {report['started_by'] or '-'}",
        *([f"re-run of   job {report['rerun_of']}"] if report["rerun_of"] else []),
        *([f"retry of    job {report['retry_of']}"] if report["retry_of"] else []),
        f"created     {_time(report['created_at'])}",
        f"started     {_time(report['started_at'])}",
        f"finished    {_time(report['finished_at'])}",
        f"duration    {m['duration_ms'] if m['duration_ms'] is not None else '-'} ms",
        f"figures     {figures_text(report)}",
    ]
    if report["status"] == JobStatus.waiting_for_approval.value:
        lines += _waiting(report["job_id"], settings)
    failed = [s for s in report["steps"] if s["status"] == "failed"]
    if failed:
        step = failed[-1]
        lines.append(f'failed at   step "{step["name"]}" ({step["action"]}): '
                     f'{step["error_kind"]}: {excerpt(step["error_message"] or "")}')
    elif report["error"]:
        lines.append(f"error       {report['error']['kind']}: "
                     f"{excerpt(report['error']['message'] or '')}")
    lines.append(f"artifacts   {len(report['artifacts'])}")
    lines += [f"  {a['kind']:10} {a['name']}  {settings.console_url}{a['url']}"
              for a in report["artifacts"]]
    lines.append(f"console     {settings.console_url}/jobs/{report['job_id']}")
    return lines


def _waiting(job_id: int, settings: Settings) -> list[str]:
    """What the job waits for: the last approval request's step and message."""
    requests = [e for e in events.recorded_after(job_id) if e.kind == events.APPROVAL_REQUESTED]
    if not requests:
        return []
    data = requests[-1].data
    how = "--as NAME " if settings.four_eyes else ""
    return [f'waiting at  step "{data.get("step")}" ({data.get("risk")} risk): '
            f'{excerpt(data.get("message") or "")}',
            f"decide      python main.py jobs approve {job_id} {how}(or reject)"]


def act_command(settings: Settings, job_id: int, action: str, comment: str | None,
                as_name: str | None, *, params: dict[str, str] | None = None,
                from_step: str | None = None, version: str = "old") -> int:
    """0 done (or asked of the worker), 1 not possible in the job's status or not allowed
    for this person, 2 no such job or user, bad params or step, or --as missing where four
    eyes need it. `params` (rerun): -p values to change, name=@path giving a file param a
    new file; `from_step` (retry): a step's name or its row's ordinal."""
    Runtime(settings)
    try:
        by = decider(as_name, action, job_id, settings)
        with ExitStack() as opened:
            options = _options(job_id, action, params, from_step, version, opened)
            job = job_actions.act(job_id, action, by=by, comment=comment, source=SOURCE,
                                  **options)
    except JobdeckError as exc:
        err.print(str(exc), style="red", markup=False)
        return exit_code(exc)
    if action == "rerun":
        console.print(f"job {job_id} re-run as job {job.id} (queued)")
    elif action == "retry":
        where = (job.resume or {}).get("path") or []
        console.print(f"job {job_id} retried as job {job.id} (queued)" + (
            f", from step {' / '.join(map(str, where))}" if where else ""), markup=False)
    elif job.status.is_final:
        console.print(f"job {job_id} is {job.status.value}")
    else:
        console.print(f"job {job_id}: {action} requested by {by}; the worker running it "
                      "carries it out within a second (a pause once the running step has "
                      "finished)")
    return 0


def _options(job_id: int, action: str, params: dict[str, str] | None,
             from_step: str | None, version: str, opened: ExitStack) -> dict:
    """job_actions.act's keywords for a re-run (texts and files, the files opened in
    `opened`) or a retry (the engine reads an all-digit step as an ordinal, unless a step
    has that name)."""
    if action == "retry":
        return {"from_step": from_step, "version": version}
    if action != "rerun" or not params:
        return {}
    spec = jobs.job_runbook(job_id)
    if spec is None:
        raise NotFound(f"there is no job {job_id}")
    texts, files = split_params(spec, params, opened)
    return {"params": texts, "files": files}
