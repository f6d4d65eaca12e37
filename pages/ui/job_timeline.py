"""The step timeline of a job: one row per step, repeat iterations grouped, details open;
rows change in place as the job goes on."""

from typing import Iterator

from nicegui import ui

from engine.limits import excerpt
from engine.service.report import artifact_url
from models import StepRun
from pages.ui.display import STEP_STATUS_LOOK, duration
from pages.ui.step_marks import HealNotes, StepMarks


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


# An approval's risk: a low one is routine, not an alarm
RISK_COLORS = {"low": "blue-grey-6", "medium": "amber-9", "high": "red-8"}


def risk_badge(risk: str) -> ui.badge:
    """The approval's risk as a badge: low grey, medium amber, high red."""
    return ui.badge(f"risk: {risk}", color=RISK_COLORS.get(risk, "amber-9")).classes(
        "py-1 px-2").props(f'data-risk="{risk.replace(chr(34), "")}"')


# The badges a row's header may show before its duration, in this order: (color, props)
FLAGS = {"notes": ("orange-9", "outline data-step-notes"), "retries": ("amber-9", "outline")}


class StatusBadge:
    """A step's status badge; `show` changes it in place the moment an event arrives."""

    def __init__(self, status: str):
        with ui.badge().classes("py-1 px-2") as self.badge:
            self.icon = ui.icon("", size="14px").classes("mr-1")
            self.label = ui.label()
        self.status = ""
        self.show(status)

    def show(self, status: str) -> None:
        if status == self.status:
            return
        self.status = status
        label, color, icon = STEP_STATUS_LOOK[status]
        self.badge.props(f'color={color} data-status="{status}"')
        self.icon.name = icon
        self.icon.classes(add="animate-spin" if status == "running" else "",
                          remove="" if status == "running" else "animate-spin")
        self.label.text = label


class Timeline:
    """The timeline of one job page. Rows are drawn once and then changed in place: a step
    event changes its row's badge and duration at once, and `show` (after each re-read)
    changes what differs. Only a change of shape draws again: other top-level rows (all of
    them), or another run or iteration under a step (that step's details).

    Until `show_all`, only the first `first_rows` rows are drawn, without their iterations'
    rows: what a screen shows first, so that a long job's page appears as fast as a short
    one's."""

    def __init__(self, open_ids: set, first_rows: int | None = None):
        self.open_ids = open_ids  # the rows the viewer opened (or closed), kept across draws
        self.box = ui.column().classes("w-full gap-1")
        self.rows: list[StepRow] = []
        self._shape: list[tuple[str, str]] = []
        self._limit = first_rows  # None: every row
        self._shown: tuple[list[dict], dict[int, int], dict[int, int]] = ([], {}, {})
        self._diff_of: dict[int, int] = {}  # step run id -> its diff image's artifact id
        self.heal = HealNotes(self._show_marks)  # read when a step may have healed

    def show(self, rows: list[dict], screenshot_of: dict[int, int],
             diff_of: dict[int, int] | None = None) -> None:
        """Show `timeline_rows(...)`; `screenshot_of` maps step run ids to artifact ids, and
        `diff_of` to the artifact ids of their diff images ("page changed" links to them)."""
        self._shown = (rows, screenshot_of, diff_of or {})
        self._diff_of = diff_of or {}
        shape = [(row["name"], row["action"]) for row in rows]
        if shape != self._shape:
            self._shape = shape
            self.box.clear()
            self.rows = []
        with self.box:
            for index, (name, action) in enumerate(shape[len(self.rows):self._limit],
                                                   start=len(self.rows) + 1):
                self.rows.append(StepRow(str(index), name, action, self.open_ids))
        for step_row, row in zip(self.rows, rows):
            step_row.show(row["run"], screenshot_of, row["iterations"],
                          brief=self._limit is not None)
        self._show_marks()

    def _show_marks(self) -> None:
        """Each row's recovery marks (step_marks.py), from its run and the heal notes."""
        if self.box.is_deleted:
            return
        drawn = [r for top in self.rows for r in top.walk()]
        self.heal.want([r.run for r in drawn if r.run is not None])
        for row in drawn:
            run_id = (row.run.id or 0) if row.run else 0
            row.marks.show(row.run, self.heal.notes.get(run_id), self._diff_of.get(run_id))

    def show_all(self) -> None:
        """Draw the rows beyond the first ones too (once the page is on screen)."""
        self._limit = None
        self.show(*self._shown)

    def step_event(self, data: dict) -> None:
        """Show what a step_started or step_finished event says about its step at once.

        `data` holds step_run_id, name, parent_id and, when finished, status and duration_ms.
        A step not drawn yet (a new iteration's) waits for the next `show`.
        """
        run_id = data.get("step_run_id")
        found = next((r for top in self.rows for r in top.walk()
                      if r.run is not None and r.run.id == run_id), None)
        if found is None and data.get("parent_id") is None:  # started since the last read
            found = next((r for r in self.rows if r.run is None
                          and r.name == data.get("name")), None)
        if found is not None:
            found.show_status(data.get("status", "running"), data.get("duration_ms"))


