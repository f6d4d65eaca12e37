"""A real HTTP receiver on 127.0.0.1 for notification tests: it records every request
(method, path, headers, body, the status it got) and answers 200, or the status a test
sets for a path, or the next of the statuses a test queued, or a redirect a test set."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.notify.detect import start_cursor
from engine.settings import Settings


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int = 200
    method: str = "POST"


@dataclass
class Receiver:
    port: int
    posts: list[Received] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)  # path -> status; default 200
    queued: list[int] = field(default_factory=list)  # the next answers, whatever the path
    redirects: dict[str, str] = field(default_factory=dict)  # path -> Location (a 302)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def to(self, path: str, answered: int | None = None) -> list[Received]:
        """The posts to `path` (and answered `answered`, when given), in order."""
        return [p for p in self.posts if p.path.split("?")[0] == path
                and answered in (None, p.answered)]

    def clear(self) -> None:
        self.posts.clear()
        self.answers.clear()
        self.queued.clear()
        self.redirects.clear()


def start_receiver() -> tuple[Receiver, ThreadingHTTPServer]:
    """A receiver serving on a thread of its own; shut the server down when done."""
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.split("?")[0]
            location = receiver.redirects.get(path)
            status = 302 if location else (receiver.queued.pop(0) if receiver.queued
                                           else receiver.answers.get(path, 200))
            receiver.posts.append(Received(self.path, dict(self.headers.items()), body, status,
                                           self.command))
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        do_GET = do_PUT = do_POST  # noqa: N815 (a followed redirect may come as a GET)

        def log_message(self, *args) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(server.server_address[1])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver, server


# Fixtures for the engine's notification tests (imported by their modules).
@pytest.fixture(scope="module")
def receiver():
    found, server = start_receiver()
    yield found
    server.shutdown()


@pytest.fixture
def settings(tmp_path, site_port, receiver) -> Settings:
    """conftest's settings, with the receiver allowed and quick retries."""
    return Settings(data_dir=tmp_path / "data", workers=1, lease_seconds=30,
                    allow_private_hosts=f"127.0.0.1:{site_port},127.0.0.1:{receiver.port}",
                    sweep_interval_seconds=3600, database_url=None, redis_url=None,
                    notify_retry_seconds="1,1", notify_unhealthy_after=2)


@pytest.fixture
def ready(runtime, receiver):
    """Records open, the notifier's cursor placed (as the console does at start)."""
    start_cursor()
    receiver.clear()
    return receiver
