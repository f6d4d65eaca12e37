"""Take control on the job page: the request of a `handover` step, the Take control button
on a paused or waiting job, and, while this person holds control, the live view made
interactive: their clicks, scrolling and typing go to the job's browser page (through
`engine.service.take_control`, which holds every rule: who may, when, one holder).

Input goes out as it comes, one event at a time and in order; what piled up while one
was being sent goes out next, adjacent typing merged into one text. The live view's
listeners compute the click's place in the browser as fractions of the image shown
(the frame is the job's page scaled), and do nothing unless the view is being driven."""

import asyncio
from datetime import datetime
from typing import Any

from nicegui import run, ui

from engine.bus import events
from engine.errors import JobdeckError
from engine.service import take_control as control
from models import JobStatus
from pages.ui.display import exact_time, relative_time
from pages.ui.identity import acting, allowed, viewer
from pages.ui.job_actions_bar import own_job

DRIVING = "jd-driving"  # the live view's class while this page holds control
DRIVING_LOOK = f"{DRIVING} ring-4 ring-orange-400 cursor-crosshair outline-none"
# the live view's card, made wider while driven: small fields are hard to hit at a third
NARROW, WIDE = "lg:w-[28rem]", "lg:w-[60%]"
# keys pressed alone that type nothing: the modifiers the job's page is sent, and locks
MODIFIER_KEYS = {*control.MODIFIERS, "AltGraph", "CapsLock", "NumLock"}
NAMED_KEYS = set(control.KEYS)  # the named keys the job's page is sent
BUTTONS = {dom: name for name, (dom, _) in control.BUTTONS.items()}  # MouseEvent.button
# The listeners, in the browser: nothing leaves it unless this page drives the view.
WHERE = ("const r = e.currentTarget.getBoundingClientRect();"
         "const x = Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));"
         "const y = Math.min(1, Math.max(0, (e.clientY - r.top) / r.height));")
DRIVEN = f"if (!e.currentTarget.classList.contains('{DRIVING}')) return;"
MOUSE_JS = ("(e) => {" + DRIVEN + "e.preventDefault(); e.currentTarget.focus();" + WHERE +
            "emit({type: e.type, x, y, button: e.button, clicks: e.detail || 1})}")
MOVE_JS = "(e) => {" + DRIVEN + "if (!e.buttons) return;" + WHERE + "emit({x, y})}"
WHEEL_JS = ("(e) => {" + DRIVEN + "e.preventDefault();" + WHERE +
            "const k = e.deltaMode === 1 ? 40 : e.deltaMode === 2 ? 800 : 1;"
            "emit({x, y, dx: e.deltaX * k, dy: e.deltaY * k})}")
KEY_JS = ("(e) => {" + DRIVEN + f"if ({sorted(MODIFIER_KEYS)}.includes(e.key)) return;"
          # copy, cut and paste stay the browser's: a paste arrives as a paste event
          "if ((e.ctrlKey || e.metaKey) && 'cvx'.includes(e.key.toLowerCase())) return;"
          "e.preventDefault();"
          "emit({key: e.key, alt: e.altKey, ctrl: e.ctrlKey, meta: e.metaKey, "
          "shift: e.shiftKey})}")
PASTE_JS = ("(e) => {" + DRIVEN + "e.preventDefault();"
            "emit({text: e.clipboardData.getData('text/plain')})}")


def key_input(key: str, *, alt: bool = False, ctrl: bool = False, meta: bool = False,
              shift: bool = False) -> dict | None:
    """One keydown (the DOM's KeyboardEvent.key and modifiers) as an input for the job's
    page: a character typed is text; a named key is a key with its modifiers; anything
    else (a shortcut such as Ctrl+S) is None, not sent. AltGr arrives as Ctrl+Alt and
    types a character (W3C UI Events KeyboardEvent key values)."""
    shortcut = (ctrl or alt or meta) and not (ctrl and alt and not meta)
    if len(key) == 1 and not shortcut:
        return {"type": "text", "text": key}
    if key in NAMED_KEYS:
        down = {"Alt": alt, "Control": ctrl, "Meta": meta, "Shift": shift}
        held = [name for name in control.MODIFIERS if down[name]]
        return {"type": "key", "key": key, "modifiers": held}
    return None


