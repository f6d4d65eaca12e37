"""Take control: a person drives a paused or waiting job's browser page by hand.

The console, the API and tests call these. Who holds control is on the job's row
(`control_holder`, `control_since`, `control_seen_at`), set with a compare-and-set so that
only one person holds it; inputs travel as live-only events to the job's worker
(engine/runner/takeover.py), which replays them over CDP and writes the timeline row. The
rules, for people: docs/console.md, "Take control: the rules".
"""

import threading
from datetime import datetime, timedelta

from sqlalchemy import case, or_, update
from sqlmodel import col

from engine.bus import events
from engine.errors import ActionRefused, Forbidden, InvalidInput, NotFound
from engine.identity import audit
from engine.identity.access import RANK, four_eyes_forbids, may
from engine.service.job_actions import check_four_eyes
from engine.settings import current_settings
from engine.store.db import read_scope, session_scope
from models import JOB_ACTIONS, Job, JobAction, JobStatus, Role, utcnow

S = JobStatus
__all__ = ["TAKE_CONTROL_IDLE_S", "control_state", "hand_back", "release_control",
           "send_input", "take_control"]

# Control lapses after this many seconds without input (read at call time: tests lower it).
TAKE_CONTROL_IDLE_S = 60
SEEN_EVERY_S = 5.0  # control_seen_at is written at most this often, not once per key
CONTROLLABLE = (S.paused, S.waiting_for_approval)

MOUSE_TYPES = ("click", "mousedown", "mouseup", "mousemove")
# The one table of what a person can send; the API's schema, the live view's listeners and
# the worker's CDP calls all read these.
# button -> (the DOM's MouseEvent.button, its bit in CDP's `buttons` field)
BUTTONS = {"left": (0, 1), "middle": (1, 4), "right": (2, 2)}
# named key -> (Windows virtual key code, the text it types), as Chromium's DevTools expect
# them (Input.dispatchKeyEvent; the codes of the US keyboard layout, as Puppeteer lists them)
KEYS = {"Enter": (13, "\r"), "Backspace": (8, None), "Tab": (9, None), "Escape": (27, None),
        "ArrowUp": (38, None), "ArrowDown": (40, None), "ArrowLeft": (37, None),
        "ArrowRight": (39, None), "Delete": (46, None), "Home": (36, None), "End": (35, None),
        "PageUp": (33, None), "PageDown": (34, None)}
MODIFIERS = {"Alt": 1, "Control": 2, "Meta": 4, "Shift": 8}  # -> its bit in CDP's `modifiers`
INPUT_TYPES = (*MOUSE_TYPES, "wheel", "text", "key")
HANDED_BACK = "handed back after taking control"  # the resume's (approve's) comment
MAX_TEXT = 1000
MAX_WHEEL = 10_000  # CSS pixels per wheel input


def idle_s() -> float:
    """The idle time after which control lapses, in seconds (TAKE_CONTROL_IDLE_S)."""
    return float(TAKE_CONTROL_IDLE_S)


def _seen_every_s() -> float:
    return min(SEEN_EVERY_S, idle_s() / 4)


def _lapsed_before(now: datetime) -> datetime:
    """A holder whose last noted input is older than this has lapsed. The row notes inputs
    only every _seen_every_s(), so that much is allowed on top: the worker, which sees every
    input, lapses a holder first, and no one loses control early here."""
    return now - timedelta(seconds=idle_s() + _seen_every_s())


def control_state(job: Job) -> dict | None:
    """Who holds control of the job's page: {"holder": name, "since": datetime (UTC),
    "seen_at": datetime of the last input written, "lapsed": bool (no input for
    TAKE_CONTROL_IDLE_S: anyone allowed may take it)}; None when no one does."""
    if not job.control_holder:
        return None
    seen = job.control_seen_at or job.control_since
    return {"holder": job.control_holder, "since": job.control_since, "seen_at": seen,
            "lapsed": seen is None or seen < _lapsed_before(utcnow())}


