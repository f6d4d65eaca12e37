"""Carries the engine's events into NiceGUI: the bus calls back in worker threads, pages
handle events in the UI's event loop (NiceGUI's Event drops a page's subscription when
its browser tab goes away). Pages re-read what they show through a Reread, which keeps a
burst of events from becoming a burst of reads and redraws."""

import asyncio
import time
from typing import Awaitable, Callable

from nicegui import Event, ui

from engine.bus import events

job_events: Event[events.Event] = Event()
_link: dict = {}


def connect() -> None:
    """Forward bus events into this process's UI loop (idempotent; call from a page)."""
    loop = asyncio.get_running_loop()
    if _link.get("loop") is loop:
        return
    if "unsubscribe" in _link:
        _link["unsubscribe"]()

    def forward(event: events.Event) -> None:
        # A viewer saying it looks at a job, and a holder's input for the job's page (take
        # control), are for the job's worker, not changes to show.
        if event.kind not in (events.VIEWING, events.CONTROL_INPUT) and not loop.is_closed():
            loop.call_soon_threadsafe(job_events.emit, event)

    _link.update(loop=loop, unsubscribe=events.get_bus().subscribe(forward))


class Reread:
    """Runs a page's `read` (read the database, redraw) after events, at most once every
    `every_s` seconds: the first event after a quiet spell reads at once, and a burst of
    events reads once more after it, however many it held. Create it inside the page: its
    timer belongs to the page's client and stops with it.
    """

    def __init__(self, read: Callable[[], Awaitable[None]], every_s: float):
        self._read, self.every_s = read, every_s
        self._dirty = self._busy = False
        self._last = float("-inf")  # time.monotonic() when the last read began
        ui.timer(every_s / 2, self._due)  # the read after a burst

    async def soon(self) -> None:
        """Something changed: read now if the last read is old enough, else later."""
        self._dirty = True
        await self._due()

    async def now(self) -> None:
        """Read at once (after a person's action); if a read is under way, after it."""
        self._dirty = True
        if not self._busy:
            await self._run()

    async def _due(self) -> None:
        if self._dirty and not self._busy and time.monotonic() - self._last >= self.every_s:
            await self._run()

    async def _run(self) -> None:
        self._dirty, self._busy, self._last = False, True, time.monotonic()
        try:
            await self._read()
        finally:
            self._busy = False