def merged(pending: list[dict]) -> list[dict]:
    """Inputs to send, in order: adjacent texts joined (up to `control.MAX_TEXT` characters
    each; a longer paste is split), adjacent drags reduced to the last."""
    out: list[dict] = []
    for item in pending:
        last = out[-1] if out else None
        if item["type"] == "text" and len(item["text"]) > control.MAX_TEXT:
            out += merged([{"type": "text", "text": item["text"][i:i + control.MAX_TEXT]}
                           for i in range(0, len(item["text"]), control.MAX_TEXT)])
        elif (last and item["type"] == last["type"] == "text"
                and len(last["text"]) + len(item["text"]) <= control.MAX_TEXT):
            last["text"] += item["text"]
        elif last and item["type"] == last["type"] == "mousemove":
            out[-1] = item
        else:
            out.append(dict(item))
    return out


def handover_request(job_id: int, status: JobStatus) -> dict | None:
    """What a `handover` step asks of people ({"step", "message", "timeout_s"}) while the
    job waits for it: its latest request with no step finished since; else None."""
    if status != JobStatus.paused:
        return None
    for event in reversed(events.recorded_after(job_id)):
        if event.kind == events.HANDOVER_REQUESTED:
            return event.data
        if event.kind == events.STEP_FINISHED:
            return None
    return None


def may_take(status: JobStatus, started_by: str | None) -> bool:
    """Whether this page's person may take control now (a waiting job: as for approving)."""
    if status == JobStatus.waiting_for_approval:
        return allowed("approve") and not own_job("approve", started_by)
    return status == JobStatus.paused and allowed("take_control")


