"""`/storage` (admins): what the jobs' artifact files take per runbook, the retention
settings in force, what the next sweep will free, and Sweep now (docs/retention.md)."""

from nicegui import run, ui

from engine.errors import JobdeckError
from engine.service import retention
from pages.ui.display import exact_time, file_size, relative_time
from pages.ui.frame import frame
from pages.ui.identity import acting, admin_only

COLUMNS: list[dict] = [
    {"name": "runbook", "label": "Runbook", "field": "runbook", "align": "left",
     "sortable": True},
    {"name": "jobs", "label": "Jobs with files", "field": "jobs", "align": "right",
     "sortable": True},
    {"name": "size", "label": "Size", "field": "size", "align": "right"},
]


def settings_text(report: retention.StorageReport) -> str:
    """The settings in force, as a sentence."""
    limits = []
    if report.days:
        limits.append(f"ended more than {report.days} days ago (JOBDECK_RETENTION_DAYS)")
    if report.per_runbook is not None:
        limits.append(f"beyond the newest {report.per_runbook} finished jobs of their "
                      "runbook (JOBDECK_RETENTION_JOBS_PER_RUNBOOK)")
    if not limits:
        return ("Retention is off: JOBDECK_RETENTION_DAYS is 0 and no count limit is set, "
                "so every job's files are kept.")
    return ("A daily sweep deletes the artifact files and snapshots of finished jobs that "
            + " or ".join(limits) + ". It never touches running or waiting jobs, kept jobs, "
            "each runbook's newest completed job (the visual-change baseline), job rows, "
            "step figures or the audit log.")


async def storage_page() -> None:
    with frame("Storage"):
        if not await admin_only("storage"):
            return
        with ui.row().classes("w-full items-center"):
            ui.label("Storage").classes("text-2xl font-semibold")
            ui.space()
            sweep_button = ui.button("Sweep now", icon="auto_delete").props("no-caps").mark(
                "sweep-now")
        body = ui.column().classes("w-full gap-3")

    async def refresh() -> None:
        report = await run.io_bound(retention.storage_report)
        if report is None or body.is_deleted:  # stopping, or the tab went away
            return
        body.clear()
        with body:
            _show(report)

    async def sweep() -> None:
        actor = await acting("storage")
        if actor is None:
            return
        sweep_button.props("loading")
        try:
            result = await run.io_bound(retention.sweep_now, by=actor)
        except JobdeckError as exc:
            ui.notify(str(exc), type="warning", multi_line=True)
            return
        finally:
            sweep_button.props(remove="loading")
        if result is None:  # the server is stopping
            return
        count = len(result.job_ids)
        ui.notify(f"Swept: the files of {count} job{'' if count == 1 else 's'} deleted, "
                  f"{file_size(result.bytes)} freed", type="positive")
        await refresh()

    sweep_button.on_click(sweep)
    await refresh()


def _show(report: retention.StorageReport) -> None:
    ui.label(settings_text(report)).classes("text-sm text-grey-8").mark("retention-settings")
    with ui.row().classes("gap-4"):
        _figure("In use", file_size(report.total_bytes), "storage-total")
        _figure("Next sweep frees", f"{file_size(report.next_bytes)} · {report.next_jobs} "
                f"job{'' if report.next_jobs == 1 else 's'}", "next-sweep")
        _figure("Kept jobs", str(report.kept_jobs), "kept-jobs")
        last = report.last_sweep
        _figure("Last sweep", relative_time(last) if last else "never", "last-sweep",
                exact_time(last))
    if not report.runbooks:
        ui.label("No job has files yet.").classes("text-grey-7").mark("no-storage")
        return
    rows = [{"runbook": r.runbook, "title": r.title, "jobs": r.jobs,
             "size": file_size(r.bytes)} for r in report.runbooks]
    ui.table(columns=COLUMNS, rows=rows, row_key="runbook", pagination=0).classes(
        "w-full").props("flat bordered dense hide-bottom").mark("storage-table")


def _figure(label: str, value: str, mark: str, hover: str | None = None) -> None:
    with ui.card().classes("p-3 min-w-[10rem]"):
        ui.label(label).classes("text-xs text-grey-7")
        shown = ui.label(value).classes("text-lg font-medium").mark(mark)
        if hover:
            shown.tooltip(hover)
