"""The link between the console and its worker process: the child's stdin and stdout.

Without REDIS_URL the two processes share nothing else, so the link carries the events
(both ways: a job's steps and frames to the console, people's actions and viewers to the
worker), a wake-up when the console queued a job, and the child's hello (its worker id).
Messages are framed by multiprocessing.connection (a length, then the bytes); an event is
a JSON header followed by its binary values (JPEG frames) as they are, never a pickle.

Pipes, not a socket: only the two processes hold them, so they need no key, and the
child's end reads end-of-file the moment the console is gone, however it went (killed too,
and also through the one-file build's launcher process). The child moves its stdin and
stdout out of the way as it starts, so a stray print cannot corrupt the link.

A publisher never waits on the pipe: messages go through a bounded outbox that a sender
thread writes. When it is full events are dropped, and once there is room again the other
side is told to re-read the database (RESYNC): events are hints, the database is the truth.
"""

import json
import logging
import queue
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

from engine.bus.events import RESYNC, Event

log = logging.getLogger(__name__)
EVENT, WAKE, HELLO = b"E", b"W", b"H"  # the first byte of every message says what it is
MAX_WAITING = 2000  # messages held while the other side reads slowly; then new ones drop
_STOP = object()


def encode_event(event: Event) -> bytes:
    """E, the header's length (4 bytes), the JSON header, then the binary values in order."""
    binary = {k: v for k, v in event.data.items() if isinstance(v, bytes)}
    head = json.dumps({"k": event.kind, "j": event.job_id, "i": event.id,
                       "d": {k: v for k, v in event.data.items() if k not in binary},
                       "b": [[k, len(v)] for k, v in binary.items()]}, default=str).encode()
    return b"".join([EVENT, len(head).to_bytes(4, "big"), head, *binary.values()])


def decode_event(message: bytes) -> Event:
    """The event `encode_event` made. ValueError (or KeyError) when it is malformed."""
    size = int.from_bytes(message[1:5], "big")
    head = json.loads(message[5:5 + size])
    data, offset = dict(head["d"]), 5 + size
    for key, length in head["b"]:
        data[key], offset = message[offset:offset + length], offset + length
    if offset != len(message):
        raise ValueError("event message of the wrong length")
    return Event(head["k"], head["j"], data, head["i"])


class ProcessLink:
    """One end of the link: send events, wake-ups and a hello; read the other end's."""

    def __init__(self, reader: Connection, writer: Connection):
        self._reader, self._writer = reader, writer
        self._outbox: queue.Queue[Any] = queue.Queue(MAX_WAITING)
        self._dropped = 0
        self._closed = False
        threading.Thread(target=self._send_loop, name="jobdeck-link-send", daemon=True).start()

    @classmethod
    def from_fds(cls, read_fd: int, write_fd: int) -> "ProcessLink":
        return cls(Connection(read_fd, writable=False), Connection(write_fd, readable=False))

    def send_event(self, event: Event) -> None:
        self._put(event)

    def send_wake(self) -> None:
        """A job was queued: the other side's idle workers look at the queue now."""
        self._put(WAKE)

    def send_hello(self, **facts: Any) -> None:
        self._put(HELLO + json.dumps(facts).encode())

    def _put(self, item: Any) -> None:
        if self._closed:
            return
        try:
            self._outbox.put_nowait(item)
        except queue.Full:
            self._dropped += 1
            if self._dropped % 100 == 1:
                log.warning("the other process reads events too slowly: %d dropped (it "
                            "re-reads the database)", self._dropped)

    def _send_loop(self) -> None:
        while True:
            item = self._outbox.get()
            try:
                if item is _STOP:  # this thread alone writes: it closes the writer too
                    self._writer.close()
                    return
                self._writer.send_bytes(encode_event(item) if isinstance(item, Event) else item)
                if self._dropped and self._outbox.empty():  # room again: say what was lost
                    self._dropped = 0
                    self._writer.send_bytes(encode_event(Event(RESYNC, 0)))
            except OSError:  # the other side is gone: whoever reads its end hears so
                pass
            except Exception:
                log.exception("could not send %r to the other process", item)
            finally:
                self._outbox.task_done()

    def receive(self) -> Iterator[tuple[bytes, Any]]:
        """The other side's messages in order, as (EVENT, Event), (WAKE, None) or (HELLO,
        dict), until its end closes: it stopped, died, or closed the link. Call it from
        one thread only; it closes this end's reader when done."""
        try:
            while True:
                try:
                    message = self._reader.recv_bytes()
                except (EOFError, OSError):
                    return
                kind = message[:1]
                try:
                    if kind == EVENT:
                        yield EVENT, decode_event(message)
                    elif kind == WAKE:
                        yield WAKE, None
                    elif kind == HELLO:
                        yield HELLO, json.loads(message[1:])
                    else:
                        log.warning("ignored a message of unknown kind %r on the link", kind)
                except (ValueError, KeyError, TypeError) as exc:
                    log.warning("ignored a malformed message on the link: %s", exc)
        finally:
            self._reader.close()

    def close(self, flush_seconds: float = 3.0) -> None:
        """Send what is waiting (for up to `flush_seconds`), then close this end's writer:
        the other side reads end-of-file. Idempotent."""
        if self._closed:
            return
        deadline = time.monotonic() + flush_seconds
        while self._outbox.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        self._closed = True
        try:
            self._outbox.put(_STOP, timeout=1.0)
        except queue.Full:  # the other side stopped reading: the writer closes at exit
            pass
