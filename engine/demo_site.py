"""Offline demo website for example runbooks and tests.

Example browser-automation runbooks and the test suite need a target site that is always
available, deterministic and free of network access. This small Starlette app (no NiceGUI)
provides one: login, paginated quotes, a table, late-loading content, a download, a form,
ambiguous buttons, a slow page, a redirect, a console error and a long page (frames,
dialogs, tabs, upload, Basic auth, drag and drop etc. are in engine.demo_real_web). The console
mounts it at ``/demo``; every link is built from the scope's ``root_path`` so it also works
served standalone at ``/``.
"""

from __future__ import annotations

import asyncio
import json
import random

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from engine import demo_real_web, demo_recovery
from engine.demo_html import DEMO_PASSWORD, DEMO_USER
from engine.demo_html import base as _base
from engine.demo_html import esc as _e
from engine.demo_html import page as _page

PAGE_SIZE = 10
SESSION_COOKIE = "demo_session"

_Q = [  # (text, author, tags)
    ("The only way to do great work is to love what you do.", "Steve Jobs", ["work", "love"]),
    ("Simple is better than complex.", "Tim Peters", ["python", "design"]),
    ("Talk is cheap. Show me the code.", "Linus Torvalds", ["code"]),
    ("Premature optimization is the root of all evil.", "Donald Knuth", ["performance"]),
    ('He said "it works on my machine", and left.', "Anonymous", ["humor", "ops"]),
    ("Coffee at the Café, then code — always in that order.", "Zoë Müller", ["coffee", "habits"]),
    ("A naïve solution, shipped today, beats a perfect one, shipped never.", "Jürgen Weiß",
     ["shipping", "pragmatism"]),
    ("First, solve the problem. Then, write the code.", "John Johnson", ["code", "thinking"]),
    ("Make it work, make it right, make it fast.", "Kent Beck", ["design", "performance"]),
    ("Programs must be written for people to read.", "Harold Abelson", ["readability"]),
    ("Any fool can write code that a computer can understand.", "Martin Fowler",
     ["readability", "code"]),
    ("Weeks of coding can save you hours of planning.", "Unknown", ["humor", "planning"]),
    ('The word "done" means tested, documented, and deployed.', "Team Handbook", ["process"]),
    ("Errors should never pass silently.", "Tim Peters", ["python", "errors"]),
    ("Deleted code is debugged code.", "Jeff Sickel", ["code"]),
    ("Simplicity — the art of maximizing the amount of work not done — is essential.",
     "Agile Manifesto", ["process", "simplicity"]),
    ("Ça ne marche pas? Essaie encore, doucement.", "Élodie Laurent", ["français", "patience"]),
    ("Measure twice, cut once.", "Proverb", ["planning"]),
    ("If it hurts, do it more often.", "Jez Humble", ["ops", "process"]),
    ("There are only two hard things: cache invalidation, naming things, and off-by-one errors.",
     "Phil Karlton (amended)", ["humor", "naming"]),
    ("Automate the boring stuff, then “enjoy” the rest.", "Al Sweigart", ["automation"]),
    ("Fast, good, cheap: pick two.", "Folk wisdom", ["tradeoffs"]),
    ("Straße, façade, smörgåsbord — UTF-8 handles them all.", "Unicode Fan", ["unicode"]),
    ("Readability counts.", "Tim Peters", ["python", "readability"]),
    ("The best error message is the one that never shows up.", "Thomas Fuchs", ["errors", "ux"]),
]
QUOTES: list[dict] = [{"text": t, "author": a, "tags": list(g)} for t, a, g in _Q]

_CUSTOMERS = ["Acme Corp", "Globex", "Initech", "Umbrella", "Stark Industries", "Café Noir"]
_STATUSES = ["paid", "open", "overdue"]
INVOICES: list[dict] = [
    {
        "number": f"INV-{1001 + i}",
        "customer": _CUSTOMERS[i % len(_CUSTOMERS)],
        "amount": f"{(i + 1) * 125.5 + (i % 3) * 10:.2f}",
        "status": _STATUSES[i % len(_STATUSES)],
    }
    for i in range(12)
]

REPORT_CSV: str = (
    "number,customer,amount,status,note\r\n"
    'INV-1001,Acme Corp,125.50,paid,"Paid early, thanks"\r\n'
    'INV-1002,Café Noir,261.00,open,"Customer said ""next week"""\r\n'
    "INV-1003,Initech,396.50,overdue,Naïve reminder sent — no reply\r\n"
)

