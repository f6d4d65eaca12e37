"""The network guard: a filtering forward proxy for one job's browser context.

Every request of the job's browser — navigations, each redirect hop, sub-resources,
fetch/XHR, WebSockets (Chromium tunnels them with CONNECT), downloads — reaches the network
only through this proxy, which the context is created with (Playwright's per-context
`proxy`). For each connection it resolves the name, judges every address it resolves to
(engine/runner/url_policy.py), and connects to the address it judged, so a name that
resolves differently a moment later (DNS rebinding) cannot slip through. It never changes
what is sent: each request goes upstream once, bodies stream through in both directions
unbuffered, and it sets no timeout of its own (the step's timeout is the only one).

Why a proxy of our own: the choice is argued in docs/security.md ("The network guard").
HTTP/1.1 framing is h11's (the parser httpx and uvicorn use), not ours; HTTPS and WebSocket
traffic is a CONNECT tunnel whose bytes are relayed as they are (RFC 9110 §9.3.6).
"""

import asyncio
import logging
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11

from engine.runner.url_policy import UrlPolicy

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
# Hop-by-hop fields (RFC 9110 §7.6.1) are the proxy's own, never forwarded.
HOP_BY_HOP = {b"connection", b"keep-alive", b"proxy-connection", b"proxy-authorization",
              b"proxy-authenticate", b"te", b"trailer", b"upgrade"}

Blocked = Callable[[str, str], None]  # (url, reason): called for every blocked request


@dataclass
class Upstream:
    """A connection to a server: its (address, port), h11 state and streams."""

    key: tuple[str, int]
    conn: h11.Connection
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


class CutOff(ConnectionError):
    """A connection received more than the armed cap: it is closed, both ways."""


