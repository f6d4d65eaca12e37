"""A runbook's health on the Runbooks page: its last runs as coloured marks (each a link to
its job), success rate and median duration over 7 and 30 days, the next scheduled run,
and the last failure's error kind (engine.service.runbook_history reads them)."""

from nicegui import ui

from engine.service.runbook_history import RunbookHealth, Window
from pages.ui.display import duration, exact_time, job_status_look, relative_time
from pages.ui.runbook_grid import CellLink


def window_text(window: Window) -> str:
    """"7 d: 92 % of 25 · median 4.2 s", or "7 d: no finished runs"."""
    rate = window.success_rate
    if rate is None:
        return f"{window.days} d: no finished runs"
    judged = window.completed + window.failed
    median = f" · median {duration(window.median_ms)}" if window.median_ms is not None else ""
    return f"{window.days} d: {rate * 100:.0f} % of {judged}{median}"


def health_line(health: RunbookHealth) -> None:
    """The runbook card's second line, wrapping on a narrow screen."""
    name = health.runbook.name
    with ui.row().classes("w-full items-center gap-x-4 gap-y-1 flex-wrap text-sm"):
        with ui.row().classes("gap-[2px] items-center no-wrap").mark(f"marks-{name}"):
            if not health.marks:
                ui.label("no runs yet").classes("text-grey-7")
            for mark in health.marks:
                label, color, _icon = job_status_look(mark.status)
                link = CellLink("", f"/jobs/{mark.job_id}").classes(
                    f"w-2.5 h-5 rounded-sm bg-{color} no-underline")
                link.props.update({"title": f"job #{mark.job_id} · {label} · "
                                            f"{relative_time(mark.created_at)}",
                                   "data-job": str(mark.job_id),
                                   "data-status": mark.status.value})
        for days in sorted(health.windows):
            window = health.windows[days]
            figures = ui.label(window_text(window)).classes(
                "text-negative" if window.failed and days == 7 else "").mark(
                f"window-{days}-{name}")
            figures.props["title"] = (
                f"jobs made in the last {days} days that ended: {window.completed} "
                f"completed, {window.failed} failed, {window.cancelled} cancelled (the rate "
                f"leaves cancelled ones out; the median is of the completed ones)")
        if health.next_run is not None:
            upcoming = ui.label(f"next run {relative_time(health.next_run)}").mark(
                f"next-run-{name}")
            upcoming.props["title"] = exact_time(health.next_run)
        failure = health.last_failure
        if failure is not None:
            with ui.row().classes("gap-1 items-baseline no-wrap").mark(f"last-failure-{name}"):
                ui.label("last failure").classes("text-grey-7")
                ui.link(failure.error_kind or "failed", f"/jobs/{failure.job_id}").classes(
                    "font-mono text-negative")
                ui.label(f"#{failure.job_id} · {relative_time(failure.created_at)}").classes(
                    "text-grey-7")
