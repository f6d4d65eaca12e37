"""The jobs list: status tabs with counts, filters and search in the URL, an error column,
server-side pages, live refresh."""

from typing import Any

from nicegui import run, ui

from engine.bus import events
from engine.service import jobs, runbooks
from engine.service.job_search import JobFilter
from engine.service.report import job_duration_ms, progress_text
from models import Job, JobStatus
from pages.ui import live
from pages.ui.display import duration, exact_time, job_status_look, relative_time
from pages.ui.frame import frame
from pages.ui.identity import allowed
from pages.ui.job_actions_bar import own_job
from pages.ui.jobs_bulk import approve_row, bulk_bar
from pages.ui.jobs_filters import FILTERS, FilterBar, error_cell, url_of, usable

PAGE_SIZE = 25
REFRESH_EVERY_S = 1.0  # events re-read the list at most once a second, however many come
S = JobStatus
# tab → (label, statuses). "Running" is every job that is under way, including those
# that wait for a person or are paused; "Needs approval" picks out those someone must act on.
TABS: dict[str, tuple[str, list[JobStatus]]] = {
    "all": ("All", []),
    "running": ("Running", [s for s in JobStatus if s.is_active]),
    "approval": ("Needs approval", [S.waiting_for_approval]),
    "completed": ("Completed", [S.completed]),
    "failed": ("Failed", [S.failed]),
}

# On a phone (Quasar's xs, below 600 px) the table keeps four columns: the runbook cell
# says when it started and the status cell how far it got, under the name and the badge.
HIDE_ON_PHONE = {"classes": "gt-xs", "headerClasses": "gt-xs"}
# and narrower cells: Quasar's 16 px a side would leave the runbook's name a word a line
PHONE_CELLS = ("@media (max-width: 599.98px) { .jobs-table .q-table tr > th, "
               ".jobs-table .q-table tr > td { padding: 6px 6px; } }")
COLUMNS = [
    {"name": "runbook", "label": "Runbook", "field": "runbook", "align": "left"},
    {"name": "status", "label": "Status", "field": "status", "align": "left"},
    {"name": "trigger", "label": "Trigger", "field": "trigger", "align": "left",
     **HIDE_ON_PHONE},
    {"name": "progress", "label": "Progress", "field": "progress", "align": "left",
     **HIDE_ON_PHONE},
    {"name": "started", "label": "Started", "field": "started", "align": "left",
     **HIDE_ON_PHONE},
    {"name": "duration", "label": "Duration", "field": "duration", "align": "right",
     **HIDE_ON_PHONE},
    {"name": "retries", "label": "Retries", "field": "retries", "align": "right",
     **HIDE_ON_PHONE},
    {"name": "error", "label": "Error", "field": "error_kind", "align": "left",
     **HIDE_ON_PHONE},
    {"name": "act", "label": "", "field": "id", "align": "right"},
]