def _not_found(request: Request) -> HTMLResponse:
    home = _e(_base(request) + "/")
    return _page("Not found", f'<p>No such page. <a href="{home}">Home</a></p>', 404)


async def index(request: Request) -> HTMLResponse:
    b = _base(request)
    links = [
        ("login", "Login"), ("quotes/page/1", "Quotes"), ("table", "Invoice table"),
        ("late", "Late content"), ("download", "Download"), ("form", "Form"),
        ("ambiguous", "Ambiguous buttons"), ("slow?seconds=5", "Slow page"),
        ("redirect?to=table", "Redirect"), ("console-error", "Console error"),
        ("long", "Long page"), ("comments", "Comments"), ("frames", "Frames"),
        ("dialogs", "Dialogs"), ("tabs", "Tabs"), ("upload", "Upload"),
        ("basic-auth", "Basic auth"), ("drag", "Drag"), ("status/500", "Status 500"),
        ("page-error", "Page error"), ("files/notes.txt", "Notes file"),
    ]
    items = "".join(
        f'<li><a data-testid="nav-{_e(p.split("?")[0].split("/")[0])}" '
        f'href="{_e(b + "/" + p)}">{_e(label)}</a></li>'
        for p, label in links
    )
    return _page("Jobdeck demo site",
                 f"<p>An offline site for demos and tests.</p><ul>{items}</ul>")


def _login_form(request: Request, error: str = "") -> HTMLResponse:
    err = f'<p class="error" role="alert">{_e(error)}</p>' if error else ""
    action = _e(_base(request) + "/login")
    return _page("Login", f"""{err}<form method="post" action="{action}" data-testid="login-form">
<label for="username">Username</label>
<input id="username" name="username" placeholder="Username" data-testid="username">
<label for="password">Password</label>
<input id="password" name="password" type="password" placeholder="Password"
 data-testid="password">
<p><button type="submit" data-testid="login-submit">Sign in</button></p></form>""")


async def login(request: Request) -> Response:
    if request.method == "GET":
        return _login_form(request)
    form = await request.form()
    if form.get("username") == DEMO_USER and form.get("password") == DEMO_PASSWORD:
        b = _base(request)
        resp = RedirectResponse(b + "/quotes/page/1", status_code=303)
        resp.set_cookie(SESSION_COOKIE, "ok", path=b or "/", httponly=True, samesite="lax")
        return resp
    return _login_form(request, "Wrong username or password")


def _quote_html(q: dict) -> str:
    tags = "".join(f'<a class="tag">{_e(t)}</a>' for t in q["tags"])
    return (
        f'<div class="quote"><span class="text">{_e(q["text"])}</span> '
        f'<small class="author">{_e(q["author"])}</small> <div class="tags">{tags}</div></div>'
    )


async def quotes(request: Request) -> HTMLResponse:
    n = request.path_params["n"]
    pages = (len(QUOTES) + PAGE_SIZE - 1) // PAGE_SIZE
    if not 1 <= n <= pages:
        return _not_found(request)
    b = _base(request)
    who = "Signed in as demo" if request.cookies.get(SESSION_COOKIE) == "ok" else "Not signed in"
    body = "".join(_quote_html(q) for q in QUOTES[(n - 1) * PAGE_SIZE : n * PAGE_SIZE])
    pager = ""
    if n > 1:
        pager += (f'<li class="previous"><a data-testid="pager-previous" '
                  f'href="{_e(f"{b}/quotes/page/{n - 1}")}">Previous</a></li>')
    if n < pages:
        pager += (f'<li class="next"><a data-testid="pager-next" '
                  f'href="{_e(f"{b}/quotes/page/{n + 1}")}">Next</a></li>')
    return _page(f"Quotes – page {n}", f'<p><span id="whoami">{who}</span></p>{body}'
                 f'<ul class="pager">{pager}</ul>')


SLOW_LIST_PAGES, SLOW_LIST_ROWS = 10, 10


