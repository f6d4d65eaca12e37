"""The event bus: the engine publishes after it commits; pages and SSE streams subscribe.

An event is a hint to refresh, not the truth: a subscriber that missed one still
converges when it reads the database.
"""

import logging
import threading
from dataclasses import dataclass, field
from typing import Callable, Protocol

log = logging.getLogger(__name__)

JOB_STATUS = "job_status"
STEP_STARTED = "step_started"
STEP_FINISHED = "step_finished"
SCREENSHOT = "screenshot"  # data: {"jpeg": bytes, "step": name}
APPROVAL_REQUESTED = "approval_requested"
JOB_FINISHED = "job_finished"  # data: the execution report


@dataclass(frozen=True)
class Event:
    kind: str
    job_id: int
    data: dict = field(default_factory=dict)


Subscriber = Callable[[Event], None]


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
