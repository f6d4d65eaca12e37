"""The step timeline of a job: one row per step, repeat iterations grouped, details open."""

from nicegui import ui

from models import StepRun
from pages.ui.display import STEP_STATUS_LOOK, duration


def timeline_rows(planned: list[dict], runs: list[StepRun]) -> list[dict]:
    """Top-level steps in runbook order: the latest run of each, else a pending row.

    Each row carries its nested runs grouped by repeat iteration.
    """
    children: dict[int, list[StepRun]] = {}
    run: StepRun | None  # below: each run, then each planned step's latest run or None
    for run in runs:
        if run.parent_id is not None:
            children.setdefault(run.parent_id, []).append(run)
    top = [r for r in runs if r.parent_id is None]
    rows, used = [], set()
    for plan in planned:
        run = next((r for r in top if r.name == plan["name"] and r.id not in used), None)
        if run is None:
            rows.append({"name": plan["name"], "action": plan["action"], "run": None,
                         "iterations": {}})
            continue
        assert run.id is not None  # a stored step run
        used.add(run.id)
        iterations: dict[int, list[StepRun]] = {}
        for child in children.get(run.id, []):
            iterations.setdefault(child.iteration or 1, []).append(child)
        rows.append({"name": run.name, "action": run.action, "run": run,
                     "iterations": iterations})
    # runs that match no planned step (e.g. a runbook edited since) still show
    rows += [{"name": r.name, "action": r.action, "run": r, "iterations": {}}
             for r in top if r.id not in used]
    return rows


class StatusBadge:
    """A step's status badge; `show` changes it in place the moment an event arrives."""

    def __init__(self, status: str):
        with ui.badge().classes("py-1 px-2") as self.badge:
            self.icon = ui.icon("", size="14px").classes("mr-1")
            self.label = ui.label()
        self.show(status)

    def show(self, status: str) -> None:
        label, color, icon = STEP_STATUS_LOOK[status]
        self.badge.props(f'color={color} data-status="{status}"')
        self.icon.name = icon
        self.icon.classes(add="animate-spin" if status == "running" else "",
                          remove="" if status == "running" else "animate-spin")
        self.label.text = label


def render_timeline(rows: list[dict], open_ids: set, screenshot_of: dict[int, int]
                    ) -> dict[str, StatusBadge]:
    """Draw the timeline; `open_ids` keeps which rows the viewer opened across redraws.

    Returns the badges of the top-level rows by step name, for updates in place.
    """
    badges = {}
    with ui.column().classes("w-full gap-1"):
        for index, row in enumerate(rows, start=1):
            badges[row["name"]] = _step_row(index, row["name"], row["action"], row["run"],
                                            open_ids, screenshot_of, row["iterations"])
    return badges


def _step_row(index, name: str, action: str, run: StepRun | None, open_ids: set,
              screenshot_of: dict[int, int], iterations: dict | None = None) -> StatusBadge:
    status = run.status.value if run else "pending"
    key = run.id if run else f"plan-{index}"
    expandable = run is not None and (run.captures or run.error_message or run.selector_used
                                      or iterations or run.diagnostics
                                      or run.id in screenshot_of)
    opened = key in open_ids or (run is not None and status == "failed" and
                                 f"closed-{key}" not in open_ids)
    header = ui.expansion(value=bool(expandable and opened)).classes(
        "w-full border border-gray-300 dark:border-gray-600 rounded").props(
        f'dense data-step="{name}" header-class="px-2"' + ("" if expandable
                                                           else " hide-expand-icon"))
    header.on_value_change(lambda e, k=key: _remember(open_ids, k, e.value))
    with header.add_slot("header"):
        with ui.row().classes("w-full items-center gap-3 no-wrap"):
            ui.label(f"{index}.").classes("text-grey-6 w-6 text-right")
            badge = StatusBadge(status)
            with ui.column().classes("gap-0 grow"):
                ui.label(name).classes("font-medium")
                ui.label(action + (f" · {run.description}" if run and run.description
                                   else "")).classes("text-xs text-grey-7")
            if run and run.retries:
                ui.badge(f"{run.retries} retr{'y' if run.retries == 1 else 'ies'}",
                         color="amber-9").props("outline")
            ui.label(duration(run.duration_ms) if run else "").classes(
                "text-sm text-grey-8 w-20 text-right")
    if not expandable or run is None:  # (expandable implies a run)
        return badge
    with header:
        _step_details(run, screenshot_of)
        for number, runs in sorted((iterations or {}).items()):
            ui.label(f"Iteration {number}").classes("text-xs font-semibold text-grey-7 mt-2")
            with ui.column().classes("w-full gap-1 pl-4 border-l-2"):
                for child_index, child in enumerate(runs, start=1):
                    _step_row(f"{number}.{child_index}", child.name, child.action, child,
                              open_ids, screenshot_of)
    return badge


def _remember(open_ids: set, key, opened: bool) -> None:
    open_ids.discard(key)
    open_ids.discard(f"closed-{key}")
    open_ids.add(key if opened else f"closed-{key}")


def _step_details(run: StepRun, screenshot_of: dict[int, int]) -> None:
    with ui.column().classes("w-full gap-1 text-sm"):
        if run.selector_used:
            with ui.row().classes("gap-2 items-baseline"):
                ui.label("Selector").classes("text-grey-7 w-24")
                ui.label(run.selector_used).classes("font-mono break-all")
        for key, value in run.captures.items():
            with ui.row().classes("gap-2 items-baseline no-wrap"):
                ui.label(key).classes("text-grey-7 w-24 shrink-0")
                text = value if isinstance(value, str) else repr(value)
                ui.label(text[:2000]).classes("font-mono break-all whitespace-pre-wrap").props(
                    'data-capture="' + key.replace('"', "") + '"')
        if run.error_message:
            with ui.card().classes("w-full bg-red-50 dark:bg-red-950 shadow-none p-2"):
                ui.label(run.error_kind or "error").classes("font-mono text-negative text-xs")
                ui.label(run.error_message).classes("whitespace-pre-wrap").props(
                    "data-error")
        _diagnostics(run.diagnostics)
        if run.id in screenshot_of:
            ui.image(f"/api/artifacts/{screenshot_of[run.id]}").classes(
                "w-80 border rounded").props('fit=contain alt="screenshot after this step"')


def _diagnostics(diag: dict) -> None:
    if not diag:
        return
    attempts = diag.get("candidates", [])
    if attempts:
        ui.label("Candidates tried").classes("text-grey-7 text-xs mt-1")
    for attempt in attempts:
        ui.label(f"{attempt.get('candidate', '')} → {attempt.get('result', '')}").classes(
            "font-mono text-xs break-all")
    for label, key in (("URL", "url"), ("Title", "title")):
        if diag.get(key):
            with ui.row().classes("gap-2 items-baseline"):
                ui.label(label).classes("text-grey-7 w-24")
                ui.label(str(diag[key])).classes("break-all")
    for error in diag.get("console_errors", []):
        ui.label(f"console: {error}").classes("font-mono text-xs text-negative break-all")