class NetworkGuard:
    """One job's proxy on 127.0.0.1 (a port of its own, so it knows whose requests it
    sees). `start()` returns its URL for Playwright's `proxy={"server": …}`."""

    def __init__(self) -> None:
        self.policy: UrlPolicy | None = None  # none yet (a spare context): all blocked
        self.on_blocked: Blocked = lambda url, reason: None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task] = set()
        # While a download step runs: no connection may receive more than `cap` bytes
        # from then on (HTTPS counted as tunnel bytes, which a download is almost all of).
        self.cap: int | None = None
        self.cut_off: list[str] = []  # host:port of the connections cut at the cap
        self._received: dict[object, list[int]] = {}  # open connection -> [bytes, at arming]

    def arm(self, cap: int) -> None:
        """From now on, cut any connection as soon as it receives more than `cap` bytes:
        a download over the limit stops there, however fast it comes."""
        self.cap, self.cut_off = cap, []
        for counts in self._received.values():
            counts[1] = counts[0]

    def disarm(self) -> None:
        self.cap = None

    def use(self, policy: UrlPolicy, on_blocked: Blocked) -> None:
        """The job's policy, and whom to tell about each blocked request: `on_blocked` is
        called on the caller's loop, queued there before the browser hears the refusal."""
        loop = asyncio.get_running_loop()

        def blocked(url: str, reason: str) -> None:
            loop.call_soon_threadsafe(on_blocked, url, reason)

        self.policy, self.on_blocked = policy, blocked

    async def start(self) -> str:
        """Listen on a free loopback port (on the guards' own loop); returns the proxy URL."""
        return await _on_guard_loop(self._start())

    async def _start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        await _on_guard_loop(self._close())

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._requests(reader, writer)
        except (ConnectionError, h11.ProtocolError, asyncio.IncompleteReadError):
            pass  # the browser or the server hung up: nothing to answer
        except asyncio.CancelledError:
            pass  # the job's guard closes: its connections end with it, quietly
        finally:
            self._connections.discard(task)
            writer.close()

    async def _requests(self, reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter) -> None:
        client = h11.Connection(h11.SERVER)
        kept: list[Upstream] = []  # the last server connection, while it may be reused
        try:
            while True:
                event = await _next_event(client, reader)
                if not isinstance(event, h11.Request):
                    return  # the browser closed the connection
                if event.method == b"CONNECT":
                    await self._tunnel(event, client, reader, writer)
                    return
                if not await self._forward(event, client, reader, writer, kept):
                    return
                if client.our_state is not h11.DONE or client.their_state is not h11.DONE:
                    return
                client.start_next_cycle()
        finally:
            for upstream in kept:
                upstream.writer.close()

    async def _admit(self, url: str, host: str, port: int) -> str | None:
        """The address to connect to, or None when the request is blocked (reported)."""
        address: str | None
        reason: str | None
        if self.policy is None:
            address, reason = None, "the context belongs to no job yet"
        else:
            address, reason = await self.policy.admit(host, port)
        if reason is not None:
            self.on_blocked(url, reason)
            return None
        return address

    async def _tunnel(self, request: h11.Request, client: h11.Connection,
                      reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """CONNECT host:port (HTTPS, WebSockets): judged once, then bytes both ways."""
        target = request.target.decode("latin-1")
        host, _, port_text = target.rpartition(":")
        host = host.strip("[]")
        port = int(port_text) if port_text.isdigit() else 443
        url = f"{'https' if port != 80 else 'http'}://{target}/"
        address = await self._admit(url, host, port)
        if address is None:
            await _refuse(client, writer, 403, "blocked by the URL policy")
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(address, port)
        except OSError as exc:
            await _refuse(client, writer, 502, f"cannot connect to {target}: {exc}")
            return
        writer.write(client.send(h11.Response(status_code=200, headers=[])))
        await writer.drain()
        leftover, _ = client.trailing_data
        if leftover:
            up_writer.write(leftover)
        with self._registered((host.lower(), port), up_writer) as count:
            await _relay(reader, writer, up_reader, up_writer, count)

    async def _forward(self, request: h11.Request, client: h11.Connection,
                       reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       kept: list["Upstream"]) -> bool:
        """A plain-HTTP request in absolute form: judged, sent upstream once, its answer
        streamed back. The server connection is kept for the browser connection's next
        request to the same address (HTTP/1.1 keep-alive). False when the browser's
        connection must close."""
        url = request.target.decode("latin-1")
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            await _refuse(client, writer, 400, "a proxy request needs an absolute http URL")
            return False
        port = parts.port or 80
        address = await self._admit(url, parts.hostname, port)
        if address is None:
            await _refuse(client, writer, 403, "blocked by the URL policy")
            return False
        # Only a safe method goes on a kept connection: if the server closed it meanwhile,
        # the browser may resend a GET, never a POST that might have been received.
        safe = request.method in (b"GET", b"HEAD", b"OPTIONS")
        reuse = kept.pop() if safe and kept and kept[0].key == (address, port) else None
        for stale in kept:
            stale.writer.close()
        kept.clear()
        if reuse is not None and reuse.conn.our_state is h11.DONE and (
                reuse.conn.their_state is h11.DONE):
            reuse.conn.start_next_cycle()
            upstream = reuse
        else:
            if reuse is not None:
                reuse.writer.close()
            try:
                up_reader, up_writer = await asyncio.open_connection(address, port)
            except OSError as exc:
                await _refuse(client, writer, 502, f"cannot connect to {parts.netloc}: {exc}")
                return False
            upstream = Upstream((address, port), h11.Connection(h11.CLIENT), up_reader,
                                up_writer)
        origin_form = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        with self._registered((parts.hostname.lower(), port), upstream.writer) as count:
            done = await self._exchange(request, client, reader, writer, upstream.conn,
                                        upstream.reader, upstream.writer, origin_form, count)
        if done and upstream.conn.our_state is h11.DONE and (
                upstream.conn.their_state is h11.DONE):
            kept.append(upstream)
        else:
            upstream.writer.close()
        return done

    async def _exchange(self, request: h11.Request, client: h11.Connection,
                        reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        upstream: h11.Connection, up_reader: asyncio.StreamReader,
                        up_writer: asyncio.StreamWriter, origin_form: str,
                        count: Callable[[int], None]) -> bool:
        try:
            headers = [(k, v) for k, v in request.headers if k not in HOP_BY_HOP]
            up_writer.write(upstream.send(h11.Request(
                method=request.method, target=origin_form.encode("latin-1"),
                headers=headers)))
            while True:  # the request body, as it comes
                event = await _next_event(client, reader)
                if isinstance(event, h11.Data):
                    up_writer.write(upstream.send(h11.Data(data=event.data)))
                    await up_writer.drain()
                elif isinstance(event, h11.EndOfMessage):
                    up_writer.write(upstream.send(h11.EndOfMessage()))
                    await up_writer.drain()
                    break
                else:
                    return False
            while True:  # the answer, as it comes
                event = await _next_event(upstream, up_reader)
                if isinstance(event, (h11.InformationalResponse, h11.Response)):
                    headers = [(k, v) for k, v in event.headers if k not in HOP_BY_HOP]
                    kind = type(event)
                    writer.write(client.send(kind(status_code=event.status_code,
                                                  headers=headers, reason=event.reason)))
                elif isinstance(event, h11.Data):
                    count(len(event.data))
                    writer.write(client.send(h11.Data(data=event.data)))
                    await writer.drain()
                elif isinstance(event, h11.EndOfMessage):
                    writer.write(client.send(h11.EndOfMessage()))
                    await writer.drain()
                    return True
                else:  # the server hung up mid-answer
                    return False
        except BaseException:
            up_writer.close()
            raise

    @contextmanager
    def _registered(self, origin: tuple[str, int], up_writer: asyncio.StreamWriter):
        """While a connection to `origin` is open, the function this yields counts what it
        receives, and raises CutOff when that passes the armed cap."""
        counts = self._received[up_writer] = [0, 0]

        def count(n: int) -> None:
            counts[0] += n
            if self.cap is not None and counts[0] - counts[1] > self.cap:
                self.cut_off.append(f"{origin[0]}:{origin[1]}")
                raise CutOff(f"over {self.cap} bytes from {origin[0]}:{origin[1]}")

        try:
            yield count
        finally:
            del self._received[up_writer]


_loop: dict[str, asyncio.AbstractEventLoop] = {}
_loop_lock = threading.Lock()


def _guard_loop() -> asyncio.AbstractEventLoop:
    """The loop every guard of this process relays on: a thread of its own, so that bytes
    flow while the browser loop is busy with the jobs' Playwright messages (a download
    sends Chromium's progress there many times a second)."""
    with _loop_lock:
        if "loop" not in _loop:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="jobdeck-network-guard",
                             daemon=True).start()
            _loop["loop"] = loop
        return _loop["loop"]


async def _on_guard_loop(coro):
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, _guard_loop()))


async def _next_event(conn: h11.Connection, reader: asyncio.StreamReader):
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        conn.receive_data(await reader.read(CHUNK))


async def _refuse(client: h11.Connection, writer: asyncio.StreamWriter, status: int,
                  text: str) -> None:
    body = f"Jobdeck: {text}\n".encode()
    writer.write(client.send(h11.Response(status_code=status, headers=[
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()), (b"connection", b"close")])))
    writer.write(client.send(h11.Data(data=body)))
    writer.write(client.send(h11.EndOfMessage()))
    await writer.drain()


async def _relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter,
                 count: Callable[[int], None]) -> None:
    """Copy bytes both ways until either side closes (a tunnel's whole life); `count`
    hears how many come from the server."""

    async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter,
                   counted: Callable[[int], None] | None) -> None:
        try:
            while data := await src.read(CHUNK):
                if counted:
                    counted(len(data))
                dst.write(data)
                await dst.drain()
        except ConnectionError:
            pass
        finally:
            dst.close()

    await asyncio.gather(pipe(reader, up_writer, None), pipe(up_reader, writer, count))
