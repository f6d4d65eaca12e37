"""Demo pages for the "real web" runbook features: frames, dialogs, tabs and pop-ups, file
upload, HTTP Basic auth, drag and drop, arbitrary HTTP statuses, an uncaught page error,
an inline text file, web components (shadow roots), a page that echoes its URL and one
whose banner colour its URL sets (for "Pages that changed"). Part
of the offline demo site (engine.demo_site adds `routes()` to its own); links are built
from the scope's ``root_path`` like the rest of the site.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from engine.demo_html import DEMO_PASSWORD, DEMO_USER, base, esc, page

BASIC_REALM = "Jobdeck demo"
NOTES_TXT = "Notes for the week\n"


def _script(js: str, **values: object) -> str:
    """An inline <script>; each `values` key replaces `$key` with its JSON value."""
    for key, value in values.items():
        js = js.replace(f"${key}", json.dumps(value))
    return f"<script>{js}</script>"


def _mirror(source: str, target: str, prop: str) -> str:
    """Copies `source`'s `prop` into `target`'s text on every input event."""
    return _script("""var src = document.getElementById($s);
src.addEventListener("input", function () {
  document.getElementById($t).textContent = src[$p]; });""", s=source, t=target, p=prop)


async def frames(request: Request) -> HTMLResponse:
    src = esc(base(request) + "/frames/editor")
    return page("Frames", f'<iframe id="editor-frame" src="{src}" '
                'style="width:100%;height:420px;border:1px solid #ccc"></iframe>')


async def frames_editor(request: Request) -> HTMLResponse:
    src = esc(base(request) + "/frames/inner")
    return page("Editor", '<div id="editor" contenteditable="true" '
                'style="border:1px solid #999;min-height:3rem;padding:.3rem"></div>'
                '<p id="echo"></p>' + _mirror("editor", "echo", "textContent")
                + f'<iframe id="inner-frame" src="{src}" '
                'style="width:100%;height:180px;border:1px solid #ccc"></iframe>')


async def frames_inner(request: Request) -> HTMLResponse:
    return page("Inner", '<input id="note" aria-label="Note"><p id="note-echo"></p>'
                + _mirror("note", "note-echo", "value"))


async def dialogs(request: Request) -> HTMLResponse:
    js = """function show(text) { document.getElementById("result").textContent = text; }
document.getElementById("alert").addEventListener("click", function () { alert("Saved"); });
document.getElementById("confirm").addEventListener("click", function () {
  show(confirm("Delete item 42?") ? "deleted" : "kept"); });
document.getElementById("prompt").addEventListener("click", function () {
  var answer = prompt("Your name?");
  show(answer === null ? "no answer" : "hello " + answer); });"""
    return page("Dialogs", '<p><button id="alert">Alert</button> '
                '<button id="confirm">Confirm</button> <button id="prompt">Prompt</button></p>'
                '<p id="result"></p>' + _script(js))


async def tabs(request: Request) -> HTMLResponse:
    report = base(request) + "/tabs/report"
    js = 'document.getElementById("popup").addEventListener("click", function () {' \
         " window.open($url); });"
    return page("Tabs", f'<p><a id="open-report" href="{esc(report)}" target="_blank">'
                'Open report</a></p><p><button id="popup">Open pop-up</button></p>'
                f'<p><a id="same-tab" href="{esc(report)}">Same tab</a></p>'
                + _script(js, url=report + "?via=popup"))


async def tabs_report(request: Request) -> HTMLResponse:
    via = request.query_params.get("via", "")
    return page("Report tab", f'<p id="via">{esc(via)}</p>',
                h1='<h1 id="report-title">Quarterly report</h1>')


async def upload(request: Request) -> HTMLResponse:
    if request.method == "GET":
        action = esc(base(request) + "/upload")
        return page("Upload", f'<form method="post" action="{action}" '
                    'enctype="multipart/form-data"><label for="file">Files</label>'
                    '<input type="file" id="file" name="file" multiple>'
                    '<p><button id="send">Upload</button></p></form>')
    items = []
    async with request.form() as form:
        for part in form.getlist("file"):
            if not isinstance(part, UploadFile) or not part.filename:
                continue  # an empty file input still sends a part, without a name
            data = await part.read()
            items.append(f'<li class="file"><span class="name">{esc(part.filename)}</span> '
                         f'<span class="size">{len(data)}</span> '
                         f'<span class="sha256">{hashlib.sha256(data).hexdigest()}</span></li>')
    if not items:
        return page("Uploaded", '<p id="received-none">no file</p>')
    return page("Uploaded", f'<ul id="received">{"".join(items)}</ul>')


def _basic_user(request: Request) -> str | None:
    """The user named by a valid `Authorization: Basic` header, else None."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(token.strip(), validate=True).decode(
            "utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    ok = (sep == ":" and secrets.compare_digest(user.encode(), DEMO_USER.encode())
          and secrets.compare_digest(password.encode(), DEMO_PASSWORD.encode()))
    return user if ok else None


