"""Carries the engine's events into NiceGUI: the bus calls back in worker threads, pages
handle events in the UI's event loop (NiceGUI's Event drops a page's subscription when
its browser tab goes away)."""

import asyncio

from nicegui import Event

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
        if not loop.is_closed():
            loop.call_soon_threadsafe(job_events.emit, event)

    _link.update(loop=loop, unsubscribe=events.get_bus().subscribe(forward))
