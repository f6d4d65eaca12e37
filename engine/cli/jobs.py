"""`python main.py jobs …`: list jobs and act on them from a terminal (same engine calls
as the console and the API)."""

from rich.console import Console
from rich.table import Table

from engine.cli.errors import exit_code
from engine.errors import JobdeckError
from engine.runtime import Runtime, open_records
from engine.service import job_actions, jobs
from engine.settings import Settings
from models import JobStatus

console = Console()


def list_command(settings: Settings, status: str | None, limit: int) -> int:
    open_records(settings)
    try:
        wanted = [JobStatus(s.strip()) for s in status.split(",")] if status else None
    except ValueError:
        console.print(f"unknown status in {status!r}: use one or more of "
                      f"{', '.join(s.value for s in JobStatus)}", style="red")
        return 2
    found, total = jobs.list_jobs(wanted, limit=limit)
    table = Table("id", "runbook", "status", "trigger", "created", "steps", "can do")
    for job in found:
        table.add_row(str(job.id), job.runbook_name, job.status.value, job.trigger.value,
                      job.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                      f"{job.steps_done}/{job.step_count}",
                      ", ".join(job_actions.available_actions(job)))
    console.print(table)
    console.print(f"{len(found)} of {total} jobs")
    return 0


def act_command(settings: Settings, job_id: int, action: str, comment: str | None,
                actor: str) -> int:
    """0 done (or asked of the worker), 1 not possible in the job's status, 2 no such job."""
    Runtime(settings)
    try:
        job = job_actions.act(job_id, action, by=actor, comment=comment)
    except JobdeckError as exc:
        console.print(str(exc), style="red")
        return exit_code(exc)
    if action == "rerun":
        console.print(f"job {job_id} re-run as job {job.id} (queued)")
    elif job.status.is_final:
        console.print(f"job {job_id} is {job.status.value}")
    else:
        console.print(f"job {job_id}: {action} requested; the worker running it carries it "
                      "out within a second (a pause once the running step has finished)")
    return 0