# Vue templates interpolate with {{ }}, which escapes: scraped or user text stays text.
SLOTS = {
    "body-cell-runbook": """<q-td :props="props">
  <a :href="'/jobs/' + props.row.id" class="text-primary no-underline font-medium"
     @click.stop>{{ props.row.runbook }}</a>
  <div class="text-xs text-grey-7">#{{ props.row.id }}<span class="lt-sm"
    :title="props.row.started_exact"> · {{ props.row.started }}</span></div></q-td>""",
    "body-cell-status": """<q-td :props="props">
  <q-badge :color="props.row.color" class="q-py-xs q-px-sm" :data-status="props.row.status">
    <q-icon :name="props.row.icon" size="14px" class="q-mr-xs"/>{{ props.row.status_label }}
  </q-badge><div class="lt-sm text-xs text-grey-7 q-mt-xs">{{ props.row.progress }}</div>
  </q-td>""",
    "body-cell-progress": """<q-td :props="props" style="min-width: 9rem">
  <div class="text-xs">{{ props.row.progress }}</div>
  <q-linear-progress v-if="props.row.active" :value="props.row.fraction" rounded
    size="6px" color="primary" class="q-mt-xs"/></q-td>""",
    "body-cell-act": """<q-td :props="props">
  <q-btn v-if="props.row.status === 'waiting_for_approval' && props.row.can_approve"
    dense unelevated no-caps size="sm"
    color="positive" icon="check" label="Approve" data-row-approve
    title="An approver must act: approve the step it waits at"
    @click.stop="$parent.$emit('approve', props.row.id)"/></q-td>""",
    "body-cell-error": """<q-td :props="props" style="max-width: 24rem">
  <template v-if="props.row.error_kind"><code class="text-xs text-negative">{{
    props.row.error_kind }}</code><div class="text-xs text-grey-8" :title="props.row.error_full"
    style="overflow-wrap: anywhere">{{ props.row.error_line }}</div></template></q-td>""",
    "body-cell-started": """<q-td :props="props"><span :title="props.row.started_exact">
  {{ props.row.started }}</span></q-td>""",
}


def job_row(job: Job) -> dict:
    label, color, icon = job_status_look(job.status)
    active = job.status.is_active
    total = max(job.step_count, 1)
    return {
        "id": job.id, "runbook": job.runbook_title, "status": job.status.value,
        "status_label": label, "color": color, "icon": icon, "trigger": job.trigger.value,
        "progress": progress_text(job), "active": active, "fraction": job.steps_done / total,
        "started": relative_time(job.started_at or job.scheduled_for or job.created_at),
        "started_exact": exact_time(job.started_at or job.scheduled_for or job.created_at),
        "duration": duration(job_duration_ms(job)), "retries": job.retry_count,
        "started_by": job.started_by, "error_kind": job.error_kind,
        **dict(zip(("error_line", "error_full"), error_cell(job.error_kind, job.error_message))),
    }


def load_view(tab: str, page: int, filters: JobFilter) -> dict:
    """One read for everything the list shows: rows, total and tab counts (under the
    filters: the counts table answers only when there is none)."""
    statuses = TABS[tab][1]
    found, _ = jobs.list_jobs(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
                              count_total=False, filters=filters.with_statuses(statuses))
    by_status = jobs.count_jobs_by_status(filters=filters)
    counts = {name: sum(by_status[s] for s in (sts or list(S))) for name, (_, sts) in TABS.items()}
    return {"rows": [job_row(j) for j in found], "total": counts[tab], "counts": counts}


