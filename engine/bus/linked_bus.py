"""The event bus of the console and its worker process without REDIS_URL: each process's
own subscribers are called at once, as on the in-process bus, and its events also cross
the link (engine/bus/process_link.py) to the other process, whose reader delivers them.

The console's link changes when its worker process is started again; while there is none,
events for it are dropped (no job runs there then, and the worker reads each job's row).
"""

from collections.abc import Callable

from engine.bus.events import Event, LocalEventBus, Subscriber
from engine.bus.process_link import ProcessLink


class LinkedEventBus:
    def __init__(self, local: LocalEventBus | None = None, link: ProcessLink | None = None):
        # `local`: this process's bus until now, so that its subscribers stay subscribed
        self.local = local if local is not None else LocalEventBus()
        self.link = link

    def publish(self, event: Event) -> None:
        self.local.publish(event)
        link = self.link
        if link is not None:
            link.send_event(event)

    def deliver(self, event: Event) -> None:
        """An event from the other process: to this process's subscribers only."""
        self.local.publish(event)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        return self.local.subscribe(callback)

    @property
    def has_subscribers(self) -> bool:
        return self.local.has_subscribers

    def close(self, flush_seconds: float = 3.0) -> None:
        """Send what is waiting (a stopping worker's last job reports), then close the link."""
        link, self.link = self.link, None
        if link is not None:
            link.close(flush_seconds)
