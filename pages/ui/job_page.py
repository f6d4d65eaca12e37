"""The job page: header, metrics, live view, step timeline, artifacts and final report,
all kept live by the job's events without reloading.

A watched job must run as fast as an unwatched one, and the page shares the process (and
its GIL) with the workers: so a step event changes its timeline row in place, a live frame
only swaps the image's source, and the job is re-read at most every RELOAD_EVERY_S, each
part of the page drawn again only when what it shows has changed.

The page must appear as fast as the jobs list (bench/page_load.py): it is sent with the
header, the figures and a screenful of timeline rows; the other rows, the artifacts and the
screenshot strip follow once the browser is connected, and a step's details when opened."""

import asyncio
import base64
import time
from typing import Any, NotRequired, TypedDict

from nicegui import run, ui

from engine.bus import events
from engine.runbook import RunbookInvalid, stored_runbook
from engine.service import job_actions, jobs
from engine.settings import current_settings
from models import ArtifactKind, JobStatus
from pages.ui import live
from pages.ui.frame import frame
from pages.ui.job_actions_bar import action_buttons, activity
from pages.ui.job_artifacts import render_artifacts, url
from pages.ui.job_header import approval_dialog, job_header, show_facts
from pages.ui.job_metrics import MetricCards
from pages.ui.job_report import report_section
from pages.ui.job_timeline import Timeline, timeline_rows
from pages.ui.retry_dialog import refusals
from pages.ui.take_control import ControlPanel, handover_request

FRAME_INTERVAL_S = 0.1  # at most 10 live frames a second per viewer
RELOAD_EVERY_S = 0.5  # events re-read the job at most twice a second, however many come
FIRST_ROWS = 12  # timeline rows drawn before the page is sent: about a screenful


class PageState(TypedDict):
    """What one viewer's job page keeps between redraws."""

    view: dict[str, Any]  # the latest load_job()
    open: set  # the timeline rows the viewer opened (or closed)
    last_frame: float  # time.monotonic() of the last live frame shown
    # the newest frame that came too soon after the last one: shown when its turn comes,
    # never dropped (on a still page it may be the only frame showing what changed)
    next_frame: dict | None
    drawn: dict[str, Any]  # what each redrawn part of the page shows (_part_keys)
    replay: list[dict] | None  # step events that came in while a read was under way
    approval_shown: bool
    below_shown: bool  # all timeline rows, artifacts and screenshot strip (once it is up)
    dialog: NotRequired[ui.dialog | None]  # the open approval dialog


def load_job(job_id: int, plan: tuple | None = None) -> dict | None:
    """Everything the page shows, read in one go off the UI loop.

    `plan` is what does not change once known: (planned steps, secret names) from the
    job's own YAML, parsed on the first load only; and, once the job has ended, why the
    actions it offers are refused after all (a retry without a snapshot: only deleting
    its artifacts changes that), worked out on the first load that sees it ended.
    """
    detail = jobs.get_job(job_id)
    if detail is None:
        return None
    if plan is None:
        try:
            spec = stored_runbook(detail.job.source, f"{detail.job.runbook_name}.yaml")
            plan = ([{"name": s.name, "action": s.action} for s in spec.steps], spec.secrets,
                    None)
        except RunbookInvalid:
            plan = ([], [], None)
    planned, secrets, refused = plan
    actions = job_actions.available_actions(detail.job)
    if refused is None and detail.job.status.is_final:  # retry is for ended jobs only
        refused = refusals(detail.job, actions)
        plan = (planned, secrets, refused)
    approval = None
    if detail.job.status == JobStatus.waiting_for_approval:
        approval = next((e.data for e in reversed(events.recorded_after(job_id))
                         if e.kind == events.APPROVAL_REQUESTED), None)
    return {"detail": detail, "planned": planned, "secrets": secrets, "approval": approval,
            "handover": handover_request(job_id, detail.job.status),
            "plan": plan, "actions": actions,
            "activity": job_actions.audit_trail(job_id), "reruns": jobs.reruns_of(job_id),
            "retries": jobs.retries_of(job_id), "refused": refused or {}}


