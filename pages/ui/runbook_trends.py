"""The runbook page's trends under its run grid: ECharts charts (through NiceGUI's
`ui.echart`) of duration per job, steps failed and retries per job, success rate per day,
and a table of each step's median duration that puts the slowest step first.

Chart options hold only numbers, job ids and dates: no text a runbook or a site wrote
(keys starting with ":" would run as JavaScript, docs/conventions)."""

from nicegui import ui

from engine.service.runbook_history import RunHistory
from pages.ui.display import duration, job_status_look

# Quasar's palette colours that pages/ui/display.py gives statuses, as ECharts needs them
HEX = {"positive": "#21ba45", "negative": "#c10015", "primary": "#3b5bdb",
       "brown-5": "#8d6e63", "grey-5": "#bdbdbd", "grey-6": "#9e9e9e", "grey-7": "#757575",
       "amber-9": "#ff6f00", "deep-orange-7": "#e64a19", "blue-grey-6": "#546e7a"}
CARD = "grow basis-0 min-w-[18rem] gap-1"
STEP_COLUMNS: list[dict] = [
    {"name": "step", "label": "Step", "field": "step", "align": "left"},
    {"name": "median", "label": "Median", "field": "median", "align": "right",
     "sortable": True, ":sort": "(a, b, rowA, rowB) => rowA.median_ms - rowB.median_ms"},
    {"name": "slowest", "label": "Slowest", "field": "slowest", "align": "right"},
    {"name": "runs", "label": "Runs timed", "field": "runs", "align": "right"},
    {"name": "failed", "label": "Failed", "field": "failed", "align": "right",
     "sortable": True},
]


def trends(history: RunHistory) -> None:
    """The three charts side by side (stacked on a narrow screen), then the step table."""
    with ui.row().classes("w-full gap-4 items-stretch flex-wrap"):
        for title, options, marker in (
                ("Duration per job", duration_options(history), "chart-duration"),
                ("Steps failed and retries per job", failures_options(history),
                 "chart-failures"),
                (f"Success rate per day (last {len(history.days)} days, UTC)",
                 success_options(history), "chart-success")):
            with ui.card().classes(CARD):
                ui.label(title).classes("font-medium")
                ui.echart(options).classes("w-full h-56").mark(marker)
    step_table(history)


def _jobs_axis(history: RunHistory) -> dict:
    return {"type": "category", "data": [f"#{job.id}" for job in history.jobs],
            "axisLabel": {"fontSize": 10}}


def duration_options(history: RunHistory) -> dict:
    """Bars of each job's duration in seconds (None while it runs), coloured by status."""
    bars = [{"value": None if job.duration_ms is None else job.duration_ms / 1000,
             "itemStyle": {"color": HEX.get(job_status_look(job.status)[1], "#9e9e9e")}}
            for job in history.jobs]
    return {"tooltip": {"trigger": "axis"}, "grid": _grid(), "xAxis": _jobs_axis(history),
            "yAxis": {"type": "value", "name": "s"},
            "series": [{"type": "bar", "name": "duration (s)", "data": bars}]}


def failures_options(history: RunHistory) -> dict:
    """Each job's failed steps and retries, side by side."""
    return {"tooltip": {"trigger": "axis"}, "legend": {"top": 0}, "grid": _grid(top=30),
            "xAxis": _jobs_axis(history), "yAxis": {"type": "value", "minInterval": 1},
            "series": [
                {"type": "bar", "name": "steps failed", "color": HEX["negative"],
                 "data": [job.steps_failed for job in history.jobs]},
                {"type": "bar", "name": "retries", "color": HEX["amber-9"],
                 "data": [job.retry_count for job in history.jobs]}]}


def success_options(history: RunHistory) -> dict:
    """Each day's success rate in % (None on a day with no completed or failed job) over
    the number of jobs that ended that day."""
    rates = [None if d.success_rate is None else round(d.success_rate * 100, 1)
             for d in history.days]
    return {"tooltip": {"trigger": "axis"}, "legend": {"top": 0}, "grid": _grid(top=30),
            "xAxis": {"type": "category", "data": [d.day.isoformat() for d in history.days],
                      "axisLabel": {"fontSize": 10}},
            "yAxis": [{"type": "value", "name": "%", "min": 0, "max": 100},
                      {"type": "value", "name": "jobs", "minInterval": 1}],
            "series": [
                {"type": "bar", "name": "jobs ended", "yAxisIndex": 1, "color": HEX["grey-5"],
                 "data": [d.completed + d.failed + d.cancelled for d in history.days]},
                {"type": "line", "name": "success rate (%)", "color": HEX["positive"],
                 "connectNulls": False, "data": rates}]}


def _grid(top: int = 20) -> dict:
    return {"left": 40, "right": 40, "top": top, "bottom": 30}


def step_table(history: RunHistory) -> None:
    """Each step's median and slowest successful run over the grid's jobs, the slowest
    median first; steps the current version no longer has are said to be so."""
    rows = [{"step": t.step if t.current else f"{t.step} (older version)",
             "median": duration(t.median_ms), "median_ms": t.median_ms or 0,
             "slowest": duration(t.slowest_ms), "runs": t.runs, "failed": t.failed}
            for t in history.step_times]
    ui.label(f"Step durations over these {len(history.jobs)} jobs").classes("font-medium")
    slowest = history.step_times[0] if history.step_times else None
    if slowest is not None and slowest.median_ms is not None:
        ui.label(f"Slowest step: {slowest.step}, median {duration(slowest.median_ms)}"
                 ).classes("text-sm").mark("slowest-step")
    ui.table(columns=STEP_COLUMNS, rows=rows, row_key="step", pagination=0).classes(
        "w-full").props("flat bordered dense hide-bottom").mark("step-times")