def take_control(job_id: int, *, by: str, role: Role, source: str | None = None) -> Job:
    """`by` takes control of the job's browser page; returns the job as changed.

    Raises NotFound: no such job. Forbidden (recorded in the audit log): `role` is below
    operator, or, for a job waiting for approval, below approver or `by` started the job
    and the four-eyes rule is on (handing back approves it). ActionRefused: the job is not
    paused or waiting for approval, someone else holds control (named, with since when),
    or an action is pending on it. Taking control one already holds keeps it. Records a
    CONTROL event {"action": "take_control", "by"} and the audit row "took_control"; a
    lapsed holder it replaces gets "control_lapsed"."""
    job = _job(job_id)
    _check_role(job, by, role, source)
    for _ in range(5):  # the holder read is the one replaced: compare-and-set on it
        now = utcnow()
        stale = _lapsed_before(now)
        before = job.control_holder
        with session_scope() as session:
            result = session.exec(update(Job).where(
                col(Job.id) == job_id, col(Job.status).in_(CONTROLLABLE),
                col(Job.requested_action).is_(None),
                col(Job.control_holder).is_not_distinct_from(before),
                or_(col(Job.control_holder).is_(None), col(Job.control_holder) == by,
                    col(Job.control_seen_at) < stale))
                .values(control_holder=by, control_seen_at=now, control_since=case(
                    (col(Job.control_holder) == by, col(Job.control_since)), else_=now))
                .returning(col(Job.control_holder)))
            if result.first() is None:
                session.rollback()
                job = _job(job_id)
                if job.control_holder != before:
                    continue  # it changed hands meanwhile: judge the new holder
                raise ActionRefused(_refusal(job, by))
            if before == by:  # already theirs: kept, nothing to record
                job = _reread(session, job_id)
                return job
            if before:  # a lapsed holder is replaced
                audit.record(before, "control_lapsed", job_id=job_id, session=session,
                             comment=f"no input for {TAKE_CONTROL_IDLE_S} s; {by} took "
                             "control")
            audit.record(by, "took_control", job_id=job_id, source=source,
                         before=job.status.value, session=session)
            event = events.record(session, events.CONTROL, job_id, action="take_control",
                                  by=by)
            job = _reread(session, job_id)
        _sent.begin(job_id, by)
        events.get_bus().publish(event)
        return job
    raise ActionRefused(f"control of job {job_id} keeps changing hands; try again")


def hand_back(job_id: int, *, by: str, source: str | None = None) -> Job:
    """The holder hands control back: in one compare-and-set, control ends and a resume (a
    paused job) or an approve (a waiting one) by `by` is requested, as
    `job_actions.act` requests it, so the worker's normal path runs. Returns the job.

    Raises NotFound; Forbidden (recorded, "approve_refused"): the four-eyes rule forbids
    `by` to approve it; ActionRefused: `by` does not hold control (or it lapsed), or the
    job cannot be resumed/approved now (its status, a pending action). Nothing changes
    when refused: the holder keeps control. Records the audit rows "handed_back" and
    "resume"/"approve", and CONTROL events {"action": "hand_back", "by", "inputs": the
    number of inputs this process sent for the holder, for the worker to wait for} and
    {"action": "resume"|"approve", "by", "comment"}."""
    job = _job(job_id)
    action = JobAction.approve if job.status == S.waiting_for_approval else JobAction.resume
    if action == JobAction.approve:
        check_four_eyes(job_id, action, by, source)
    stale = _lapsed_before(utcnow())
    with session_scope() as session:
        result = session.exec(update(Job).where(
            col(Job.id) == job_id, col(Job.control_holder) == by,
            or_(col(Job.control_seen_at).is_(None), col(Job.control_seen_at) >= stale),
            col(Job.status).in_(JOB_ACTIONS[action].statuses),
            col(Job.requested_action).is_(None))
            .values(control_holder=None, control_since=None, control_seen_at=None,
                    requested_action=action, requested_by=by)
            .returning(col(Job.id)))
        if result.first() is None:
            session.rollback()
            raise ActionRefused(_not_ended(job_id, by))
        audit.record(by, "handed_back", job_id=job_id, source=source, session=session)
        audit.record(by, action.value, job_id=job_id, comment=HANDED_BACK, source=source,
                     before=job.status.value, session=session)
        published = [
            events.record(session, events.CONTROL, job_id, action="hand_back", by=by,
                          inputs=_sent.count(job_id, by)),
            events.record(session, events.CONTROL, job_id, action=action.value, by=by,
                          comment=HANDED_BACK)]
        job = _reread(session, job_id)
    _sent.end(job_id, by)
    for event in published:
        events.get_bus().publish(event)
    return job


