"""Limits on what a request may carry, checked once for every route before it runs:

- a body larger than JOBDECK_MAX_UPLOAD_MB + 1 MB answers 413, said by Content-Length or
  counted as it streams in (the start-job route raises the cap for runbooks with several
  file params: `allow_body`);
- NUL and other control characters (and lone UTF-16 surrogates) in the path, the query,
  a JSON body or a form answer 422: PostgreSQL cannot store NUL at all, and none of them
  belongs in a name, a param or a comment (tab, newline and carriage return do);
- a JSON body that Python cannot read (a 5000-digit number, nesting deeper than the
  parser's recursion) answers 422 instead of an internal error.

Files inside multipart bodies are bytes and are not looked at; the start-job route checks
that form's text fields with `refuse_control_characters`."""

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.settings import current_settings

SLACK_BYTES = 1024 * 1024  # a form's framing and text fields beyond the file itself
LIMIT_KEY = "jobdeck.body_limit"  # in the ASGI scope: this request's cap, in bytes
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
FORM_TYPE = "application/x-www-form-urlencoded"


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"the request body is larger than {limit / 1024 / 1024:.0f} MB "
                              "(files may be JOBDECK_MAX_UPLOAD_MB each)")


class ControlCharacters(HTTPException):
    def __init__(self, where: str):
        super().__init__(422, f"{where} holds a NUL or another control character: send "
                              "plain text (tabs and line breaks are fine)")


def default_limit() -> int:
    return current_settings().max_upload_bytes + SLACK_BYTES


def allow_body(scope: Scope, limit: int) -> None:
    """Let this request's body be up to `limit` bytes (call before reading it)."""
    scope[LIMIT_KEY] = limit


def refuse_control_characters(value: Any, where: str) -> None:
    """ControlCharacters (422) if any string in `value` (keys too) holds one."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if CONTROL.search(item):
                raise ControlCharacters(where)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _media_type(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return value.decode("latin-1").split(";")[0].strip().lower()
    return ""


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")  # as FastAPI


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def check_body(media_type: str, body: bytes) -> None:
    """422 for a JSON or form body with control characters or that Python cannot read."""
    if _is_json(media_type) and body.strip():
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):  # JSONDecodeError, too many digits, too deep
            raise HTTPException(422, "the body is not JSON that can be read: check its "
                                     "syntax; numbers may have at most 4300 digits and "
                                     "nesting must stay shallow") from None
        refuse_control_characters(document, "the body")
    elif media_type == FORM_TYPE:
        try:
            fields = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        except (UnicodeDecodeError, ValueError):
            raise HTTPException(422, "the form is not UTF-8 text") from None
        refuse_control_characters([item for pair in fields for item in pair], "a form field")


class RequestLimits:
    """ASGI middleware for the limits above; errors answer `{"detail": message}`."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            receive = await self._checked(scope, receive)
            await self.app(scope, receive, tracked_send)
        except HTTPException as exc:
            if started:  # the route answered already; nothing better can be said now
                raise
            await _answer(send, exc.status_code, exc.detail)

    async def _checked(self, scope: Scope, receive: Receive) -> Receive:
        """The checks that need no route; returns the receive the app is to read."""
        refuse_control_characters(scope["path"], "the path")
        query = scope.get("query_string", b"").decode("latin-1")
        refuse_control_characters([i for pair in parse_qsl(query, keep_blank_values=True)
                                   for i in pair], "the query")
        scope.setdefault(LIMIT_KEY, default_limit())
        media_type = _media_type(scope)
        length = _content_length(scope)
        if media_type != "multipart/form-data" and length and length > scope[LIMIT_KEY]:
            raise BodyTooLarge(scope[LIMIT_KEY])
        counted = _counting(scope, receive)
        if not _is_json(media_type) and media_type != FORM_TYPE:
            return counted  # read (and counted) by the route as it streams
        body = bytearray()
        while True:  # small text bodies: read here, checked, then handed on
            message = await counted()
            if message["type"] != "http.request":
                return _replay(b"", receive, message)
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        check_body(media_type, bytes(body))
        return _replay(bytes(body), receive)


def _counting(scope: Scope, receive: Receive) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > scope[LIMIT_KEY]:  # read at each chunk: a route may raise it
                raise BodyTooLarge(scope[LIMIT_KEY])
        return message
    return counted


def _replay(body: bytes, receive: Receive, then: Message | None = None) -> Receive:
    """A receive that gives `body` once (or `then`, a disconnect while it came), then
    listens to the server's again (for a disconnect while the route answers)."""
    pending: list[Message] = [then or {"type": "http.request", "body": body,
                                       "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()
    return replay


async def _answer(send: Send, status: int, detail: Any) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


# Numbers in paths and queries: ids and offsets fit PostgreSQL's bigint; seconds stay
# within what datetime arithmetic can add to now (a larger one was an internal error).
MAX_INT = 2**63 - 1
MAX_SECONDS = 10 * 366 * 24 * 3600  # ten years