async def slow_list(request: Request) -> Response:
    """A paginated list whose pages arrive in parts: the document commits at once, half of
    its rows 25-200 ms later, the rest and the pager 25-200 ms after that, as on a slow
    real site (a loop that reads a page before it has loaded misses rows)."""
    n = request.path_params["n"]
    if not 1 <= n <= SLOW_LIST_PAGES:
        return _not_found(request)
    first = (n - 1) * SLOW_LIST_ROWS + 1
    rows = [f'<li class="row">Row {k}</li>' for k in range(first, first + SLOW_LIST_ROWS)]
    half = SLOW_LIST_ROWS // 2
    pager = (f'<li class="next"><a href="{_e(f"{_base(request)}/slow-list/page/{n + 1}")}">'
             "Next</a></li>" if n < SLOW_LIST_PAGES else "")

    async def parts():
        yield f"<!DOCTYPE html><html><head><title>Slow list {n}</title></head><body>"
        await asyncio.sleep(random.uniform(0.025, 0.2))
        yield f'<h1>Slow list, page {n}</h1><ul id="rows">{"".join(rows[:half])}'
        await asyncio.sleep(random.uniform(0.025, 0.2))
        yield f'{"".join(rows[half:])}</ul><ul>{pager}</ul></body></html>'

    return StreamingResponse(parts(), media_type="text/html; charset=utf-8")


async def table(request: Request) -> HTMLResponse:
    cols = ("number", "customer", "amount", "status")
    head = "".join(f"<th>{c.title()}</th>" for c in cols)
    rows = "".join(
        "<tr>" + "".join(f'<td class="{c}">{_e(inv[c])}</td>' for c in cols) + "</tr>"
        for inv in INVOICES
    )
    return _page("Invoices", f'<table id="invoices" data-testid="invoices"><thead><tr>{head}'
                 f"</tr></thead><tbody>{rows}</tbody></table>")


async def late(request: Request) -> HTMLResponse:
    try:
        delay = max(0, min(int(request.query_params.get("delay_ms", "1500")), 60_000))
    except ValueError:
        delay = 1500
    script = f"""<script>setTimeout(function () {{
  var ul = document.getElementById("late-list");
  for (var i = 1; i <= 5; i++) {{
    var li = document.createElement("li"); li.className = "late-item";
    li.textContent = "Item " + i; ul.appendChild(li);
  }}
  document.getElementById("load-more").hidden = false;
}}, {json.dumps(delay)});</script>"""
    return _page("Late content", f'<p>Items appear after {delay} ms.</p>'
                 '<ul id="late-list" data-testid="late-list"></ul>'
                 '<button id="load-more" data-testid="load-more" hidden>Load more</button>'
                 + script)


async def download(request: Request) -> HTMLResponse:
    return _page("Download", '<p><a id="download-report" data-testid="download-report" '
                 'href="files/report.csv">Download report</a></p>')


async def report_csv(request: Request) -> Response:
    return Response(
        REPORT_CSV.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="report.csv"'},
    )


_FORM_FIELDS = ("name", "email", "plan", "newsletter", "comment")


async def form(request: Request) -> HTMLResponse:
    if request.method == "POST":
        data = await request.form()
        values = {f: str(data.get(f, "")) for f in _FORM_FIELDS}
        values["newsletter"] = "on" if data.get("newsletter") else "off"
        items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in values.items())
        return _page("Form result", f'<dl id="result" data-testid="result">{items}</dl>')
    action = _e(_base(request) + "/form")
    opts = "".join(f'<option value="{v}">{v.title()}</option>' for v in ("basic", "pro", "team"))
    return _page("Form", f"""<form method="post" action="{action}" data-testid="demo-form">
<label for="name">Full name</label><input id="name" name="name" data-testid="name">
<label for="email">Email</label>
<input id="email" name="email" type="email" data-testid="email">
<label for="plan">Plan</label><select id="plan" name="plan" data-testid="plan">{opts}</select>
<label for="newsletter"><input id="newsletter" name="newsletter" type="checkbox"
 data-testid="newsletter"> Subscribe to newsletter</label>
<label for="comment">Comment</label>
<textarea id="comment" name="comment" data-testid="comment"></textarea>
<div id="hover-target" data-testid="hover-target">Hover me</div>
<div id="hover-info" data-testid="hover-info" hidden>Extra info revealed by hover</div>
<p><button type="submit" data-testid="form-submit">Send</button></p></form>
<script>document.getElementById("hover-target").addEventListener("mouseenter", function () {{
  document.getElementById("hover-info").hidden = false; }});</script>""")


async def ambiguous(request: Request) -> HTMLResponse:
    return _page("Ambiguous buttons", '<button class="dup" data-testid="dup-1">Continue</button> '
                 '<button class="dup" data-testid="dup-2">Continue</button> '
                 '<button id="unique" data-testid="unique">Unique</button>')


