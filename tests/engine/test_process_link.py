"""The link between the console and its worker process, over real pipes in one process:
events cross both ways with their JPEG bytes intact and are not echoed back, wake-ups and
the hello arrive, and closing one end is what the other reads as its end."""

import os
import queue
import threading

from engine.bus.events import CONTROL, SCREENSHOT, Event
from engine.bus.linked_bus import LinkedEventBus
from engine.bus.process_link import EVENT, HELLO, WAKE, ProcessLink


def linked_pair() -> tuple[ProcessLink, ProcessLink]:
    """Two ends of a link, as the console and its worker process hold them."""
    to_worker, to_console = os.pipe(), os.pipe()
    return (ProcessLink.from_fds(to_console[0], to_worker[1]),
            ProcessLink.from_fds(to_worker[0], to_console[1]))


def read_into(link: ProcessLink, bus: LinkedEventBus | None, out: queue.Queue) -> threading.Thread:
    """Read `link` on a thread as the console and the worker do: events go to `bus`,
    everything also to `out`, and None when the other end closed."""
    def read() -> None:
        for kind, message in link.receive():
            if kind == EVENT and bus is not None:
                bus.deliver(message)
            out.put((kind, message))
        out.put(None)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def test_events_cross_both_ways_with_their_bytes_and_are_not_echoed():
    console_end, worker_end = linked_pair()
    console, worker = LinkedEventBus(link=console_end), LinkedEventBus(link=worker_end)
    seen = {"console": queue.Queue(), "worker": queue.Queue()}
    console.subscribe(seen["console"].put)
    worker.subscribe(seen["worker"].put)
    read_into(console_end, console, queue.Queue())
    read_into(worker_end, worker, queue.Queue())

    jpeg = bytes(range(256)) * 300  # every byte value, larger than one pipe write
    frame = Event(SCREENSHOT, 7, {"jpeg": jpeg, "step": "open", "other": b""})
    worker.publish(frame)
    control = Event(CONTROL, 7, {"action": "cancel", "by": "ann"}, id=41)
    console.publish(control)

    def two(side: str) -> dict[str, Event]:
        return {e.kind: e for e in (seen[side].get(timeout=5), seen[side].get(timeout=5))}

    assert two("worker") == two("console") == {SCREENSHOT: frame, CONTROL: control}
    worker.close()
    console.close()
    assert seen["console"].empty() and seen["worker"].empty()  # nothing came back


def test_wake_ups_and_the_hello_arrive_and_a_closed_end_is_the_end():
    console_end, worker_end = linked_pair()
    at_console, at_worker = queue.Queue(), queue.Queue()
    console_reader = read_into(console_end, None, at_console)
    worker_reader = read_into(worker_end, None, at_worker)

    worker_end.send_hello(worker_id="host:1:abc", pid=1)
    console_end.send_wake()
    assert at_console.get(timeout=5) == (HELLO, {"worker_id": "host:1:abc", "pid": 1})
    assert at_worker.get(timeout=5) == (WAKE, None)

    console_end.close()  # the console is gone: the worker reads the end of its stdin
    assert at_worker.get(timeout=5) is None
    worker_reader.join(5)
    worker_end.close()
    assert at_console.get(timeout=5) is None
    console_reader.join(5)
    assert not worker_reader.is_alive() and not console_reader.is_alive()