def release_control(job_id: int, *, by: str, source: str | None = None) -> Job:
    """The holder gives control up without resuming: the job stays paused or waiting.
    Raises NotFound; ActionRefused when `by` does not hold control (or it lapsed). Records
    "released_control" and a CONTROL event {"action": "release_control", "by", "inputs"}."""
    stale = _lapsed_before(utcnow())
    with session_scope() as session:
        result = session.exec(update(Job).where(
            col(Job.id) == job_id, col(Job.control_holder) == by,
            or_(col(Job.control_seen_at).is_(None), col(Job.control_seen_at) >= stale))
            .values(control_holder=None, control_since=None, control_seen_at=None)
            .returning(col(Job.id)))
        if result.first() is None:
            session.rollback()
            raise ActionRefused(_not_ended(job_id, by))
        audit.record(by, "released_control", job_id=job_id, source=source, session=session)
        event = events.record(session, events.CONTROL, job_id, action="release_control",
                              by=by, inputs=_sent.count(job_id, by))
        job = _reread(session, job_id)
    _sent.end(job_id, by)
    events.get_bus().publish(event)
    return job


def send_input(job_id: int, data: dict, *, by: str) -> None:
    """One input of the holder for the job's page, passed to its worker (live only, never
    recorded: what is typed stays out of the database).

    Shapes (x, y are fractions 0..1 of the page as shown; the worker scales them to the
    viewport; dx, dy are CSS pixels):
      {"type": "click"|"mousedown"|"mouseup"|"mousemove", "x", "y",
       "button": "left"|"right"|"middle" (default left), "clicks": 1|2 (default 1)}
      {"type": "wheel", "x", "y", "dx", "dy"}
      {"type": "text", "text": str of 1..1000 characters}
      {"type": "key", "key": one of KEYS, "modifiers": list of "Shift", "Control", "Alt",
       "Meta" (default none)}
    Raises InvalidInput (what is wrong with the shape); NotFound; ActionRefused: `by` does
    not hold control, or it lapsed. Notes the input on the row at most every
    SEEN_EVERY_S seconds."""
    clean = validate_input(data)
    job = _job(job_id)
    state = control_state(job)
    if state is None or state["holder"] != by:
        raise ActionRefused(_not_holder(job, by))
    if state["lapsed"]:
        raise ActionRefused(f"{by}'s control of job {job_id} lapsed after "
                            f"{TAKE_CONTROL_IDLE_S} s without input; take control again")
    now = utcnow()
    if state["seen_at"] is None or now - state["seen_at"] >= timedelta(seconds=_seen_every_s()):
        with session_scope() as session:
            session.exec(update(Job).where(col(Job.id) == job_id,
                                           col(Job.control_holder) == by)
                         .values(control_seen_at=now))
    _sent.add(job_id, by)  # before it leaves: a hand back never counts fewer than were sent
    events.get_bus().publish(events.Event(events.CONTROL_INPUT, job_id,
                                          {"by": by, "input": clean}))


def validate_input(data: dict) -> dict:
    """The input in its canonical shape (defaults filled in); InvalidInput saying what is
    wrong. See `send_input` for the shapes."""
    if not isinstance(data, dict):
        raise InvalidInput("an input is an object with a type")
    kind = data.get("type")
    if kind in MOUSE_TYPES or kind == "wheel":
        clean: dict = {"type": kind, "x": _fraction(data, "x"), "y": _fraction(data, "y")}
        if kind == "wheel":
            for key in ("dx", "dy"):
                value = data.get(key, 0)
                if not _number(value) or abs(value) > MAX_WHEEL:
                    raise InvalidInput(f"{key} must be a number of CSS pixels within "
                                       f"±{MAX_WHEEL}, not {value!r}")
                clean[key] = float(value)
            return clean
        button = data.get("button", "left")
        if button not in BUTTONS:
            raise InvalidInput(f"button must be one of {', '.join(BUTTONS)}, not {button!r}")
        clicks = data.get("clicks", 1)
        if clicks not in (1, 2) or isinstance(clicks, bool):
            raise InvalidInput(f"clicks must be 1 or 2, not {clicks!r}")
        return {**clean, "button": button, "clicks": clicks}
    if kind == "text":
        text = data.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT:
            raise InvalidInput(f"text must be 1 to {MAX_TEXT} characters")
        return {"type": "text", "text": text}
    if kind == "key":
        modifiers = data.get("modifiers", [])
        if data.get("key") not in KEYS:
            raise InvalidInput(f"key must be one of {', '.join(KEYS)}, not {data.get('key')!r}")
        if not isinstance(modifiers, list) or any(m not in MODIFIERS for m in modifiers):
            raise InvalidInput(f"modifiers must be a list of {', '.join(MODIFIERS)}")
        return {"type": "key", "key": data["key"], "modifiers": sorted(set(modifiers))}
    kinds = ", ".join(INPUT_TYPES)
    raise InvalidInput(f"type must be one of {kinds}, not {kind!r}")


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and (
        value == value and abs(value) != float("inf"))


