"""The event bus: the engine publishes after it commits; pages and SSE streams subscribe.

An event is a hint to refresh, not the truth: a subscriber that missed one still
converges when it reads the database.
"""

import logging
import threading
from dataclasses import dataclass, field
from typing import Callable, Protocol

from sqlalchemy import insert
from sqlmodel import col, select

from engine.store.db import read_scope
from models import JobEvent, utcnow

log = logging.getLogger(__name__)

JOB_STATUS = "job_status"
STEP_STARTED = "step_started"
STEP_FINISHED = "step_finished"
SCREENSHOT = "screenshot"  # data: {"jpeg": bytes, "step": name}
APPROVAL_REQUESTED = "approval_requested"
JOB_FINISHED = "job_finished"  # data: the execution report
CONTROL = "control"  # a person asked for an action: {"action", "by", "comment"}
# Take control (engine/service/take_control.py): one input of the holder for the job's
# page, {"by", "input"}; live only, never recorded (what is typed stays out of the database).
CONTROL_INPUT = "control_input"
# A `handover` step waits for someone to take control: {"step", "message", "timeout_s"}.
HANDOVER_REQUESTED = "handover_requested"
SCHEDULE_CHANGED = "schedule_changed"  # not about one job (job_id 0): {"schedule_id"}
# Not about one job (job_id 0): events from other processes may have been missed (the
# Redis link was down); whoever shows something re-reads it from the database.
RESYNC = "resync"
# Someone shows this job's live view now (not recorded). Viewers publish it at least every
# VIEWING_EVERY_S while they look; the job's worker streams frames only while the last one
# is under VIEWING_TTL_S old, so an unwatched job pays nothing for its live view. An event
# rather than a count on the bus: it crosses processes on any bus, and a viewer that dies
# without saying goodbye simply stops being counted.
VIEWING = "viewing"
VIEWING_EVERY_S = 2.0
VIEWING_TTL_S = 5.0


@dataclass(frozen=True)
class Event:
    kind: str
    job_id: int
    data: dict = field(default_factory=dict)
    # The JobEvent row id of a recorded event (None for live-only screenshot frames);
    # SSE clients resume after it with Last-Event-ID.
    id: int | None = None


def record(session, kind: str, job_id: int, /, **data) -> Event:
    """Record an event in the caller's transaction; publish it after the commit.

    Binary payloads (JPEG frames) stay out of the record; the live event keeps them.
    """
    stored = {k: v for k, v in data.items() if not isinstance(v, bytes)}
    # Core on the session's connection: every step writes two of these (no ORM bookkeeping)
    row_id = session.connection().execute(
        insert(JobEvent).values(job_id=job_id, kind=kind, data=stored, created_at=utcnow())
        .returning(col(JobEvent.id))).scalar_one()
    return Event(kind, job_id, data, row_id)


def recorded_after(job_id: int, after_id: int = 0) -> list[Event]:
    """The job's recorded events with ids above `after_id`, oldest first."""
    with read_scope() as session:
        rows = session.exec(select(JobEvent).where(JobEvent.job_id == job_id,
                                                   col(JobEvent.id) > after_id)
                            .order_by(col(JobEvent.id))).all()
        return [Event(r.kind, r.job_id, r.data, r.id) for r in rows]


Subscriber = Callable[[Event], object]  # what it returns is ignored


class EventBus(Protocol):
    def publish(self, event: Event) -> None: ...

    def subscribe(self, callback: Subscriber) -> Callable[[], None]: ...


class LocalEventBus:
    """In-process bus: callbacks run in the publisher's thread and must return quickly."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def publish(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(event)
            except Exception:  # one broken subscriber must not stop a job
                log.exception("event subscriber failed on %s", event.kind)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Add a subscriber; returns the function that removes it."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    @property
    def has_subscribers(self) -> bool:
        return bool(self._subscribers)


_bus: EventBus = LocalEventBus()


def get_bus() -> EventBus:
    return _bus


def set_bus(bus: EventBus) -> None:
    """Replace the process's bus (scale-out uses a Redis one)."""
    global _bus
    _bus = bus
