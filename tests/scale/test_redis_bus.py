"""The event bus on the real Redis: events cross processes (here, two buses with their own
connections), forged messages are ignored, and a cut link is followed by RESYNC."""

import threading
import time

import pytest
import redis
from services import REDIS

from engine.bus import events
from engine.bus.redis_bus import RedisEventBus, encode

KEY = b"k" * 32


class Heard:
    def __init__(self, bus):
        self.events: list[events.Event] = []
        self.arrived = threading.Condition()
        bus.subscribe(self._on)

    def _on(self, event):
        with self.arrived:
            self.events.append(event)
            self.arrived.notify_all()

    def wait_for(self, check, timeout: float = 10):
        with self.arrived:
            assert self.arrived.wait_for(lambda: any(check(e) for e in self.events), timeout), \
                [(e.kind, e.data) for e in self.events]


@pytest.fixture
def buses(redis_prefix):
    console, worker = (RedisEventBus(REDIS, redis_prefix, KEY) for _ in range(2))
    assert console.wait_listening(5) and worker.wait_listening(5)
    yield console, worker
    console.close()
    worker.close()


def test_events_cross_with_their_frames_and_forged_ones_do_not(buses, redis_prefix):
    console, worker = buses
    heard = Heard(console)
    worker.publish(events.Event(events.SCREENSHOT, 7, {"jpeg": b"\xff\xd8frame", "step": "a"}))
    worker.publish(events.Event(events.STEP_FINISHED, 7, {"name": "a"}, 41))
    heard.wait_for(lambda e: e.kind == events.STEP_FINISHED and e.id == 41)
    assert [e.data.get("jpeg") for e in heard.events][0] == b"\xff\xd8frame"

    client = redis.Redis.from_url(REDIS)
    forged = events.Event(events.CONTROL, 7, {"action": "cancel", "by": "mallory"}, 99)
    client.publish(f"{redis_prefix}:events", encode(forged, "mallory", b"x" * 32))
    client.publish(f"{redis_prefix}:events", b"not even json")
    worker.publish(events.Event(events.JOB_STATUS, 7, {"status": "completed"}, 42))
    heard.wait_for(lambda e: e.id == 42)  # later than the forgeries: they were dropped
    assert not [e for e in heard.events if e.kind == events.CONTROL]


def test_a_cut_event_link_reconnects_and_asks_pages_to_re_read(buses, redis_prefix):
    console, worker = buses
    heard = Heard(console)
    client = redis.Redis.from_url(REDIS)
    listeners = [c["id"] for c in client.client_list()
                 if c["name"] == f"jobdeck-{redis_prefix}" and "P" in c["flags"]]
    assert len(listeners) == 2  # one listener per bus
    for client_id in listeners:
        client.client_kill_filter(_id=client_id)
    heard.wait_for(lambda e: e.kind == events.RESYNC)
    deadline = time.monotonic() + 10
    while True:  # once subscribed again, events flow again
        worker.publish(events.Event(events.JOB_STATUS, 8, {"status": "running"}, 50))
        try:
            heard.wait_for(lambda e: e.id == 50, timeout=0.5)
            break
        except AssertionError:
            assert time.monotonic() < deadline