def _fraction(data: dict, key: str) -> float:
    value = data.get(key)
    if not isinstance(value, int | float) or not _number(value) or not 0 <= value <= 1:
        raise InvalidInput(f"{key} must be a fraction of the shown page from 0 to 1, "
                           f"not {value!r}")
    return float(value)


# -- helpers ------------------------------------------------------------------------------
def _job(job_id: int) -> Job:
    with read_scope() as session:
        job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"there is no job {job_id}")
    return job


def _check_role(job: Job, by: str, role: Role, source: str | None) -> None:
    """Forbidden, recorded like access.require records it, unless `role` may take control
    of this job now: operator, and for a waiting job what approving it needs."""
    needed = Role.operator
    if job.status == S.waiting_for_approval:
        needed = max(needed, JOB_ACTIONS[JobAction.approve].role, key=RANK.__getitem__)
    refusal = None
    if not may(role, "take_control") or RANK[role] < RANK[needed]:
        article = "an" if role.value[0] in "aeiou" else "a"
        what = ("taking control of a job waiting for approval (handing back approves it)"
                if needed != Role.operator else "taking control of a job's browser")
        refusal = (f"{by} is {article} {role.value}: {what} needs the {needed.value} role "
                   "(an admin can change roles)")
    elif job.status == S.waiting_for_approval and four_eyes_forbids(
            JobAction.approve, started_by=job.started_by, actor=by,
            four_eyes=current_settings().four_eyes):
        refusal = (f"{by} started job {job.id}: another approver must take control of it, "
                   "as handing back approves it (the four-eyes rule)")
    if refusal:
        audit.record(by, "take_control_refused", job_id=job.id, source=source,
                     comment=refusal)
        raise Forbidden(refusal)


def _refusal(job: Job, by: str) -> str:
    status = job.status.value.replace("_", " ")
    if job.status not in CONTROLLABLE:
        return (f"job {job.id} is {status}: control can be taken only while it is paused "
                "or waiting for approval")
    if job.requested_action:
        return (f"job {job.id} has a pending {job.requested_action} (by {job.requested_by}); "
                "wait a moment and reload")
    since = _when(job.control_since)
    return f"{job.control_holder} holds control of job {job.id} since {since}; ask them"


def _when(at: datetime | None) -> str:
    return at.strftime("%H:%M:%S UTC") if at else "a moment ago"


def _not_holder(job: Job, by: str) -> str:
    if not job.control_holder:
        return f"no one holds control of job {job.id}; take control first"
    return (f"{job.control_holder} holds control of job {job.id} since "
            f"{_when(job.control_since)}, not {by}")


def _not_ended(job_id: int, by: str) -> str:
    """Why `by` could not end their control (hand back or give it up)."""
    job = _job(job_id)
    state = control_state(job)
    if state is None or state["holder"] != by:
        return _not_holder(job, by)
    if state["lapsed"]:
        return (f"{by}'s control of job {job_id} lapsed after {TAKE_CONTROL_IDLE_S} s "
                "without input; take control again")
    return _refusal(job, by)


def _reread(session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    assert job is not None  # the update above found it
    session.refresh(job)
    return job


class _SentCounts:
    """The inputs this process sent for each holder since they took control: a hand back
    carries the count, so that the worker can wait for inputs still on their way (over
    Redis, events may arrive after the worker read the resume on the job's row)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[int, str], int] = {}
        self._lock = threading.Lock()

    def begin(self, job_id: int, by: str) -> None:
        with self._lock:
            self._counts[(job_id, by)] = 0

    def add(self, job_id: int, by: str) -> None:
        with self._lock:
            self._counts[(job_id, by)] = self._counts.get((job_id, by), 0) + 1

    def count(self, job_id: int, by: str) -> int:
        with self._lock:
            return self._counts.get((job_id, by), 0)

    def end(self, job_id: int, by: str) -> None:
        with self._lock:
            self._counts.pop((job_id, by), None)


_sent = _SentCounts()
