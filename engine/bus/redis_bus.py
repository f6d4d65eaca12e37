"""The event bus across processes (REDIS_URL): Redis pub/sub on one channel.

Each process delivers its own events to its own subscribers at once (as the local bus
does) and hands them to a sender thread for Redis, so a job never waits on Redis. A
listener thread delivers the other processes' events. Messages are signed with the
installation's key (like the queue's), so whoever can publish to Redis cannot fake a
job's progress or an approval request. Events are hints (the database is the truth):
whenever events may have been missed (the listener reconnected, or a sender had to drop
some), RESYNC tells pages and streams to re-read the database.
"""

import base64
import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import uuid

from redis.exceptions import RedisError

from engine.bus.events import RESYNC, SCREENSHOT, Event, LocalEventBus, Subscriber
from engine.bus.redis_link import redis_client

log = logging.getLogger(__name__)
MAX_WAITING = 2000  # events held for Redis while it is unreachable; then new ones are dropped
RETRY_S = 0.5


def encode(event: Event, origin: str, key: bytes) -> bytes:
    data = {k: v for k, v in event.data.items() if not isinstance(v, bytes)}
    binary = {k: base64.b64encode(v).decode() for k, v in event.data.items()
              if isinstance(v, bytes)}
    body = json.dumps({"o": origin, "k": event.kind, "j": event.job_id, "i": event.id,
                       "d": data, "b": binary}, default=str).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest().encode() + b"." + body


def decode(raw: bytes, key: bytes) -> tuple[str, Event]:
    """ValueError when the message is not signed with `key` or malformed."""
    signature, _, body = raw.partition(b".")
    if not hmac.compare_digest(signature, hmac.new(key, body, hashlib.sha256)
                               .hexdigest().encode()):
        raise ValueError("wrong signature")
    m = json.loads(body)
    data = {**m["d"], **{k: base64.b64decode(v) for k, v in m["b"].items()}}
    return m["o"], Event(m["k"], m["j"], data, m["i"])


class RedisEventBus:
    def __init__(self, url: str, prefix: str, key: bytes):
        self.channel = f"{prefix}:events"
        self.origin = uuid.uuid4().hex
        self._key = key
        self._local = LocalEventBus()
        self._redis = redis_client(url, prefix)
        self._outbox: queue.Queue[Event] = queue.Queue(MAX_WAITING)
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._dropped = 0
        self._failing = False
        threading.Thread(target=self._send_loop, name="jobdeck-bus-send", daemon=True).start()
        threading.Thread(target=self._listen_loop, name="jobdeck-bus-listen",
                         daemon=True).start()

    def publish(self, event: Event) -> None:
        self._local.publish(event)
        if event.kind == SCREENSHOT and self._failing:
            return  # a live frame is stale by the time Redis is back: never hold one
        try:  # encoded (a frame: base64, HMAC) by the sender, not in the job's thread
            self._outbox.put_nowait(event)
        except queue.Full:
            self._dropped += 1
            if self._dropped % 100 == 1:
                log.warning("Redis unreachable: %d events not sent to other processes "
                            "(they re-read the database when it is back)", self._dropped)

    def subscribe(self, callback: Subscriber):
        return self._local.subscribe(callback)

    @property
    def has_subscribers(self) -> bool:
        return self._local.has_subscribers

    def wait_listening(self, timeout: float) -> bool:
        """True once the listener is subscribed (events published after this arrive)."""
        return self._listening.wait(timeout)

    def close(self, flush_seconds: float = 3.0) -> None:
        """Stop, after sending what is waiting (a stopping worker's last job reports)."""
        deadline = time.monotonic() + flush_seconds
        while (self._outbox.unfinished_tasks and time.monotonic() < deadline):
            time.sleep(0.02)
        self._stop.set()

    def _send_loop(self) -> None:
        while not self._stop.is_set():
            try:
                message = encode(self._outbox.get(timeout=1), self.origin, self._key)
            except queue.Empty:
                continue
            while not self._stop.is_set():  # in order: retry this one until it is sent
                try:
                    self._redis.publish(self.channel, message)
                    self._outbox.task_done()
                    if self._failing:
                        self._recovered()
                    break
                except RedisError as exc:
                    if not self._failing:
                        log.warning("Redis unreachable (%s): holding events", exc)
                        self._failing = True
                    self._stop.wait(RETRY_S)

    def _recovered(self) -> None:
        self._failing = False
        if self._dropped:  # the others missed some of this process's events
            self._dropped = 0
            log.info("Redis reachable again; events were dropped: others re-read")
            self._redis.publish(self.channel, encode(Event(RESYNC, 0), self.origin,
                                                      self._key))
        else:
            log.info("Redis reachable again: sending the held events")

    def _listen_loop(self) -> None:
        connected_before, warned = False, 0.0
        while not self._stop.is_set():
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)
                # redis-py reconnects and re-subscribes inside get_message() without a
                # word; whatever was published meanwhile is gone, so say so each time
                pubsub.connection.register_connect_callback(self._on_reconnect)
                self._listening.set()
                if connected_before:
                    self._on_reconnect(None)
                connected_before = True
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None and message["type"] == "message":
                        self._deliver(message["data"])
            except RedisError as exc:
                self._listening.clear()
                if time.monotonic() - warned > 30:
                    warned = time.monotonic()
                    log.warning("lost the Redis event channel (%s); reconnecting", exc)
                self._stop.wait(RETRY_S)
            finally:
                try:
                    if pubsub.connection is not None:  # it goes back to the shared pool
                        pubsub.connection.deregister_connect_callback(self._on_reconnect)
                    pubsub.close()
                except RedisError:
                    pass

    def _on_reconnect(self, _connection) -> None:
        log.info("listening to Redis again: pages re-read the database")
        self._local.publish(Event(RESYNC, 0))

    def _deliver(self, raw: bytes) -> None:
        try:
            origin, event = decode(raw, self._key)
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a message on %s that no Jobdeck process of this "
                        "installation signed", self.channel)
            return
        if origin != self.origin:
            self._local.publish(event)
