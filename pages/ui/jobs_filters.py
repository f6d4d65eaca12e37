"""The jobs list's filters: a row of fields whose values live in the page's URL.

Every filter is a query parameter of /jobs named as in `GET /api/jobs` (`runbook`,
`trigger`, `started_by`, `since`, `until`, `error_kind`, `q`), beside `tab` and `page`:
reloading or sharing the address shows the same list. A value the engine refuses is
named in a line under the fields and left out; the others still apply.
"""

from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from nicegui import ui

from engine.service import job_search
from engine.service.job_search import InvalidFilter, JobFilter
from models import ErrorKind, Trigger

FILTERS = ("runbook", "trigger", "started_by", "since", "until", "error_kind", "q")
# the URL's order, and what each is when not given (left out of the URL)
DEFAULTS: dict[str, str | int] = {"tab": "all", "page": 1, **{name: "" for name in FILTERS}}
ERROR_LINE_CHARS = 90  # of the error message's first line in the list


def url_of(state: dict) -> str:
    """/jobs with the tab, page and filters that differ from their defaults."""
    query = {k: state[k] for k in DEFAULTS if state.get(k, DEFAULTS[k]) != DEFAULTS[k]}
    return "/jobs" + (f"?{urlencode(query)}" if query else "")


def usable(state: dict) -> tuple[JobFilter, str | None]:
    """The filter the state's values make, and what was wrong (None: nothing): a refused
    value is left out, the others kept."""
    values = {name: state.get(name) or None for name in FILTERS}
    try:
        return job_search.parse_filter(**values), None
    except InvalidFilter as exc:
        problem = str(exc)
    kept = {}
    for name, value in values.items():
        try:
            job_search.parse_filter(**{name: value})
            kept[name] = value
        except InvalidFilter:
            continue
    try:
        return job_search.parse_filter(**kept), problem
    except InvalidFilter:  # each alone is fine, together not (since after until)
        return job_search.parse_filter(q=kept.get("q")), problem


def error_cell(kind: str | None, message: str | None) -> tuple[str, str]:
    """(the first line of the message, cut to ERROR_LINE_CHARS; the whole first line for
    hovering), or blanks for a job without an error."""
    if not kind:
        return "", ""
    first = (message or "").strip().split("\n", 1)[0].strip()
    cut = first if len(first) <= ERROR_LINE_CHARS else first[:ERROR_LINE_CHARS - 1] + "…"
    return cut, first[:500]


class FilterBar:
    """The fields, each set through `change(key=value, page=1)`; `runbooks`: name -> title.
    `fields` also takes the page's search box (`q`), so that sync() and Clear reach it."""

    def __init__(self, state: dict, runbooks: dict[str, str],
                 change: Callable[..., Awaitable[None]]) -> None:
        self.state = state
        if state["runbook"] and state["runbook"] not in runbooks:  # archived since
            runbooks = {**runbooks, state["runbook"]: state["runbook"]}

        def on(name: str):
            return lambda e: change(**{name: e.value or "", "page": 1})

        self.fields: dict[str, ui.select | ui.input] = {}
        select = "dense outlined options-dense"
        with ui.row().classes("w-full items-center gap-2").mark("filters"):
            self.fields["runbook"] = ui.select(
                {"": "All runbooks", **runbooks}, value=state["runbook"], label="Runbook",
                on_change=on("runbook")).props(select).classes("w-48").mark("filter-runbook")
            self.fields["trigger"] = ui.select(
                {"": "Any trigger", **{t.value: t.value for t in Trigger}},
                value=_known(state["trigger"], Trigger), label="Trigger",
                on_change=on("trigger")).props(select).classes("w-36").mark("filter-trigger")
            self.fields["started_by"] = ui.input(
                "Started by", value=state["started_by"], on_change=on("started_by")).props(
                "dense outlined clearable debounce=400").classes("w-36").mark(
                "filter-started-by")
            for name, label in (("since", "From (UTC)"), ("until", "To (UTC)")):
                self.fields[name] = ui.input(label, value=state[name], on_change=on(name)).props(
                    'dense outlined clearable debounce=600 placeholder="2026-12-01"').classes(
                    "w-40").mark(f"filter-{name}")
                self.fields[name].tooltip("A date (To: to the end of that day) or a date and "
                                          "time, e.g. 2026-12-01T08:30; UTC unless it names "
                                          "an offset")
            self.fields["error_kind"] = ui.select(
                {"": "Any error", **{k.value: k.value for k in ErrorKind}},
                value=_known(state["error_kind"], ErrorKind), label="Error kind",
                on_change=on("error_kind")).props(select).classes("w-48").mark(
                "filter-error-kind")
            self.clear = ui.button("Clear filters", icon="filter_alt_off", on_click=lambda: change(
                page=1, **{name: "" for name in FILTERS})).props("flat no-caps").mark(
                "filter-clear")
        self.problem = ui.label().classes("text-negative text-sm").mark("filter-problem")
        self.problem.set_visibility(False)

    def show(self, problem: str | None) -> None:
        """After a read: what was not applied (None: all was), the fields as the state."""
        self.problem.text = f"Not applied: {problem}." if problem else ""
        self.problem.set_visibility(bool(problem))
        self.clear.set_visibility(any(self.state[name] for name in FILTERS))
        for name, field in self.fields.items():
            wanted = self.state[name]
            if isinstance(field, ui.select) and wanted not in field.options:
                continue  # a value the URL had that is no choice: the problem line says so
            if (field.value or "") != wanted:  # its on_change then finds nothing changed
                field.value = wanted


def _known(value: str, enum) -> str:
    return value if value in enum.__members__ else ""