async def slow(request: Request) -> HTMLResponse:
    try:
        seconds = float(request.query_params.get("seconds", "30"))
    except ValueError:
        seconds = 30.0
    seconds = max(0.0, min(seconds, 60.0))
    await asyncio.sleep(seconds)
    return _page("Slow page", f"<p>Answered after {seconds:g} s.</p>")


async def redirect(request: Request) -> Response:
    """Redirects to `to`: anywhere on the tests' own demo server (the URL policy's tests
    need that), only within the site where the console serves it (no open redirect on the
    console's address)."""
    to = request.query_params.get("to")
    if not to:
        return _page("Redirect", "<p>Missing <code>to</code> parameter.</p>", 400)
    if not request.app.state.open_redirect and (
            not to.startswith("/") or to.startswith(("//", "/\\"))):
        return _page("Redirect", "<p>Only paths on this site, like <code>/table</code>.</p>",
                     400)
    return RedirectResponse(to, status_code=302)


async def console_error(request: Request) -> HTMLResponse:
    return _page("Console error", "<p>This page logs an error to the console.</p>"
                 '<script>console.error("demo failure: widget missing");</script>')


async def long_page(request: Request) -> HTMLResponse:
    return _page("Long page", '<div style="height:3000px">Scroll down…</div>'
                 '<div id="bottom" data-testid="bottom">Bottom</div>')


COMMENTS = [
    "Great service, will order again.",
    "<img src=x onerror=alert(1)> <b>bold?</b>",
    "<script>alert('hi')</script>",
]


async def comments(request: Request) -> HTMLResponse:
    """User-written text that looks like markup: it must stay text wherever it is shown."""
    items = "".join(f'<li class="comment">{_e(c)}</li>' for c in COMMENTS)
    return _page("Comments", f'<ul id="comments">{items}</ul>')


async def animated(request: Request) -> HTMLResponse:
    """A page that keeps changing, then shows #done after `ms` (default 3000): a busy step."""
    try:
        ms = max(0, min(int(request.query_params.get("ms", "3000")), 60_000))
    except ValueError:
        ms = 3000
    script = f"""<script>const t0 = performance.now();
(function tick() {{ const left = {ms} - (performance.now() - t0);
  document.getElementById("clock").textContent = Math.max(0, left).toFixed(0) + " ms left";
  document.getElementById("bar").style.width = (100 * (1 - Math.max(0, left) / {ms}) || 100) + "%";
  if (left > 0) requestAnimationFrame(tick);
  else document.getElementById("done").hidden = false; }})();</script>"""
    return _page("Working", '<p id="clock" style="font-size:3rem"></p>'
                 '<div style="background:#ddd;height:2rem"><div id="bar" '
                 'style="background:#3b5bdb;height:2rem;width:0"></div></div>'
                 '<p id="done" hidden>Done</p>' + script)


async def frozen(request: Request) -> HTMLResponse:
    """A page whose script keeps it busy for `ms` (default 8000) once loaded: nothing can
    paint it meanwhile, so a screenshot of it times out."""
    try:
        ms = max(0, min(int(request.query_params.get("ms", "8000")), 60_000))
    except ValueError:
        ms = 8000
    return _page("Frozen", "<p>Busy…</p><script>addEventListener('load', () => setTimeout("
                 f"() => {{ const end = Date.now() + {ms}; while (Date.now() < end) {{}} }}));"
                 "</script>")


async def _on_404(request: Request, exc: Exception) -> HTMLResponse:
    return _not_found(request)


def create_demo_app(open_redirect: bool = False) -> Starlette:
    """Build the demo site; mount it anywhere (e.g. ``Mount("/demo", create_demo_app())``).
    `open_redirect`: /redirect goes to any URL (for the URL policy's tests only)."""
    routes = [
        Route("/", index),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/quotes/page/{n:int}", quotes),
        Route("/table", table),
        Route("/late", late),
        Route("/download", download),
        Route("/files/report.csv", report_csv),
        Route("/form", form, methods=["GET", "POST"]),
        Route("/ambiguous", ambiguous),
        Route("/slow", slow),
        Route("/slow-list/page/{n:int}", slow_list),
        Route("/redirect", redirect),
        Route("/console-error", console_error),
        Route("/long", long_page),
        Route("/comments", comments),
        Route("/animated", animated),
        Route("/frozen", frozen),
        *demo_real_web.routes(),
        *demo_recovery.routes(),
    ]
    app = Starlette(routes=routes, exception_handlers={404: _on_404})
    app.state.open_redirect = open_redirect
    return app