class ControlPanel:
    """The job page's take-control part, made at the top of the live view's card;
    `drive(image)` wires the live view, `show(job, request)` (on every redraw) brings it
    up to date."""

    def __init__(self, job_id: int, on_done):
        self.job_id, self.on_done = job_id, on_done
        self.image: ui.interactive_image | None = None
        self.holding = False
        self._key: tuple | None = None
        self._request: dict | None = None  # the handover request last shown
        self._pending: list[dict] = []
        self._sending = False
        self._sent = asyncio.Event()  # set while nothing is being sent
        self._sent.set()
        self.card = ui.context.slot.parent  # the live view's card
        self.area = ui.column().classes("w-full gap-2")

    def drive(self, image: ui.interactive_image) -> None:
        """Listen on the live view; its listeners stay quiet until this page holds control."""
        self.image = image
        image.props("tabindex=0")
        for kind in ("mousedown", "mouseup"):
            image.on(kind, self._mouse, js_handler=MOUSE_JS)
        image.on("contextmenu", js_handler="(e) => {" + DRIVEN + "e.preventDefault()}")
        image.on("mousemove", lambda e: self._queue({"type": "mousemove", **e.args}),
                 js_handler=MOVE_JS, throttle=0.05)
        image.on("wheel", lambda e: self._queue({"type": "wheel", **e.args}),
                 js_handler=WHEEL_JS, throttle=0.05)
        image.on("keydown", self._key_down, js_handler=KEY_JS)
        image.on("paste", lambda e: self._queue({"type": "text", **e.args}),
                 js_handler=PASTE_JS)

    def show(self, job: Any, request: dict | None) -> None:
        """Draw the part again when what it shows changed (status, holder, the request)."""
        self._request = request
        state = control.control_state(job)
        holder = state["holder"] if state and not state.get("lapsed") else None
        mine = holder is not None and holder == viewer().name
        key = (job.status, holder, state and state.get("since"), bool(request), mine)
        if key == self._key:
            return
        self._key = key
        self.holding = mine
        if self.image is not None:
            self.image.classes(add=DRIVING_LOOK) if mine else self.image.classes(
                remove=DRIVING_LOOK)
        self.card.classes(add=WIDE, remove=NARROW) if mine else self.card.classes(
            add=NARROW, remove=WIDE)
        self.area.clear()
        with self.area:
            self._draw(job, request, holder, state, mine)

    def _draw(self, job, request: dict | None, holder: str | None, state: dict | None,
              mine: bool) -> None:
        if mine:
            with ui.card().classes("w-full bg-orange-1 shadow-none p-3").props(
                    "data-control=mine"):
                with ui.row().classes("items-center gap-2 no-wrap"):
                    ui.icon("mouse", color="deep-orange-8", size="24px")
                    ui.label("You have control — your clicks and typing go to the job's "
                             "browser").classes("font-medium")
                ui.label(f"Click the picture, then type. Control lapses after "
                         f"{control.TAKE_CONTROL_IDLE_S} s without input.").classes(
                    "text-xs text-grey-8")
                with ui.row().classes("gap-2"):
                    ui.button("Hand back", icon="play_arrow", color="positive",
                              on_click=self._hand_back).props(
                        "unelevated no-caps data-control-action=hand-back")
                    ui.button("Leave", icon="logout", on_click=self._leave).props(
                        "flat no-caps data-control-action=leave")
            return
        if holder:
            since = state.get("since") if state else None
            text = f"{holder} has control since {_clock(since)}"
            ui.label(text).classes("text-sm font-medium text-deep-orange-9").props(
                "data-control=other").tooltip(exact_time(since) if since else "")
            return
        if job.status not in (JobStatus.paused, JobStatus.waiting_for_approval):
            return
        if request:
            with ui.card().classes("w-full bg-orange-1 shadow-none p-3").props(
                    "data-handover"):
                with ui.row().classes("items-center gap-2 no-wrap"):
                    ui.icon("front_hand", color="deep-orange-7", size="24px")
                    ui.label("A person is needed").classes("font-medium")
                ui.label(f'Step "{request.get("step")}"').classes("text-sm")
                if request.get("message"):
                    ui.label(str(request["message"])).classes("whitespace-pre-wrap")
        if may_take(job.status, job.started_by):
            ui.button("Take control", icon="mouse", color="deep-orange-8",
                      on_click=self._take).props(
                "unelevated no-caps data-control-action=take")
        elif request:
            ui.label("An operator takes control here to do it.").classes(
                "text-sm text-grey-8")

    async def _take(self) -> None:
        actor = await acting("take_control")
        if actor is None:
            return
        if await self._call(control.take_control, self.job_id, by=actor.name,
                            role=actor.role, source=actor.source):
            await self.on_done()
            if self.image is not None:  # typing goes where the focus is
                ui.run_javascript(f"getHtmlElement({self.image.id})?.focus()")

    async def _hand_back(self) -> None:
        await self._sent.wait()  # the last keys reach the page before the job goes on
        if await self._call(control.hand_back, self.job_id, by=viewer().name,
                            source=viewer().source):
            ui.notify("Handed back: the job goes on", type="positive")
            await self.on_done()

    async def _leave(self) -> None:
        await self._sent.wait()
        if await self._call(control.release_control, self.job_id, by=viewer().name,
                            source=viewer().source):
            ui.notify("You gave control up; the job still waits", type="info")
            await self.on_done()

    async def _call(self, function, *args, **kwargs) -> bool:
        try:
            job = await run.io_bound(function, *args, **kwargs)
        except JobdeckError as exc:
            ui.notify(str(exc), type="warning", multi_line=True)
            await self.on_done()  # what the refusal was about may have changed
            return False
        if job is None:  # the server is stopping
            return False
        self.show(job, self._request)  # at once, from the row as the action left it
        return True

    async def _mouse(self, e) -> None:
        args = e.args
        await self._queue({"type": args["type"], "x": args["x"], "y": args["y"],
                           "button": BUTTONS.get(args.get("button"), "left"),
                           "clicks": 2 if args.get("clicks") == 2 else 1})

    async def _key_down(self, e) -> None:
        args = e.args
        found = key_input(str(args.get("key", "")), alt=bool(args.get("alt")),
                          ctrl=bool(args.get("ctrl")), meta=bool(args.get("meta")),
                          shift=bool(args.get("shift")))
        if found:
            await self._queue(found)

    async def _queue(self, item: dict) -> None:
        """Send `item` after what came before it: one sender at a time, in arrival order."""
        if not self.holding or (item["type"] == "text" and not item.get("text")):
            return
        self._pending.append(item)
        if self._sending:
            return  # the sender under way sends it next
        self._sending = True
        self._sent.clear()
        try:
            while self._pending and self.holding:
                batch, self._pending = merged(self._pending), []
                for one in batch:
                    await run.io_bound(control.send_input, self.job_id, one,
                                       by=viewer().name)
        except JobdeckError as exc:  # control lapsed, or was taken back: say so once
            self._pending.clear()
            ui.notify(str(exc), type="warning", multi_line=True)
            await self.on_done()
        finally:
            self._sending = False
            self._sent.set()


def _clock(when: datetime | str | None) -> str:
    """`14:05 (3 min ago)` for a time the engine gives as a datetime or ISO text."""
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    if when is None:
        return "a moment ago"
    return f"{when.astimezone().strftime('%H:%M')} ({relative_time(when)})"