async def basic_auth(request: Request) -> HTMLResponse:
    user = _basic_user(request)
    if user is None:
        resp = page("Sign-in required", "<p>This page needs HTTP Basic credentials.</p>", 401)
        resp.headers["WWW-Authenticate"] = f'Basic realm="{BASIC_REALM}"'
        return resp
    return page("Basic auth", f'<p id="user">Signed in as {esc(user)}</p>')


async def drag(request: Request) -> HTMLResponse:
    js = """function count() {
  document.getElementById("done-count").textContent =
    document.querySelectorAll("#done .card").length; }
document.querySelectorAll(".card").forEach(function (card) {
  card.addEventListener("dragstart", function (e) {
    e.dataTransfer.setData("text/plain", card.id); e.dataTransfer.effectAllowed = "move"; });
});
["todo", "done"].forEach(function (id) {
  var list = document.getElementById(id);  // drops on a card bubble up to its list
  list.addEventListener("dragover", function (e) {
    e.preventDefault(); e.dataTransfer.dropEffect = "move"; });
  list.addEventListener("drop", function (e) {
    e.preventDefault();
    var card = document.getElementById(e.dataTransfer.getData("text/plain"));
    if (card && card.classList.contains("card")) { list.appendChild(card); }
    count(); });
});"""
    style = ('<style>.list{min-height:4rem;border:1px dashed #888;padding:.5rem;'
             'list-style:none}.card{border:1px solid #ccc;padding:.3rem;margin:.2rem 0;'
             'background:#f6f6f6;cursor:move}</style>')
    return page("Drag", style + '<h2>To do</h2><ul id="todo" class="list">'
                '<li class="card" draggable="true" id="card-1">Write report</li>'
                '<li class="card" draggable="true" id="card-2">Send invoice</li></ul>'
                '<h2>Done</h2><ul id="done" class="list"></ul>'
                '<p id="done-count">0</p>'
                + _script(js))


async def pointer(request: Request) -> HTMLResponse:
    """A slider to drag and a box to double-click: what a person taking control may need
    (a CAPTCHA's handle, a double-click to open)."""
    js = """var box = document.getElementById("twice");
box.addEventListener("dblclick", function () { box.textContent = "double-clicked"; });"""
    return page("Pointer", '<p><input type="range" id="level" min="0" max="100" value="0" '
                'style="width:300px;margin:0"></p>'
                '<p id="twice" style="width:200px;height:60px;border:1px solid #888">'
                'double-click me</p>' + _script(js))


async def status(request: Request) -> Response:
    code = request.path_params["code"]
    if not 200 <= code <= 599:
        return page("Not found", "<p>Pick a status from 200 to 599.</p>", 404)
    if code in (204, 205, 304):  # statuses that must not carry a body
        return Response(status_code=code)
    return page(f"Status {code}", "", code, h1=f'<h1 id="status">Status {code}</h1>')


async def page_error(request: Request) -> HTMLResponse:
    js = """document.getElementById("boom").addEventListener("click", function () {
  throw new Error("boom from the page"); });
document.getElementById("fine").addEventListener("click", function () {
  document.getElementById("out").textContent = "fine"; });"""
    return page("Page error", '<p><button id="boom">Boom</button> '
                '<button id="fine">Fine</button></p><p id="out"></p>' + _script(js))


# (sku, name, price text, quantity, tags) of the rows inside <price-list>'s shadow root.
COMPONENT_ITEMS = [("A-1", "Tea", "Price: €3.50", "2", "green,loose"),
                   ("B-2", "Coffee", "Price: €12.00 (was €14.00)", "1", "roasted"),
                   ("C-3", "Cocoa", "sold out", "0", "")]
# (name, note) of the <contact-card>s: each card is a row with a shadow root of its own.
COMPONENT_CONTACTS = [("Jürgen", '=HYPERLINK("http://evil.example","Click")'),
                      ("Ada", "+1"), ("Grace", "-2"), ("Linus", "@x")]


