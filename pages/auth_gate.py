"""The gate in front of every route: who is asking, and may a request from there act.

Deny by default: a request passes only with a valid session cookie or API token, except
for the sign-in page and the demo site (a stand-in website for the examples, holding no
data). A new route is therefore closed until someone opens it here on purpose; a test
enumerates the routes to keep it so.

Pages without a session redirect to the sign-in page; everything else (the API, NiceGUI's
own endpoints, the websocket) answers 401. With the session cookie, a request that can
change something (POST, PUT, PATCH, DELETE, and the websocket the pages act through)
must come from this server's own pages: no cross-site requests with the cookie. Reading
is not restricted, so a link to a job from a chat or a wiki opens it.
"""

import json
from urllib.parse import quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from engine.identity import accounts
from engine.identity.access import Actor

COOKIE = "jobdeck_session"
PUBLIC_PATHS = {"/login"}
PUBLIC_PREFIXES = ("/demo/",)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CROSS_SITE = ("cross-site request refused: send it from the console's own pages, or use an "
              "API token (behind a reverse proxy, pass the Host header through)")


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path == "/demo" or path.startswith(PUBLIC_PREFIXES)


def client_address(scope: Scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


def same_origin(headers: Headers) -> bool:
    """True when the browser says the request comes from this server's own pages
    (Sec-Fetch-Site, else Origin, else Referer, compared with Host); False when it says
    nothing (a browser always does for the requests this guards)."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site:
        return fetch_site == "same-origin"
    origin = headers.get("origin") or headers.get("referer")
    if not origin or origin == "null":
        return False
    return urlsplit(origin).netloc.lower() == headers.get("host", "").lower()


def acts(scope: Scope) -> bool:
    """A request that can change something: any but GET/HEAD/OPTIONS, and the websocket."""
    return scope["type"] == "websocket" or scope.get("method", "GET") not in SAFE_METHODS


class AuthGate:
    def __init__(self, app: ASGIApp, pages: list[str]):
        """`pages`: the paths (patterns) a browser opens; without a session those are sent
        to the sign-in form, everything else answers 401."""
        self.app = app
        self.page_roots = {"/" + p.strip("/").split("/")[0] for p in pages}

    def is_page(self, path: str) -> bool:
        return "/" + path.strip("/").split("/")[0] in self.page_roots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        source = client_address(scope)
        bearer = bearer_token(headers)
        if (bearer is None and session_cookie(headers) and acts(scope)
                and not same_origin(headers)):
            await _refuse(scope, receive, send, 403, CROSS_SITE)
            return
        actor, expired = await run_in_threadpool(identify, headers, source)
        if actor is None:
            if scope["type"] == "http" and bearer is None and self.is_page(scope["path"]):
                await _to_sign_in(scope, receive, send, expired)
            else:
                await _refuse(scope, receive, send, 401, _reason(bearer, expired))
            return
        scope.setdefault("state", {})["actor"] = actor
        await self.app(scope, receive, send)


def identify(headers: Headers, source: str | None) -> tuple[Actor | None, bool]:
    """Who sends these headers (an API token first, else the session cookie), and whether
    their session had expired."""
    bearer = bearer_token(headers)
    if bearer is not None:
        return accounts.token_actor(bearer), False
    return accounts.session_actor(session_cookie(headers), source)


def _reason(bearer: str | None, expired: bool) -> str:
    if bearer is not None:
        return "the API token is not valid (revoked, mistyped or of a disabled user)"
    if expired:
        return "your session expired: sign in again"
    return ("sign in first, or send Authorization: Bearer <token> (create a token on your "
            "account page)")


def bearer_token(headers: Headers) -> str | None:
    kind, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if kind.lower() == "bearer" else None


def session_cookie(headers: Headers) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return None


async def _refuse(scope: Scope, receive: Receive, send: Send, code: int, message: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 4000 + code})  # 4401 / 4403
        return
    body = json.dumps({"detail": message}).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if code == 401:
        head.append((b"www-authenticate", b'Bearer realm="jobdeck"'))
    await send({"type": "http.response.start", "status": code, "headers": head})
    await send({"type": "http.response.body", "body": body})


async def _to_sign_in(scope: Scope, receive: Receive, send: Send, expired: bool) -> None:
    target = scope["path"] + ("?" + scope["query_string"].decode("latin-1")
                              if scope.get("query_string") else "")
    location = f"/login?next={quote(target, safe='')}" + ("&expired=1" if expired else "")
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", location.encode()), (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
