"""The runbook page's run grid: its last N jobs (columns, the newest at the right, as in
Airflow's grid view) × its steps (rows), each cell the step's status colour with the
recovery marks, a link to the job; the trends follow (pages/ui/runbook_trends.py)."""

from nicegui import run, ui
from nicegui.elements.mixins.text_element import TextElement

from engine.service import runbook_history
from engine.service.runbook_history import GridCell, GridJob, GridRow, RunHistory
from engine.service.visual import percent
from pages.ui.display import STEP_STATUS_LOOK, duration, job_status_look, relative_time
from pages.ui.runbook_trends import trends

CHOICES = (30, 60, 100)  # how many jobs the grid can show
# the recovery marks a cell can carry (docs/recovery.md), as the legend explains them
GLYPHS = {"healed": "✚", "changed": "Δ", "restored": "↺"}
CELL = "w-5 h-5 rounded-sm flex items-center justify-center text-[10px] leading-none " \
       "text-white no-underline"


class CellLink(TextElement):
    """A plain <a href> with text: ui.link is a Vue component, and a grid of hundreds of
    them takes the browser a noticeable time to draw."""

    def __init__(self, text: str, href: str) -> None:
        super().__init__(tag="a", text=text)
        self.props["href"] = href


async def run_history(name: str) -> None:
    """The grid with its trends, for runbook `name`; the number of jobs can be changed."""
    state = {"last": runbook_history.GRID_JOBS}

    @ui.refreshable
    async def show() -> None:
        history = await run.io_bound(runbook_history.run_history, name, state["last"])
        if history is None:  # the server is stopping, or the runbook was just removed
            return
        if not history.jobs:
            ui.label("No runs yet: the grid and the charts fill as jobs run.").classes(
                "text-grey-7")
            return
        grid(history)
        trends(history)

    async def choose(last: int) -> None:
        state["last"] = last
        show.refresh()

    with ui.column().classes("w-full gap-2").mark("run-history"):
        with ui.row().classes("w-full items-center gap-3"):
            ui.label("Runs").classes("text-lg font-medium")
            ui.space()
            ui.label("last").classes("text-sm text-grey-7")
            ui.toggle(list(CHOICES), value=state["last"],
                      on_change=lambda e: choose(e.value)).props("dense no-caps").mark(
                "grid-size")
            ui.label("jobs").classes("text-sm text-grey-7")
        await show()


def grid(history: RunHistory) -> None:
    """The grid: a header row of the jobs' own statuses, then one row per step."""
    columns = len(history.jobs)
    with ui.element("div").classes("w-full overflow-x-auto"):
        with ui.element("div").classes("grid gap-[2px] items-center").style(
                f"grid-template-columns: minmax(8rem, 14rem) repeat({columns}, 1.25rem)"
        ).mark("run-grid"):
            ui.label("job").classes("text-xs text-grey-7 pr-2")
            for job in history.jobs:
                _job_cell(job)
            for row in history.rows:
                _step_label(row)
                for job in history.jobs:
                    _cell(row, job, row.cells.get(job.id))
            ui.element("div")
            with ui.row().classes("justify-between text-xs text-grey-7").style(
                    f"grid-column: span {columns}"):
                ui.label(f"#{history.jobs[0].id}")
                ui.label(f"newest #{history.jobs[-1].id} →")
    _legend()


def _job_cell(job: GridJob) -> None:
    label, color, _icon = job_status_look(job.status)
    link = CellLink("", f"/jobs/{job.id}").classes(f"{CELL} bg-{color}")
    link.props.update({"title": f"job #{job.id} · {label} · {relative_time(job.created_at)}"
                                f" · version {job.version} · {duration(job.duration_ms)}",
                       "data-job": str(job.id), "data-status": job.status.value})


def _step_label(row: GridRow) -> None:
    label = ui.label(row.step).classes("text-sm truncate pr-2" + (
        "" if row.current else " italic text-grey-6"))
    label.props.update({"title": row.step if row.current else
                        f"{row.step}: not in the current version of the runbook",
                        "data-step-row": row.step})


def cell_marks(cell: GridCell) -> list[str]:
    """The recovery marks of a cell, in words: "healed", "page changed 23 %", "restored
    from job #M"."""
    marks = ["healed"] if cell.healed else []
    if cell.changed is not None:
        marks.append(f"page changed {percent(cell.changed)}")
    if cell.restored_from is not None:
        marks.append(f"restored from job #{cell.restored_from}")
    return marks


def _cell(row: GridRow, job: GridJob, cell: GridCell | None) -> None:
    if cell is None:  # the job never reached this step, or its version had no such step
        blank = CellLink("", f"/jobs/{job.id}").classes(
            "w-5 h-5 rounded-sm border border-dashed border-grey-5 no-underline")
        blank.props.update({"title": f"{row.step} · job #{job.id}: not run",
                            "data-job": str(job.id), "data-step": row.step,
                            "data-status": "not-run"})
        return
    label, color, _icon = STEP_STATUS_LOOK.get(cell.status, STEP_STATUS_LOOK["pending"])
    glyphs = "".join(GLYPHS[kind] for kind, on in (
        ("healed", cell.healed), ("changed", cell.changed is not None),
        ("restored", cell.restored_from is not None)) if on)
    words = [label, *cell_marks(cell)]
    if cell.error_kind:
        words.append(cell.error_kind)
    link = CellLink(glyphs, f"/jobs/{job.id}").classes(f"{CELL} bg-{color}")
    link.props.update({"title": f"{row.step} · job #{job.id}: {', '.join(words)} · "
                                f"{duration(cell.duration_ms)}",
                       "data-job": str(job.id), "data-step": row.step,
                       "data-status": cell.status,
                       "data-marks": " ".join(k for k in GLYPHS if GLYPHS[k] in glyphs)})


def _legend() -> None:
    with ui.row().classes("gap-x-4 gap-y-1 items-center text-xs text-grey-7 flex-wrap"):
        for status in ("success", "failed", "skipped", "cancelled", "running"):
            label, color, _icon = STEP_STATUS_LOOK[status]
            with ui.row().classes("gap-1 items-center no-wrap"):
                ui.element("div").classes(f"w-3 h-3 rounded-sm bg-{color}")
                ui.label(label)
        with ui.row().classes("gap-1 items-center no-wrap"):
            ui.element("div").classes("w-3 h-3 rounded-sm border border-dashed border-grey-5")
            ui.label("not run")
        ui.label(f"{GLYPHS['healed']} healed · {GLYPHS['changed']} page changed · "
                 f"{GLYPHS['restored']} restored by a retry · newest job at the right")
