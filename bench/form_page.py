"""The 20-step form procedure the engine benchmarks drive: the page, its steps, and the
runbook that makes them a job. No engine import here, so a benchmark can load it next to
an older checkout of the engine (bench/browser_cost.py --baseline)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TIMEOUT_MS = 10000
VIEWPORT = {"width": 1280, "height": 720}  # the engine's default context
PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><title>Bench form</title></head>
<body><h1 id="title">Bench form</h1><form id="f">
<input id="name"> <input id="email"> <input id="city"> <textarea id="comment"></textarea>
<button type="button" id="greet">Greet</button> <button type="button" id="inc">Add</button>
<button type="button" id="toggle">Toggle</button> <button type="submit" id="send">Send</button>
</form><p id="greeting">nobody yet</p><p>Count: <span id="count">0</span></p>
<p id="status">off</p><p id="result"></p>
<iframe id="frame" srcdoc="<input id=note>"></iframe> <a id="open" href="/" target="_blank">Open</a>
<script>
const $ = id => document.getElementById(id);
$('greet').onclick = () => { $('greeting').textContent = 'Hello, ' + $('name').value; };
$('inc').onclick = () => { $('count').textContent = +$('count').textContent + 1; };
$('toggle').onclick = () => {
  $('status').textContent = {on: 'off', off: 'on'}[$('status').textContent]; };
$('f').onsubmit = e => { e.preventDefault(); $('result').textContent =
  'Sent: ' + $('name').value + ' <' + $('email').value + '> from ' + $('city').value; };
</script></body></html>"""

STEPS = [  # (action, selector, value): 20 steps, shared by the runbook and the raw script
    ("goto", None, None), ("assert", "#title", "Bench form"),
    ("fill", "#name", "Ada Lovelace"), ("fill", "#email", "ada@example.com"),
    ("fill", "#city", "London"), ("fill", "#comment", "Timed by the overhead benchmark"),
    ("click", "#greet", None), ("assert", "#greeting", "Hello, Ada Lovelace"),
    ("click", "#inc", None), ("click", "#inc", None), ("click", "#inc", None),
    ("assert", "#count", "3"), ("click", "#toggle", None), ("assert", "#status", "on"),
    ("click", "#toggle", None), ("assert", "#status", "off"),
    ("fill", "#name", "Grace Hopper"), ("click", "#send", None),
    ("assert", "#result", "Grace Hopper"), ("assert", "#result", "from London"),
]

# The same length, with a step in an iframe and a tab opened, then left (engine_overhead).
STEPS_FRAME_TAB = STEPS[:5] + [("fill_frame", "#note", "Typed in a frame")] + STEPS[6:14] + [
    ("click_new_tab", "#open", None), ("switch_tab", "previous", None)] + STEPS[16:]
FRAME = "#frame"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # the page at /, 404 elsewhere; HTTP/1.0, so no Content-Length needed
        self.send_response(200 if self.path == "/" else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(PAGE if self.path == "/" else b"")

    def log_message(self, *args):  # quiet
        pass


def serve_page() -> str:
    """Serve PAGE from a daemon thread; returns its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/"


def runbook_yaml(name: str, url: str, screenshots: str, steps=STEPS) -> str:
    lines = [f"version: 1\nname: {name}\ntitle: Overhead benchmark ({screenshots})",
             f"settings: {{screenshots: {screenshots}, retries: 0, timeout_ms: {TIMEOUT_MS}}}",
             "steps:"]
    for action, selector, value in steps:
        args = {"url": url} if action == "goto" else {"selector": selector}
        if action == "fill_frame":
            action, args = "fill", {"frame": FRAME, "selector": selector}
        elif action == "click_new_tab":
            action, args = "click", {"selector": selector, "new_tab": True}
        elif action == "switch_tab":
            args = {"to": selector}
        if action in ("fill", "assert"):
            args["value" if action == "fill" else "text"] = value
        lines.append(f"  - {{action: {action}, " + ", ".join(
            f"{k}: {json.dumps(v)}" for k, v in args.items()) + "}")
    return "\n".join(lines) + "\n"


async def run_raw_steps(page, url: str, expect, screenshots: bool = False,
                        steps=STEPS) -> None:
    """`steps` as plain async Playwright calls on `page` (`expect`: Playwright's, passed in
    so this module imports nothing of Playwright's version either); with `screenshots`,
    a JPEG after each step as the engine takes them."""
    first = page
    for action, selector, value in steps:
        if action == "goto":
            await page.goto(url, timeout=TIMEOUT_MS)
        elif action == "fill_frame":
            await page.frame_locator(FRAME).locator(selector).fill(value, timeout=TIMEOUT_MS)
        elif action == "click_new_tab":
            async with page.context.expect_page(timeout=TIMEOUT_MS) as opening:
                await page.locator(selector).click(timeout=TIMEOUT_MS)
            page = await opening.value
            await page.wait_for_load_state(timeout=TIMEOUT_MS)
            await page.bring_to_front()
        elif action == "switch_tab":
            page = first
            await page.bring_to_front()
        elif action == "fill":
            await page.locator(selector).fill(value, timeout=TIMEOUT_MS)
        elif action == "click":
            await page.locator(selector).click(timeout=TIMEOUT_MS)
        else:
            await expect(page.locator(selector)).to_contain_text(value, timeout=TIMEOUT_MS)
        if screenshots:
            await page.screenshot(type="jpeg", quality=60, timeout=3000)