async def jobs_page(tab: str = "all", page: int = 1, q: str = "", runbook: str = "",
                    trigger: str = "", started_by: str = "", since: str = "", until: str = "",
                    error_kind: str = "") -> None:
    live.connect()
    # tab, page and the filters (what the URL says); change() sets them by name
    state: dict[str, Any] = {"tab": tab if tab in TABS else "all", "page": max(page, 1),
                             "q": q, "runbook": runbook, "trigger": trigger,
                             "started_by": started_by, "since": since, "until": until,
                             "error_kind": error_kind}
    titles = {r.name: r.title for r in await run.io_bound(runbooks.list_runbooks) or []}
    may_approve = allowed("approve")
    with frame("Jobs"):
        with ui.row().classes("w-full items-center gap-3"):
            ui.label("Jobs").classes("text-2xl font-semibold")
            ui.space()
            search = ui.input(placeholder="Search jobs", value=q).props(
                'dense outlined clearable debounce=300 aria-label="Search jobs"').classes(
                "w-64").mark("search").on_value_change(lambda e: change(q=e.value or "", page=1))
            with search.add_slot("prepend"):
                ui.icon("search")
            if allowed("start"):
                ui.button("New job", icon="add", on_click=lambda: ui.navigate.to("/runbooks"))
        filter_bar = FilterBar(state, titles, lambda **values: change(**values))
        filter_bar.fields["q"] = search
        approval_banner = ui.button(on_click=lambda: change(tab="approval", page=1)).props(
            "color=deep-orange-7 icon=front_hand no-caps unelevated").classes("w-full")
        approval_banner.set_visibility(False)
        with ui.tabs(value=state["tab"], on_change=lambda e: change(tab=e.value, page=1)
                     ).props("align=left no-caps inline-label").classes("w-full") as tabs:
            badges = {}
            for name, (label, _) in TABS.items():
                with ui.tab(name, label).mark(f"tab-{name}"):
                    color = "deep-orange-7" if name == "approval" else "grey-6"
                    badges[name] = ui.badge("0", color=color).props("rounded").classes(
                        "ml-2").mark(f"count-{name}")
        bulk_place = ui.row().classes("w-full")
        table = ui.table(columns=COLUMNS, rows=[], row_key="id", pagination=0,
                         selection="multiple" if allowed("cancel") else None).classes(
            "w-full jobs-table").props("flat bordered hide-bottom wrap-cells").mark("jobs")
        ui.add_css(PHONE_CELLS)
        for slot, template in SLOTS.items():
            table.add_slot(slot, template)
        table.on("rowClick", lambda e: ui.navigate.to(f"/jobs/{e.args[1]['id']}"))
        table.on("approve", lambda e: approve_row(e.args, refresh))
        if allowed("cancel"):
            with bulk_place:
                bulk_bar(table, lambda: refresh())  # refresh is defined below
        empty = ui.label("No jobs here yet. Start one from the Runbooks page.").classes(
            "text-grey-7")
        pager = ui.pagination(1, 1, direction_links=True, value=state["page"],
                              on_change=lambda e: change(page=e.value)).props(
            "max-pages=7 boundary-numbers").mark("pager")  # not one button per page

    async def refresh() -> None:
        filters, problem = usable(state)
        view = await run.io_bound(load_view, state["tab"], state["page"], filters)
        if view is None:  # the server is shutting down
            return
        pages = max(1, -(-view["total"] // PAGE_SIZE))
        if state["page"] > pages:  # the page emptied out; show the last one that has jobs
            state["page"] = pages
            return await refresh()
        kept = {row["id"] for row in table.selected}  # a refresh keeps the selection
        for row in view["rows"]:  # four eyes: no approving one's own job
            row["can_approve"] = may_approve and not own_job("approve", row["started_by"])
        table.rows = view["rows"]
        table.selected = [row for row in table.rows if row["id"] in kept]
        empty.set_visibility(not view["rows"])
        empty.text = ("No jobs match these filters." if any(state[f] for f in FILTERS)
                      else "No jobs here yet. Start one from the Runbooks page.")
        filter_bar.show(problem)
        pager.max, pager.value = pages, state["page"]
        pager.set_visibility(pages > 1)
        for name, badge in badges.items():
            badge.text = str(view["counts"][name])
        waiting = view["counts"]["approval"]
        approval_banner.text = (f"{waiting} job{'s' if waiting != 1 else ''} waiting for "
                                "approval: someone has to act")
        approval_banner.set_visibility(waiting > 0 and state["tab"] != "approval")

    async def change(**values) -> None:
        if all(state[k] == v for k, v in values.items()):
            return
        state.update(values)
        tabs.value = state["tab"]
        ui.navigate.history.replace(url_of(state))
        await refresh()

    async def on_event(event: events.Event) -> None:
        if event.kind in (events.JOB_STATUS, events.STEP_FINISHED, events.RESYNC):
            await reread.soon()

    await refresh()  # before the timers: a timer makes NiceGUI send the page without waiting
    # Busy workers finish steps many times a second: the list follows at most once a second.
    reread = live.Reread(refresh, REFRESH_EVERY_S)
    live.job_events.subscribe(on_event)
    ui.timer(10, reread.now)  # the seed's rule, and the safety net for a missed event
