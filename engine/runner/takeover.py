"""Take control, the worker's side: a person's inputs replayed on the job's page.

The service (engine/service/take_control.py) decides who holds control and passes their
inputs on as live-only events; here, on the browser loop, they are dispatched as CDP input
events to the tab the live view shows. CDP rather than Playwright's page.mouse and
page.keyboard: a Playwright trace records those calls with the typed text, and a CDP
call it does not record. Only the count of inputs is kept. When the holder hands back,
gives up, lapses or the job goes on, the takeover becomes one row in the timeline
("taken over by NAME", "2 min 10 s, 14 inputs") with a screenshot before and after.
"""

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from playwright.async_api import Error as PlaywrightError
from sqlalchemy import update
from sqlmodel import col

from engine.bus import events
from engine.errors import StorageFull
from engine.identity import audit
from engine.runner.browser_session import DEFAULT_VIEWPORT
from engine.runner.handover import wait_for_handover
from engine.runner.records import BY_HAND
from engine.service import take_control as rules
from engine.store.db import read_scope, session_scope
from models import ArtifactKind, Job, utcnow

log = logging.getLogger(__name__)

MOUSE = {"mousedown": "mousePressed", "mouseup": "mouseReleased", "mousemove": "mouseMoved"}
UNCOUNTED = ("mousemove", "mouseup")  # a click is one input: its press counts, not its moves
DISPATCH_TIMEOUT_S = 5.0
# How long the end of a takeover waits for inputs still on their way (over Redis, the
# worker can read a hand back on the job's row before the holder's last inputs arrive).
INPUTS_WAIT_S = 3.0
WATCHED = ("take_control", "hand_back", "release_control")


@dataclass
class Held:
    """One person's control of the page, from take to end."""

    by: str
    since: datetime
    started: float  # time.monotonic()
    last_input: float
    inputs: int = 0  # counted as the timeline says: a click is one, its moves none
    received: int = 0  # every input event, to compare with the count a hand back sent
    ending: str | None = None  # handed back or given up: the outcome, once all arrived
    sent: int = 0  # the inputs the hand back (give up) said were sent
    before: bytes | None = None  # the screenshot when it began
    pressed: str | None = None  # the mouse button held down now: moves are then drags
    watchdog: asyncio.Task | None = field(default=None, repr=False)


