"""Demo pages for Retry from step N (docs/recovery.md): a sign-in that counts sign-ins, three
pages of rows behind it, items, and an export that fails when armed. Everything under
`/recovery/{key}/`: each key (a test's own token) has its own sign-ins, sessions and
armed failures, so tests running at the same time do not meet. Part of the offline demo
site (engine.demo_site adds `routes()`)."""

from __future__ import annotations

import secrets
from collections import Counter

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from engine.demo_html import DEMO_PASSWORD, DEMO_USER, base, esc, page

PAGES, PER_PAGE = 3, 4
COOKIE = "recovery_session"

SIGN_INS: Counter[str] = Counter()  # key -> sign-ins so far
SESSIONS: dict[str, set[str]] = {}  # key -> session tokens the site accepts
ARMED: Counter[tuple[str, str]] = Counter()  # (key, what) -> failures still to answer
# The demo site is open without signing in: what any caller can add to stays bounded.
MAX_KEYS, MAX_SESSIONS = 1000, 50


def _bounded(table: dict) -> None:
    """Forget the oldest entries (dicts keep insertion order) beyond MAX_KEYS."""
    while len(table) > MAX_KEYS:
        del table[next(iter(table))]


def _root(request: Request) -> str:
    return f"{base(request)}/recovery/{request.path_params['key']}"


def _signed_in(request: Request) -> bool:
    return request.cookies.get(COOKIE, "") in SESSIONS.get(request.path_params["key"], set())


def _to_login(request: Request) -> Response:
    return RedirectResponse(_root(request) + "/login", status_code=303)


def _fails(request: Request, what: str) -> bool:
    """Whether this request answers the one failure armed for `what` (then disarmed)."""
    armed = (request.path_params["key"], what)
    if ARMED[armed] > 0:
        ARMED[armed] -= 1
        return True
    return False


async def login(request: Request) -> Response:
    key, root = request.path_params["key"], _root(request)
    error = ""
    if request.method == "POST":
        form = await request.form()
        if form.get("username") == DEMO_USER and form.get("password") == DEMO_PASSWORD:
            SIGN_INS[key] += 1
            token = secrets.token_hex(8)
            tokens = SESSIONS.setdefault(key, set())
            if len(tokens) >= MAX_SESSIONS:
                tokens.pop()
            tokens.add(token)
            _bounded(SIGN_INS)
            _bounded(SESSIONS)
            response = RedirectResponse(root + "/rows?page=1", status_code=303)
            response.set_cookie(COOKIE, token, path=root, httponly=True, samesite="lax")
            return response
        error = '<p class="error">Wrong username or password</p>'
    return page("Sign in", f'{error}<form method="post" action="{esc(root)}/login">'
                '<label>Username <input id="username" name="username"></label>'
                '<label>Password <input id="password" name="password" type="password">'
                '</label><button type="submit">Sign in</button></form>')


async def rows(request: Request) -> Response:
    if not _signed_in(request):
        return _to_login(request)
    n = int(request.query_params.get("page", "1") or 1)
    if not 1 <= n <= PAGES:
        return page("No such page", "", status=404)
    body = "".join(f'<tr class="row"><td class="id">P{n}-{i}</td>'
                   f'<td class="amount">{n * 100 + i}</td></tr>' for i in range(1, PER_PAGE + 1))
    more = (f'<a id="next" href="{esc(_root(request))}/rows?page={n + 1}">Next</a>'
            if n < PAGES else "")
    # the page remembers in local storage that it was seen (what a retried job restores)
    seen = f'<script>localStorage.setItem("page-{n}", "seen")</script>'
    return page(f"Rows, page {n}", f'<table id="rows">{body}</table>{more}{seen}')


async def item(request: Request) -> Response:
    if not _signed_in(request):
        return _to_login(request)
    name = request.path_params["item"]
    if _fails(request, f"item-{name}"):
        return page("Server error", "<p>Try again later</p>", status=500)
    return page(f"Item {name}", f'<p id="item">{esc(name)} checked</p>')


async def export(request: Request) -> Response:
    if not _signed_in(request):
        return _to_login(request)
    if _fails(request, "export"):
        return page("Server error", "<p>The export is not available; try again</p>",
                    status=500)
    return page("Export", '<p id="ready">Export ready</p>')


async def arm(request: Request) -> Response:
    """Test-only: the next request for `what` (`export`, `item-P1-2`) answers 500 once."""
    key, what = request.path_params["key"], request.query_params.get("what", "export")
    ARMED[(key, what[:40])] += 1
    _bounded(ARMED)
    return JSONResponse({"armed": what})


async def forget(request: Request) -> Response:
    """Test-only: the site forgets every session of the key (old cookies are refused)."""
    SESSIONS.pop(request.path_params["key"], None)
    return JSONResponse({"sessions": 0})


async def sign_ins(request: Request) -> Response:
    return JSONResponse({"sign_ins": SIGN_INS[request.path_params["key"]]})


def routes() -> list[Route]:
    return [
        Route("/recovery/{key}/login", login, methods=["GET", "POST"]),
        Route("/recovery/{key}/rows", rows),
        Route("/recovery/{key}/item/{item}", item),
        Route("/recovery/{key}/export", export),
        Route("/recovery/{key}/arm", arm, methods=["POST"]),
        Route("/recovery/{key}/forget", forget, methods=["POST"]),
        Route("/recovery/{key}/sign-ins", sign_ins),
    ]