class StepRow:
    """One step's row: its number, status, name, action, retries and duration, and the
    details a click opens (what it captured, its error, its repeat iterations' rows); a
    closed row's own details are drawn when it is first opened."""

    def __init__(self, number: str, name: str, action: str, open_ids: set):
        self.number, self.name, self.action = number, name, action
        self.open_ids = open_ids
        self.run: StepRun | None = None
        self.children: list[StepRow] = []
        self._details: tuple | None = None  # what the details were drawn from
        # what a closed row would show once opened: drawn on the first opening, as most
        # rows are never opened and their details made the page slow to appear
        self._unopened: tuple | None = None
        self.expansion = ui.expansion(value=False).classes(
            "w-full border border-gray-300 dark:border-gray-600 rounded").props(
            f'dense data-step="{name}" header-class="px-2" hide-expand-icon')
        self.expansion.on_value_change(self._toggled)
        with self.expansion.add_slot("header"):
            with ui.row().classes("w-full items-center gap-3 no-wrap") as self.header:
                ui.label(f"{number}.").classes("text-grey-6 w-6 text-right")
                self.badge = StatusBadge("pending")
                with ui.column().classes("gap-0 grow") as titles:
                    ui.label(name).classes("font-medium")
                    self.about = ui.label(action).classes("text-xs text-grey-7")
                self.duration = ui.label().classes("text-sm text-grey-8 w-20 text-right")
        self.marks = StepMarks(titles)  # healed, restored, page changed: made when needed
        # made when first needed: few rows have flags or details, and every element counts
        # while the page is built and drawn
        self.flags: dict[str, ui.badge] = {}
        self.body: ui.column | None = None

    @property
    def key(self) -> int | str:
        """What `open_ids` knows this row by: its run's id, or its place while pending."""
        return self.run.id if self.run is not None and self.run.id is not None \
            else f"plan-{self.number}"

    def walk(self) -> Iterator["StepRow"]:
        """This row and the rows under it."""
        yield self
        for child in self.children:
            yield from child.walk()

    def show_status(self, status: str, duration_ms: int | None = None) -> None:
        self.badge.show(status)
        if duration_ms is not None:
            self.duration.text = duration(duration_ms)

    def show(self, run: StepRun | None, screenshot_of: dict[int, int],
             iterations: dict[int, list[StepRun]] | None = None, brief: bool = False) -> None:
        """Change the row to show `run` (None: not run yet) and its iterations' runs (not
        yet when `brief`)."""
        self.run = run
        status = run.status.value if run else "pending"
        self.show_status(status)
        self.duration.text = duration(run.duration_ms) if run else ""
        self.about.text = self.action + (f" · {run.description}" if run and run.description
                                         else "")
        retries = run.retries if run else 0
        self._flag("notes", _notes(run))
        self._flag("retries", f"{retries} retr{'y' if retries == 1 else 'ies'}" if retries else "")
        expandable = run is not None and bool(
            run.captures or run.error_message or run.selector_used or iterations
            or run.diagnostics or run.id in screenshot_of or run.dialogs or run.tabs
            or run.warnings)
        if expandable:
            self.expansion.props(remove="hide-expand-icon")
        else:
            self.expansion.props("hide-expand-icon")
        shape = None if run is None or not expandable else (
            run.id, run.selector_used, run.captures, run.error_kind, run.error_message,
            run.diagnostics, run.dialogs, run.tabs, run.warnings, screenshot_of.get(run.id or 0),
            "later" if brief and iterations else
            [(number, [c.id for c in runs]) for number, runs in sorted((iterations or {}).items())])
        if shape != self._details:
            self._details = shape
            self._draw_details(run, screenshot_of, {} if brief else iterations or {})
        else:
            nested = [c for _, runs in sorted((iterations or {}).items()) for c in runs]
            for child, child_run in zip(self.children, nested):
                child.show(child_run, screenshot_of)
        # after the details: opening draws what waits to be drawn
        if expandable and status == "failed" and not self.expansion.value and (
                f"closed-{self.key}" not in self.open_ids):
            self.expansion.value = True  # a failure shows why, unless the viewer closed it
        elif expandable and self.key in self.open_ids:
            self.expansion.value = True

    def _flag(self, kind: str, text: str) -> None:
        """Show `text` in the header's badge of `kind` (FLAGS), hidden while empty."""
        badge = self.flags.get(kind)
        if badge is None and text:
            color, props = FLAGS[kind]
            with self.header:
                badge = self.flags[kind] = ui.badge(color=color).props(props)
            kinds = list(FLAGS)
            after = next((self.flags[k] for k in kinds[kinds.index(kind) + 1:]
                          if k in self.flags), self.duration)
            badge.move(target_index=self.header.default_slot.children.index(after))
        if badge is not None:
            badge.text = text
            badge.set_visibility(bool(text))

    def _body(self) -> ui.column:
        if self.body is None:
            with self.expansion:
                self.body = ui.column().classes("w-full")
        return self.body

    def _toggled(self, event) -> None:
        _remember(self.open_ids, self.key, event.value)
        if event.value and self._unopened is not None:
            run, screenshot_of = self._unopened
            self._unopened = None
            with self._body():  # above the iterations' rows
                _step_details(run, screenshot_of).move(target_index=0)

    def _draw_details(self, run: StepRun | None, screenshot_of: dict[int, int],
                      iterations: dict[int, list[StepRun]]) -> None:
        if self.body is not None:
            self.body.clear()
        self.children = []
        self._unopened = None
        if run is None or self._details is None:
            return
        if not self.expansion.value:
            self._unopened = (run, screenshot_of)
            if not iterations:
                return
        with self._body():
            if self.expansion.value:
                _step_details(run, screenshot_of)
            # the iterations' rows, even while closed: they show how far the repeat got
            for number, runs in sorted(iterations.items()):
                ui.label(f"Iteration {number}").classes("text-xs font-semibold text-grey-7 mt-2")
                with ui.column().classes("w-full gap-1 pl-4 border-l-2"):
                    for child_index, child in enumerate(runs, start=1):
                        row = StepRow(f"{number}.{child_index}", child.name, child.action,
                                      self.open_ids)
                        row.show(child, screenshot_of)
                        self.children.append(row)


