"""The notifier: a thread in each console process that turns what happened into
deliveries (engine/notify/detect.py) and sends the due ones (engine/notify/sending.py).

It wakes on the bus events that may mean news (a job's status, its end, a wait) and at
least every ROUND_S, which also catches what other processes recorded without a bus link,
reminders that come due, and retries. Several consoles may each run one: deliveries are
unique per channel and happening, and each is claimed before it is sent."""

import logging
import threading
from collections.abc import Callable

from engine.bus import events
from engine.notify.detect import detect_round, next_reminder_at, start_cursor
from engine.notify.sending import next_attempt_at, send_due
from models import utcnow

log = logging.getLogger(__name__)
ROUND_S = 2.0
WAKING = frozenset({events.JOB_STATUS, events.JOB_FINISHED, events.APPROVAL_REQUESTED,
                    events.CONTROL, events.SCHEDULE_CHANGED, events.RESYNC,
                    events.HANDOVER_REQUESTED})


def notify_round() -> int:
    """One detection round, then every due delivery attempted; how many deliveries the
    round made. Tests call it to be deterministic; the thread calls it in a loop."""
    made = detect_round()
    send_due()
    return made


class Notifier:
    """The thread; `start` places the cursor first (history before it is not sent)."""

    def __init__(self, bus: events.EventBus | None = None):
        self.bus = bus or events.get_bus()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._unsubscribe: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None

    def _on_event(self, event: events.Event) -> None:
        if event.kind in WAKING:
            self._wake.set()

    def start(self) -> None:
        start_cursor()
        self._unsubscribe = self.bus.subscribe(self._on_event)
        self._thread = threading.Thread(target=self._loop, name="jobdeck-notifier",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            wait = ROUND_S
            try:
                notify_round()
                wait = self._until_next()
            except Exception:  # the database away, a bug: try again next round
                log.exception("notification round failed")
            self._wake.wait(wait)

    @staticmethod
    def _until_next() -> float:
        """Seconds to the next round: ROUND_S, or sooner when a reminder or a retry comes
        due before that (a reminder at 80 % of a short timeout has a narrow window)."""
        now = utcnow()
        soonest = [t for t in (next_reminder_at(now), next_attempt_at()) if t is not None]
        if not soonest:
            return ROUND_S
        return min(ROUND_S, max(0.05, (min(soonest) - now).total_seconds()))