async def job_page(job_id: int) -> None:
    live.connect()
    data_dir = current_settings().data_dir
    view = await run.io_bound(load_job, job_id)
    if view is None:
        with frame(f"Job {job_id}"):
            ui.label(f"There is no job {job_id}.").classes("text-xl")
            ui.link("Back to the jobs list", "/jobs")
        return
    client = ui.context.client
    state: PageState = {"view": view, "open": set(), "last_frame": 0.0, "next_frame": None,
                        "drawn": _part_keys(view), "replay": None, "approval_shown": False,
                        "below_shown": False}

    async def reload() -> None:
        """Read the job and draw what changed; step events that arrive during the read are
        shown again after it, as the read may predate them."""
        state["replay"] = []
        try:
            fresh = await run.io_bound(load_job, job_id, state["view"]["plan"])
        finally:
            replay, state["replay"] = state["replay"] or [], None
        if fresh is None or client.is_deleted:  # the server is stopping, the tab went away
            return
        state["view"] = fresh
        draw()
        for data in replay:
            timeline.step_event(data)

    reread = live.Reread(reload, RELOAD_EVERY_S)

    # The parts drawn again as a whole, when their _part_keys change.
    facts: dict[str, ui.label] = {}  # the header's facts that change in place

    @ui.refreshable
    def header() -> None:
        job = state["view"]["detail"].job
        facts.clear()
        facts.update(job_header(job, state["view"]["secrets"], state["view"]["reruns"],
                                state["view"]["retries"]))
        show_facts(facts, job)

    @ui.refreshable
    def actions() -> None:
        # Drawn again only when what can be done changes: a click on a button that a redraw
        # has just replaced would be lost.
        job = state["view"]["detail"].job
        if action_buttons(job_id, state["view"]["actions"], reread.now, job.started_by,
                          title=job.runbook_title, refused=state["view"]["refused"]):
            ui.space()
        activity(state["view"]["activity"])

    @ui.refreshable
    def artifacts() -> None:
        if not state["below_shown"]:
            ui.spinner()
            return
        detail = state["view"]["detail"]
        render_artifacts(detail.artifacts, {s.id: s.name for s in detail.steps}, data_dir,
                         detail.job.artifacts_deleted_at)

    @ui.refreshable
    def strip() -> None:  # a finished job's screenshots, to show in the live view's place
        detail = state["view"]["detail"]
        shown = detail.job.status.is_final and state["below_shown"]
        for shot in _screenshots(detail) if shown else []:
            ui.image(url(shot)).classes("w-24 h-14 border rounded cursor-pointer shrink-0"
                                        ).props(f'fit=cover title="{_attr(shot.name)}"'
                                                ).on("click", lambda s=shot: _show(s))

    @ui.refreshable
    def report() -> None:
        if state["view"]["detail"].job.status.is_final:
            report_section(job_id, data_dir)

    parts = {"header": header, "actions": actions, "artifacts": artifacts, "strip": strip,
             "report": report}
    with frame(f"Job {job_id}"):
        with ui.column().classes("w-full gap-1"):
            header()
        with ui.row().classes("gap-2 items-start w-full"):
            actions()
        with ui.row().classes("w-full gap-3"):
            metrics = MetricCards()
        with ui.row().classes("w-full gap-4 items-start flex-wrap lg:flex-nowrap"):
            with ui.card().classes("grow basis-0 min-w-[18rem]"):
                ui.label("Steps").classes("text-lg font-medium")
                timeline = Timeline(state["open"], FIRST_ROWS)
            with ui.card().classes("w-full lg:w-[28rem] shrink-0"):
                ui.label("Live view").classes("text-lg font-medium")
                control = ControlPanel(job_id, reread.now)  # take control, above the view
                # a plain <img> without transitions: frames replace each other at once
                live_image = ui.interactive_image().classes(
                    "w-full border rounded bg-grey-2 min-h-[8rem]").props(
                    'alt="latest browser frame" data-live')
                control.drive(live_image)
                live_caption = ui.label().classes("text-xs text-grey-7")
                with ui.row().classes("w-full gap-1 flex-nowrap overflow-x-auto"):
                    strip()
        with ui.card().classes("w-full"):
            ui.label("Artifacts").classes("text-lg font-medium")
            with ui.column().classes("w-full"):
                artifacts()
        with ui.column().classes("w-full"):
            report()

    def draw() -> None:
        v = state["view"]
        detail = v["detail"]
        job = detail.job
        keys = _part_keys(v)
        for name, part in parts.items():
            if keys[name] != state["drawn"][name]:
                part.refresh()
        state["drawn"] = keys
        show_metrics()
        control.show(job, v["handover"])
        screenshots = _screenshots(detail)
        timeline.show(timeline_rows(v["planned"], detail.steps),
                      {a.step_run_id: a.id for a in screenshots if a.step_run_id},
                      {a.step_run_id: a.id for a in detail.artifacts
                       if a.step_run_id and jobs.is_diff_image(a)})
        if screenshots and (job.status.is_final or not live_image.source):
            live_image.set_source(url(screenshots[-1]))
            live_caption.text = f"{screenshots[-1].name}"
        dialog = state.get("dialog")
        if job.status != JobStatus.waiting_for_approval and dialog:
            dialog.close()  # decided, here or elsewhere
            state["dialog"], state["approval_shown"] = None, False
        if v["approval"] and not state["approval_shown"]:
            state["approval_shown"] = True
            state["dialog"] = approval_dialog(job.id, v["approval"], reread.now,
                                              job.started_by)

    def show_metrics() -> None:  # also every second: times and the duration keep moving
        detail = state["view"]["detail"]
        show_facts(facts, detail.job)
        metrics.show(detail.job)

    def _show(shot) -> None:
        live_image.set_source(url(shot))
        live_caption.text = shot.name

    def show_frame() -> None:
        frame, state["next_frame"] = state["next_frame"], None
        if frame is None or live_image.is_deleted:
            return
        state["last_frame"] = time.monotonic()
        encoded = base64.b64encode(frame["jpeg"]).decode()
        live_image.set_source(f"data:image/jpeg;base64,{encoded}")
        live_caption.text = f"live · {frame.get('step') or ''}"

    async def on_event(event: events.Event) -> None:
        if event.kind == events.RESYNC:  # events from other processes may have been missed
            await reread.soon()
            return
        if event.job_id != job_id:
            return
        if event.kind == events.SCREENSHOT:  # swap the picture, nothing else
            if event.data.get("jpeg"):
                waiting, state["next_frame"] = state["next_frame"], event.data
                wait = state["last_frame"] + FRAME_INTERVAL_S - time.monotonic()
                if wait <= 0:
                    show_frame()
                elif waiting is None:  # the first to wait: its turn is set once
                    asyncio.get_running_loop().call_later(wait, show_frame)
            return
        if event.kind == events.APPROVAL_REQUESTED and not state["approval_shown"]:
            state["approval_shown"] = True
            state["dialog"] = approval_dialog(job_id, event.data, reread.now,
                                              state["view"]["detail"].job.started_by)
        if event.kind in (events.STEP_STARTED, events.STEP_FINISHED):
            timeline.step_event(event.data)  # at once; the next read fills in the rest
            if state["replay"] is not None:
                state["replay"].append(event.data)
            await reread.soon()
        else:  # a few a job (status, approval, a person's action): shown at once
            await reread.now()

    def say_watching() -> None:
        """Tell the job's worker someone looks, so it streams live frames (events.VIEWING)."""
        if state["view"]["detail"].job.status.is_final:
            watching.cancel()
        elif client.has_socket_connection:
            events.get_bus().publish(events.Event(events.VIEWING, job_id))

    def show_below() -> None:
        state["below_shown"] = True
        timeline.show_all()
        artifacts.refresh()
        strip.refresh()

    live.job_events.subscribe(on_event)
    ui.timer(0, show_below, once=True)  # once the page shows (the module's docstring)
    if client.request.query_params.get("approve") and not view["approval"]:  # a stale link
        ui.timer(0, lambda: ui.notify(f"Job {job_id} does not wait for approval now: it is "
                                      f"{view['detail'].job.status.value.replace('_', ' ')}"),
                 once=True)
    if not view["detail"].job.status.is_final:  # what happened between the read and now
        ui.timer(0, reread.now, once=True)
    # NiceGUI starts a timer once the browser is connected and stops it with the client.
    watching = ui.timer(events.VIEWING_EVERY_S, say_watching)
    ui.timer(1.0, lambda: show_metrics() if state["view"]["detail"].job.status.is_active
             else None)
    draw()


def _part_keys(view: dict) -> dict[str, Any]:
    """What each part that is drawn as a whole shows: it is drawn again when this changes."""
    detail = view["detail"]
    job = detail.job
    return {
        "header": (job.status, job.worker_id, job.error_kind, job.error_message,
                   job.started_at, job.finished_at, tuple(r.id for r in view["reruns"]),
                   tuple(r.id for r in view["retries"])),
        "actions": (tuple(view["actions"]), tuple(a.id for a in view["activity"]),
                    tuple(view["refused"].items())),
        "artifacts": tuple(a.id for a in detail.artifacts),
        "strip": tuple(a.id for a in _screenshots(detail)) if job.status.is_final else (),
        "report": job.status.is_final,
    }


def _screenshots(detail) -> list:
    """The job's pictures of its pages: screenshots, not the diff images of visual checks
    (those are listed with the artifacts and marked on their step)."""
    return [a for a in detail.artifacts
            if a.kind == ArtifactKind.screenshot and not jobs.is_diff_image(a)]


def _attr(text: str) -> str:
    return text.replace('"', "'")
