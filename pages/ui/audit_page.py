"""`/audit` (admins): the audit log, newest first, filtered by who, what and free text."""

from datetime import timedelta

from nicegui import run, ui

from engine.identity import audit
from engine.identity.access import WHAT
from models import utcnow
from pages.ui.display import exact_time, relative_time
from pages.ui.frame import frame
from pages.ui.identity import admin_only

PAGE_SIZE = 50
PERIODS = {"all": "Any time", "1": "Last 24 hours", "7": "Last 7 days", "30": "Last 30 days"}
# On a phone (Quasar's xs, below 600 px) three columns stay: who and the change go under
# the action, the comment and the address under what it was done on.
HIDE_ON_PHONE = {"classes": "gt-xs", "headerClasses": "gt-xs"}
COLUMNS = [
    {"name": "at", "label": "When", "field": "at", "align": "left"},
    {"name": "actor", "label": "Who", "field": "actor", "align": "left", **HIDE_ON_PHONE},
    {"name": "action", "label": "Action", "field": "action", "align": "left"},
    {"name": "target", "label": "On", "field": "target", "align": "left"},
    {"name": "change", "label": "Before → after", "field": "change", "align": "left",
     **HIDE_ON_PHONE},
    {"name": "comment", "label": "Comment", "field": "comment", "align": "left",
     **HIDE_ON_PHONE},
    {"name": "source", "label": "From", "field": "source", "align": "left", **HIDE_ON_PHONE},
]
# {{ }} in Vue templates escapes: what people typed stays text. A URL has no spaces to
# wrap at: it may break anywhere.
JOB_LINK = """<q-td :props="props" style="overflow-wrap: anywhere">
  <a v-if="props.row.job_id" :href="'/jobs/' + props.row.job_id" class="text-primary">
    job {{ props.row.job_id }}</a>
  <span v-if="props.row.job_id && props.row.target"> · </span>{{ props.row.target }}
  <div v-if="props.row.comment" class="lt-sm text-grey-7">“{{ props.row.comment }}”</div>
  <div v-if="props.row.source" class="lt-sm text-xs text-grey-7">from {{ props.row.source }}
  </div></q-td>"""
ACTION = """<q-td :props="props">{{ props.row.action }}
  <div class="lt-sm text-xs text-grey-7">by {{ props.row.actor }}</div>
  <div v-if="props.row.change" class="lt-sm text-xs">{{ props.row.change }}</div></q-td>"""


def label(action: str) -> str:
    """An action as people say it: "refused: changing runbooks" for runbooks_refused."""
    if action.endswith("_refused"):
        what = action.removesuffix("_refused")
        return f"refused: {WHAT.get(what, what.replace('_', ' '))}"
    return action.replace("_", " ")


def row_of(event) -> dict:
    change = " → ".join(v for v in (event.status_before, event.status_after) if v)
    if event.job_id and event.status_before and not event.status_after:
        change += " → …"  # asked for; the worker has not carried it out (yet)
    return {"id": event.id, "at": relative_time(event.at), "exact": exact_time(event.at),
            "actor": event.actor, "action": label(event.action),
            "target": event.target or "", "job_id": event.job_id, "change": change,
            "comment": event.comment or "", "source": event.source or ""}


async def audit_page(actor: str = "", action: str = "", q: str = "", days: str = "all"
                     ) -> None:
    with frame("Audit log"):
        if not await admin_only("audit"):
            return
        ui.label("Audit log").classes("text-2xl font-semibold")
        actions, actors = await run.io_bound(audit.actions_and_actors) or ([], [])
        state = {"page": 1}
        with ui.row().classes("w-full items-center gap-3"):
            who = ui.select({"": "Anyone", **{a: a for a in actors}}, value=actor if actor in
                            actors else "", label="Who").props("dense outlined").classes(
                "w-full sm:w-44").mark("filter-actor")
            what = ui.select({"": "Any action", **{a: label(a) for a in actions}},
                             value=action if action in actions else "", label="Action"
                             ).props("dense outlined").classes("w-full sm:w-52").mark(
                "filter-action")
            when = ui.select(PERIODS, value=days if days in PERIODS else "all", label="When"
                             ).props("dense outlined").classes("w-full sm:w-40")
            text = ui.input(placeholder="Search target, comment, address, job id", value=q
                            ).props("dense outlined clearable debounce=300").classes(
                "w-full sm:w-72").mark("filter-text")
        table = ui.table(columns=COLUMNS, rows=[], row_key="id", pagination=0).classes(
            "w-full").props("flat bordered hide-bottom wrap-cells dense").mark("audit")
        table.add_slot("body-cell-target", JOB_LINK)
        table.add_slot("body-cell-action", ACTION)
        table.add_slot("body-cell-at", '<q-td :props="props"><span :title="props.row.exact">'
                                       "{{ props.row.at }}</span></q-td>")
        summary = ui.label().classes("text-sm text-grey-7")
        pager = ui.pagination(1, 1, direction_links=True, on_change=lambda e: show(
            e.value) if e.value != state["page"] else None).props("max-pages=7")

    async def show(page: int | None = None) -> None:
        state["page"] = page or 1
        where = audit.AuditFilter(actor=who.value or None, action=what.value or None,
                                  text=(text.value or "").strip() or None,
                                  since=None if when.value == "all" else
                                  utcnow() - timedelta(days=int(when.value)))
        found = await run.io_bound(audit.search, where, PAGE_SIZE,
                                   (state["page"] - 1) * PAGE_SIZE)
        if found is None:
            return
        events, total = found
        table.rows = [row_of(e) for e in events]
        pages = max(1, -(-total // PAGE_SIZE))
        pager.max, pager.value = pages, state["page"]
        pager.set_visibility(pages > 1)
        summary.text = f"{total} event{'s' if total != 1 else ''}"

    for field in (who, what, when, text):
        field.on_value_change(lambda: show(1))
    await show(1)
