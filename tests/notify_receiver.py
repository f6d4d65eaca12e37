"""A real HTTP receiver on 127.0.0.1 for notification tests: it records every POST (path,
headers, body, the status it got) and answers 200, or the status a test sets for a path,
or the next of the statuses a test queued."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int = 200


@dataclass
class Receiver:
    port: int
    posts: list[Received] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)  # path -> status; default 200
    queued: list[int] = field(default_factory=list)  # the next answers, whatever the path

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


def start_receiver() -> tuple[Receiver, ThreadingHTTPServer]:
    """A receiver serving on a thread of its own; shut the server down when done."""
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = (receiver.queued.pop(0) if receiver.queued
                      else receiver.answers.get(self.path.split("?")[0], 200))
            receiver.posts.append(Received(self.path, dict(self.headers.items()), body, status))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(server.server_address[1])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver, server