async def components(request: Request) -> HTMLResponse:
    """Web components: rows and fields in open shadow roots, nested ones included."""
    js = """function shadow(el, html) { var root = el.attachShadow({mode: "open"});
  root.innerHTML = html; return root; }
customElements.define("item-tags", class extends HTMLElement { connectedCallback() {
  var root = this.shadowRoot || shadow(this, "");
  (this.getAttribute("tags") || "").split(",").filter(Boolean).forEach(function (t) {
    var s = document.createElement("span"); s.className = "tag"; s.textContent = t;
    root.append(s, " "); }); } });
customElements.define("price-list", class extends HTMLElement { connectedCallback() {
  var table = document.createElement("table");
  $items.forEach(function (item) {
    var tr = table.insertRow(); tr.className = "item"; tr.dataset.sku = item[0];
    tr.innerHTML = '<td class="name"></td><td class="price"></td>' +
      '<td><input class="qty" aria-label="Quantity"></td><td><item-tags></item-tags></td>';
    tr.querySelector(".name").textContent = item[1];
    tr.querySelector(".price").textContent = item[2];
    tr.querySelector(".qty").id = "qty-" + item[0];
    tr.querySelector(".qty").value = item[3];
    tr.querySelector("item-tags").setAttribute("tags", item[4]); });
  shadow(this, "").append(table); } });
customElements.define("contact-card", class extends HTMLElement { connectedCallback() {
  var root = shadow(this, '<b class="name"></b> <span class="note"></span>');
  root.querySelector(".name").textContent = this.dataset.name;
  root.querySelector(".note").textContent = this.dataset.note; } });"""
    cards = "".join(f'<contact-card data-name="{esc(n)}" data-note="{esc(note)}"></contact-card>'
                    for n, note in COMPONENT_CONTACTS)
    return page("Components", f"<price-list></price-list>{cards}"
                + _script(js, items=COMPONENT_ITEMS))


ECHO_CLOCK = """var t0 = performance.now();
(function tick() { var left = $ms - (performance.now() - t0);
  document.getElementById("clock").textContent = Math.max(0, left).toFixed(0) + " ms left";
  if (left > 0) requestAnimationFrame(tick);
  else document.getElementById("done").hidden = false; })();"""


async def echo(request: Request) -> HTMLResponse:
    """Prints the decoded path and query, and the URL as sent: a page that shows what a
    runbook put into its URL (as a search page shows the words searched for). With
    `ms`, a clock keeps it painting until #done shows after that many milliseconds."""
    query = " ".join(f"{k}={v}" for k, v in request.query_params.multi_items())
    body = (f'<p>Path: <span id="echo-path">{esc(request.path_params["rest"])}</span></p>'
            f'<p>Query: <span id="echo-query">{esc(query)}</span></p>'
            f'<p>Address: <span id="echo-url">{esc(str(request.url))}</span></p>'
            f'<p><input id="echo-field" aria-label="Echo" size="40" value="{esc(query)}">'
            '</p><p id="plain">Nothing to hide here.</p>')
    ms = request.query_params.get("ms", "")
    if ms.isdigit():
        body += ('<p id="clock"></p><p id="done" hidden>Done</p>'
                 + _script(ECHO_CLOCK, ms=min(int(ms), 60_000)))
    return page("Echo", body)


VISUAL_COLOR = re.compile(r"^(#[0-9a-fA-F]{3,6}|[a-z]{3,20})$")


async def visual(request: Request) -> HTMLResponse:
    """A page whose banner heading takes the colour in `?color=` (a CSS name or #hex; else
    navy), and a wide field in large type: what "Pages that changed" compares."""
    color = request.query_params.get("color", "")
    color = color if VISUAL_COLOR.match(color) else "navy"
    h1 = (f'<h1 id="banner" style="background:{color};color:#fff;padding:2.5rem 1rem;'
          'margin:0">Quarterly report</h1>')
    return page("Visual", '<p>Totals are updated every morning.</p><p><input id="code" '
                'aria-label="Code" style="font-size:48px;width:100%"></p>', h1=h1)


async def notes_txt(request: Request) -> Response:
    return Response(NOTES_TXT.encode("utf-8"), media_type="text/plain; charset=utf-8")


def routes() -> list[Route]:
    return [
        Route("/frames", frames),
        Route("/frames/editor", frames_editor),
        Route("/frames/inner", frames_inner),
        Route("/dialogs", dialogs),
        Route("/tabs", tabs),
        Route("/tabs/report", tabs_report),
        Route("/upload", upload, methods=["GET", "POST"]),
        Route("/basic-auth", basic_auth),
        Route("/drag", drag),
        Route("/pointer", pointer),
        Route("/status/{code:int}", status),
        Route("/page-error", page_error),
        Route("/files/notes.txt", notes_txt),
        Route("/components", components),
        Route("/echo/{rest:path}", echo),
        Route("/visual", visual),
    ]
