"""The jobs list: runbooks to start and the newest jobs, refreshed live."""

from nicegui import run, ui

from engine import events, jobs
from models import JobStatus
from pages.frame import frame

COLUMNS = [
    {"name": "id", "label": "Job", "field": "id", "align": "left"},
    {"name": "runbook", "label": "Runbook", "field": "runbook", "align": "left"},
    {"name": "status", "label": "Status", "field": "status", "align": "left"},
    {"name": "trigger", "label": "Trigger", "field": "trigger", "align": "left"},
    {"name": "progress", "label": "Progress", "field": "progress", "align": "left"},
    {"name": "started", "label": "Started", "field": "started", "align": "left"},
    {"name": "duration", "label": "Duration", "field": "duration", "align": "right"},
    {"name": "retries", "label": "Retries", "field": "retries", "align": "right"},
]


def _rows() -> list[dict]:
    listed, _total = jobs.list_jobs(limit=50)
    return [{
        "id": j.id, "runbook": j.runbook_title, "status": j.status.value.replace("_", " "),
        "trigger": j.trigger.value,
        "progress": (f"step {j.current_step}" if j.status == JobStatus.running else
                     f"{j.steps_succeeded + j.steps_failed + j.steps_skipped} steps"),
        "started": j.started_at.strftime("%Y-%m-%d %H:%M:%S") if j.started_at else "",
        "duration": f"{j.duration_ms / 1000:.1f} s" if j.duration_ms is not None else "",
        "retries": j.retry_count,
    } for j in listed]


@ui.page("/")
async def jobs_page():
    with frame("Jobs"):
        with ui.row().classes("gap-2") as runbook_row:
            pass
        table = ui.table(columns=COLUMNS, rows=[], row_key="id").classes("w-full")

    async def refresh() -> None:
        table.rows = await run.io_bound(_rows)

    async def start(name: str) -> None:
        try:
            job = await run.io_bound(jobs.start_job, name)
        except (jobs.InvalidParams, LookupError) as exc:
            ui.notify(str(exc), type="negative")
            return
        ui.notify(f"Job {job.id} queued")
        await refresh()

    for rb in await run.io_bound(jobs.list_runbooks):
        with runbook_row:
            ui.button(f"Run {rb.title}", on_click=lambda _, n=rb.name: start(n)).props("outline")

    pending = {"changed": False}
    unsubscribe = events.get_bus().subscribe(
        lambda e: pending.update(changed=True) if e.kind == events.JOB_STATUS else None)
    ui.context.client.on_disconnect(unsubscribe)

    async def tick() -> None:
        if pending["changed"]:
            pending["changed"] = False
            await refresh()

    ui.timer(0.5, tick)  # applies bus events promptly, from the page's own loop
    ui.timer(10, refresh)  # the safety net: converges even if an event was missed
    await refresh()