class Takeover:
    """The takeovers of one running job, on the browser loop. Every change goes through
    one queue, handled in order by one task: a take, its inputs, the end."""

    def __init__(self, execution) -> None:
        self.execution, self.job_id = execution, execution.job_id
        self.held: Held | None = None
        self.taken = 0  # takeovers begun in this job (a handover step asks whether any)
        self._worker: asyncio.Task | None = None
        self._changed = asyncio.Event()  # set after each change handled

    def start(self) -> None:
        """Listen (on the browser loop, once the job's page and context are set up)."""
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[tuple] = asyncio.Queue()
        self._worker = self._loop.create_task(self._handle_all())
        self._unsubscribe = self.execution.bus.subscribe(self._on_event)
        self.execution.ctx.handover = lambda message, st: wait_for_handover(
            self.execution, message, st)

    def _on_event(self, event: events.Event) -> None:  # any thread: the bus's
        if event.job_id != self.job_id:
            return
        if event.kind == events.CONTROL_INPUT or (
                event.kind == events.CONTROL and event.data.get("action") in WATCHED):
            try:
                self._loop.call_soon_threadsafe(self._queue.put_nowait, ("event", event))
            except RuntimeError:  # the loop is gone
                pass

    async def settle(self, outcome: str) -> None:
        """Before the job goes on (resumed, approved, cancelled, timed out): what was sent
        is handled, and a takeover still held ends with `outcome` ("the job was resumed by
        bob"), its row written and control cleared on the job's row. When the job's row
        says its holder ended control (a hand back), their last inputs and the hand back
        itself may still be on their way: waited for, up to INPUTS_WAIT_S."""
        if self._worker is None or self._worker.done():
            return
        await self._await_ending()
        done: asyncio.Future = self._loop.create_future()
        self._queue.put_nowait(("end", outcome, done))
        await done

    async def _await_ending(self) -> None:
        deadline = self._loop.time() + INPUTS_WAIT_S
        checked: Held | None = None
        while (held := self.held) is not None:
            self._changed.clear()
            if held is not checked and held.ending is None:
                checked = held
                if await asyncio.to_thread(self._holds, held.by):
                    return  # still theirs: a Resume by someone else ends it now
                continue
            remaining = deadline - self._loop.time()
            if remaining <= 0:
                return
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return

    def _holds(self, by: str) -> bool:
        with read_scope() as session:
            job = session.get(Job, self.job_id)
            return job is not None and job.control_holder == by

    async def close(self) -> None:
        """The job ends: a takeover still held ends, then nothing more is heard."""
        if self._worker is None:
            return
        self._unsubscribe()
        if not self._worker.done():
            try:
                await asyncio.wait_for(self.settle("the job ended"), 10)
            except (TimeoutError, asyncio.CancelledError):
                pass
            self._worker.cancel()

    # -- the one task -----------------------------------------------------------------
    async def _handle_all(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self._handle(item)
            except Exception:  # one bad input must not end the job's takeovers
                log.exception("job %s: take control failed on %s", self.job_id, item[0])
            finally:
                if item[0] == "end" and not item[2].done():
                    item[2].set_result(None)
                self._changed.set()

    async def _handle(self, item: tuple) -> None:
        if item[0] == "end":
            if self.held and self.held.ending:  # handed back; some inputs never came
                await self._finish(self.held, self.held.ending, clear=None)
            elif self.held:
                await self._finish(self.held, item[1], clear="control_ended")
            return
        if item[0] in ("lapse", "late"):
            target: Held = item[1]
            if self.held is not target:
                return
            if target.ending:  # handed back or given up, and some inputs never came
                await self._finish(target, target.ending, clear=None)
            elif item[0] == "lapse":
                await self._finish(target, f"control lapsed after "
                                   f"{rules.TAKE_CONTROL_IDLE_S} s without input",
                                   clear="control_lapsed")
            return
        event: events.Event = item[1]
        by = str(event.data.get("by") or "someone")
        held = self.held
        if event.kind == events.CONTROL_INPUT:
            if held and held.by == by:
                held.received += 1
                await self._dispatch(held, event.data["input"])
                if held.ending and held.received >= held.sent:
                    await self._finish(held, held.ending, clear=None)
            return
        action = event.data["action"]
        if action == "take_control":
            if held and held.by != by:  # its holder lapsed; the service said so
                await self._finish(held, f"control lapsed; {by} took control", clear=None)
            if self.held is None:
                await self._start(by)
        elif held and held.by == by:  # hand_back, release_control
            held.ending = ("handed back" if action == "hand_back" else
                           "control given up, the job still waits")
            held.sent = int(event.data.get("inputs") or 0)
            if held.received >= held.sent:
                await self._finish(held, held.ending, clear=None)
            else:  # the rest is on its way: wait for it, a while
                self._loop.call_later(INPUTS_WAIT_S, self._queue.put_nowait, ("late", held))

    async def _start(self, by: str) -> None:
        now = time.monotonic()
        held = Held(by=by, since=utcnow(), started=now, last_input=now)
        self.held = held
        self.taken += 1
        held.before = await self._screenshot()
        held.watchdog = self._loop.create_task(self._watch(held))

    async def _watch(self, held: Held) -> None:
        """Lapse after TAKE_CONTROL_IDLE_S without input (read each round: tests lower it)."""
        while self.held is held:
            idle = rules.idle_s()
            await asyncio.sleep(min(1.0, idle / 4))
            if time.monotonic() - held.last_input >= idle:
                self._queue.put_nowait(("lapse", held))
                return

    async def _finish(self, held: Held, outcome: str, clear: str | None) -> None:
        """End `held`: its timeline row with both screenshots; with `clear`, its control
        is taken off the job's row (if still theirs), recorded as that CONTROL action."""
        self.held = None
        if held.watchdog is not None and held.watchdog is not asyncio.current_task():
            held.watchdog.cancel()
        if clear:
            await asyncio.to_thread(self._clear, held, clear, outcome)
        after = await self._screenshot()
        ex = self.execution
        seconds = time.monotonic() - held.started
        described = (f"{_duration(seconds)}, {held.inputs} input"
                     f"{'' if held.inputs == 1 else 's'}; {outcome}")
        name = ex.redactor.text(f"taken over by {held.by}")
        row = await asyncio.to_thread(ex.recorder.step_done, name, BY_HAND,
                                      ex.redactor.text(described), held.since)
        for label, shot in (("before", held.before), ("after", after)):
            if shot is None:
                continue
            try:
                await asyncio.to_thread(ex.ctx.artifacts.save, ArtifactKind.screenshot,
                                        f"{label} {name}", shot, "jpg", row.id)
            except StorageFull as exc:
                log.warning("job %s: takeover screenshot not saved: %s", self.job_id, exc)

    def _clear(self, held: Held, action: str, outcome: str) -> None:
        """Take `held`'s control off the job's row if it is still theirs; audited as
        `action` ("control_lapsed", "control_ended": the job went on without a hand back)
        and published as that CONTROL action."""
        published = None
        with session_scope() as session:
            result = session.exec(update(Job).where(
                col(Job.id) == self.job_id, col(Job.control_holder) == held.by)
                .values(control_holder=None, control_since=None, control_seen_at=None))
            if result.rowcount == 1:
                audit.record(held.by, action, job_id=self.job_id, session=session,
                             comment=f"{outcome}; {held.inputs} input"
                             f"{'' if held.inputs == 1 else 's'}")
                published = events.record(session, events.CONTROL, self.job_id,
                                          action=action, by=held.by)
        if published is not None:
            self.execution.bus.publish(published)

    async def _screenshot(self) -> bytes | None:
        """The tab as it is (secrets masked); a second try once a navigation the person
        started (Enter on a form) has loaded; None when it cannot be had."""
        ctx = self.execution.ctx
        for attempt in (1, 2):
            try:
                if attempt == 2:
                    await ctx.page.wait_for_load_state("load", timeout=3000)
                return await ctx.page.screenshot(type="jpeg", quality=60, mask=ctx.masks(),
                                                 timeout=3000)
            except PlaywrightError as exc:
                log.info("job %s: no takeover screenshot (try %s): %s", self.job_id,
                         attempt, str(exc).splitlines()[0] if str(exc) else repr(exc))
        return None

    # -- inputs -----------------------------------------------------------------------
    async def _dispatch(self, held: Held, data: dict) -> None:
        """One input on the tab the live view shows, over that tab's CDP session."""
        held.last_input = time.monotonic()
        if data["type"] not in UNCOUNTED:
            held.inputs += 1
        ctx = self.execution.ctx
        page = ctx.page
        cdp = ctx.cdp_sessions.get(page) or ctx.cdp
        try:
            if data["type"] in ("mousedown", "mouseup"):
                held.pressed = data["button"] if data["type"] == "mousedown" else None
            calls = _cdp_calls(data, page.viewport_size or DEFAULT_VIEWPORT, held.pressed)
            for method, params in calls:
                await asyncio.wait_for(cdp.send(method, params), DISPATCH_TIMEOUT_S)
        except (PlaywrightError, TimeoutError) as exc:  # the page is busy or closed
            log.info("job %s: an input was not delivered: %s", self.job_id,
                     str(exc).splitlines()[0] if str(exc) else repr(exc))


def _cdp_calls(data: dict, viewport: dict,
               pressed: str | None = None) -> list[tuple[str, dict]]:
    """The CDP Input calls for one validated input (take_control.validate_input);
    `pressed`: the button held down since a mousedown, which makes a move a drag (a
    slider, a CAPTCHA's handle)."""
    kind = data["type"]
    if kind == "text":
        return [("Input.insertText", {"text": data["text"]})]
    if kind == "key":
        code, text = rules.KEYS[data["key"]]
        bits = sum(rules.MODIFIERS[m] for m in data.get("modifiers", []))
        down = {"type": "keyDown" if text else "rawKeyDown", "key": data["key"],
                "code": data["key"], "windowsVirtualKeyCode": code, "modifiers": bits}
        if text:
            down.update(text=text, unmodifiedText=text)
        up = {"type": "keyUp", "key": data["key"], "code": data["key"],
              "windowsVirtualKeyCode": code, "modifiers": bits}
        return [("Input.dispatchKeyEvent", down), ("Input.dispatchKeyEvent", up)]
    at = {"x": data["x"] * viewport["width"], "y": data["y"] * viewport["height"]}
    if kind == "wheel":
        return [("Input.dispatchMouseEvent", {"type": "mouseWheel", **at,
                                              "deltaX": data["dx"], "deltaY": data["dy"]})]
    button = data.get("button", "left")
    if kind == "mousemove":
        return [("Input.dispatchMouseEvent", {
            "type": "mouseMoved", **at, "button": pressed or "none",
            "buttons": rules.BUTTONS[pressed][1] if pressed else 0})]
    if kind in MOUSE:  # a press's clickCount 2 is a double click's second press
        return [("Input.dispatchMouseEvent", {
            "type": MOUSE[kind], **at, "button": button, "clickCount": data.get("clicks", 1),
            "buttons": rules.BUTTONS[button][1] if kind == "mousedown" else 0})]
    calls = [("Input.dispatchMouseEvent", {"type": "mouseMoved", **at, "button": "none"})]
    for count in range(1, data.get("clicks", 1) + 1):  # a double click: its second press
        for press in ("mousePressed", "mouseReleased"):  # says clickCount 2
            calls.append(("Input.dispatchMouseEvent", {"type": press, **at, "button": button,
                                                       "clickCount": count}))
    return calls


def _duration(seconds: float) -> str:
    """'45 s', '2 min 10 s', '1 h 5 min'."""
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"