def _remember(open_ids: set, key, opened: bool) -> None:
    open_ids.discard(key)
    open_ids.discard(f"closed-{key}")
    open_ids.add(key if opened else f"closed-{key}")


def _step_details(run: StepRun, screenshot_of: dict[int, int]) -> ui.column:
    with ui.column().classes("w-full gap-1 text-sm") as details:
        if run.selector_used:
            with ui.row().classes("gap-2 items-baseline"):
                ui.label("Selector").classes("text-grey-7 w-24")
                ui.label(run.selector_used).classes("font-mono break-all")
        for key, value in run.captures.items():
            with ui.row().classes("gap-2 items-baseline no-wrap"):
                ui.label(key).classes("text-grey-7 w-24 shrink-0")
                text = value if isinstance(value, str) else repr(value)
                ui.label(excerpt(text)).classes("font-mono break-all whitespace-pre-wrap").props(
                    'data-capture="' + key.replace('"', "") + '"')
        if run.error_message:
            with ui.card().classes("w-full bg-red-50 dark:bg-red-950 shadow-none p-2"):
                ui.label(run.error_kind or "error").classes("font-mono text-negative text-xs")
                ui.label(excerpt(run.error_message)).classes("whitespace-pre-wrap").props(
                    "data-error")
        _page_events(run)
        _diagnostics(run.diagnostics)
        if run.id in screenshot_of:
            # at most 20rem, and never wider than its card (a phone is narrower)
            ui.image(artifact_url(screenshot_of[run.id])).classes(
                "w-80 max-w-full border rounded").props(
                'fit=contain alt="screenshot after this step"')
    return details


def _notes(run: StepRun | None) -> str:
    """The row's summary of what the page did besides the action: '1 dialog · 1 tab'."""
    if run is None:
        return ""
    parts = [f"{len(items)} {word}{'s' if len(items) > 1 else ''}" for items, word in (
        (run.dialogs, "dialog"), (run.tabs, "new tab"), (run.warnings, "warning")) if items]
    return " · ".join(parts)


def _page_events(run: StepRun) -> None:
    for warning in run.warnings:
        ui.label(f"⚠ {warning}").classes("text-orange-9 text-xs break-all").props(
            "data-warning")
    for dialog in run.dialogs:
        answer = dialog.get("answer", "")
        if dialog.get("text") is not None:
            answer += f' with "{dialog["text"]}"'
        ui.label(f'{dialog.get("type", "dialog")} "{dialog.get("message", "")}" → '
                 f"{answer}").classes("font-mono text-xs break-all").props("data-dialog")
    for tab in run.tabs:
        ui.label(f'new tab: {tab.get("url", "")} "{tab.get("title", "")}"').classes(
            "font-mono text-xs break-all").props("data-tab")


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
    if diag.get("playwright"):
        ui.label("Playwright's call log").classes("text-grey-7 text-xs mt-1")
        ui.label("\n".join(diag["playwright"][-12:])).classes(
            "font-mono text-xs whitespace-pre-wrap break-all")
    for error in diag.get("page_errors", []):
        ui.label(f"page error: {error}").classes("font-mono text-xs text-negative break-all")
    for error in diag.get("console_errors", []):
        ui.label(f"console: {error}").classes("font-mono text-xs text-negative break-all")
    blocked = diag.get("blocked_requests", [])
    if blocked:  # the step went on without them: a warning, not a failure
        ui.label("Blocked by the URL policy").classes("text-warning text-xs mt-1")
    for request in blocked:
        ui.label(f"{request.get('url', '')} — {request.get('reason', '')}").classes(
            "font-mono text-xs break-all").props("data-blocked-request")
