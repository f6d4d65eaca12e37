"""The network guard: every request of a job's browser checked, none sent twice.

Two servers of the tests' own on loopback: `origin` (allowed for these jobs) counts what
it receives, `forbidden` (never allowed) logs every request that reaches it.
"""

import asyncio

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from support import serve_app, step

from models import ErrorKind, JobStatus, StepStatus

received: dict[str, int] = {}  # origin: "METHOD path" -> how many times it arrived
forbidden_log: list[str] = []  # every request that reached the forbidden server


def _count(request: Request) -> None:
    key = f"{request.method} {request.url.path}?{request.url.query}"
    received[key] = received.get(key, 0) + 1


async def order(request: Request) -> Response:
    """A form whose server takes longer than Playwright's own 30 s default to answer."""
    if request.method == "GET":
        return HTMLResponse('<form method="post" action="/order?n=1"><input name="item" '
                            'value="tea"><button id="place">Place order</button></form>')
    _count(request)
    await asyncio.sleep(float(request.query_params.get("wait", "31")))
    return HTMLResponse(f"<h1 id=done>Order #{received[f'POST /order?{request.url.query}']} "
                        "placed</h1>")


async def slow_page(request: Request) -> Response:
    _count(request)
    await asyncio.sleep(31)
    return HTMLResponse("<h1 id=done>Slow page</h1>")


def origin_app(forbidden: str) -> Starlette:
    async def with_subresources(request: Request) -> Response:
        # An image and a fetch() that redirect to the forbidden server.
        return HTMLResponse(
            f'<h1 id=title>Sub-resources</h1><img src="/hop?to={forbidden}/img.png">'
            f'<script>fetch("/hop?to={forbidden}/api").catch(() => null)'
            '.finally(() => document.title = "fetched")</script>')

    async def hop(request: Request) -> Response:
        return RedirectResponse(request.query_params["to"], status_code=302)

    async def download_page(request: Request) -> Response:
        return HTMLResponse(f'<a id=get href="{forbidden}/report.csv" download>Get</a>')

    async def sockets(request: Request) -> Response:
        # One WebSocket to this server (allowed), one to the forbidden one.
        here = f"ws://{request.url.netloc}/echo"
        there = forbidden.replace("http://", "ws://") + "/echo"
        return HTMLResponse(f"""<p id=here>…</p><p id=there>…</p><script>
          const here = new WebSocket("{here}");
          here.onopen = () => here.send("hello");
          here.onmessage = e => document.getElementById("here").textContent = e.data;
          const there = new WebSocket("{there}");
          there.onerror = () => document.getElementById("there").textContent = "refused";
          there.onopen = () => document.getElementById("there").textContent = "open";
        </script>""")

    async def echo(socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_text("echo: " + await socket.receive_text())
        await socket.close()

    return Starlette(routes=[
        Route("/sockets", sockets), WebSocketRoute("/echo", echo),
        Route("/order", order, methods=["GET", "POST"]), Route("/slow", slow_page),
        Route("/sub", with_subresources), Route("/hop", hop),
        Route("/download", download_page)])


async def log_everything(request: Request) -> Response:
    forbidden_log.append(f"{request.method} {request.url}")
    return PlainTextResponse("private data", headers={
        "content-disposition": 'attachment; filename="report.csv"'})


@pytest.fixture(scope="module")
def servers():
    """(origin URL, forbidden URL, forbidden port)."""
    forbidden_port, forbidden = serve_app(Starlette(routes=[
        Route("/{path:path}", log_everything, methods=["GET", "POST"])]))
    forbidden_url = f"http://127.0.0.1:{forbidden_port}"
    origin_port, origin = serve_app(origin_app(forbidden_url))
    yield f"http://127.0.0.1:{origin_port}", forbidden_url, forbidden_port
    for server in (origin, forbidden):
        server.should_exit = True


@pytest.fixture
def guarded(settings, servers, site_port):
    """Jobs may reach the demo site and `origin`, never `forbidden`."""
    origin = servers[0].removeprefix("http://")
    settings.allow_private_hosts = f"127.0.0.1:{site_port},{origin}"
    forbidden_log.clear()
    return servers


def _job(run_runbook, steps: str, timeout_ms: int = 5000):
    return run_runbook(f"""
        version: 1
        name: guard
        title: Guard
        settings: {{timeout_ms: {timeout_ms}, retries: 0, screenshots: "off"}}
        steps:
{steps}
        """)


def test_a_slow_form_is_posted_once_and_a_slow_page_fetched_once(run_runbook, guarded):
    origin = guarded[0]
    detail = _job(run_runbook, f"""
          - {{name: form, action: goto, url: "{origin}/order"}}
          - {{name: place, action: click, selector: "#place"}}
          - {{name: placed, action: wait, selector: "#done"}}
          - {{name: slow, action: goto, url: "{origin}/slow?x=1"}}
        """, timeout_ms=60000)
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    assert received["POST /order?n=1"] == 1, "the form was submitted more than once"
    assert received["GET /slow?x=1"] == 1, "the page was requested more than once"


def test_blocked_subresources_never_reach_the_server_and_are_noted(run_runbook, guarded):
    origin = guarded[0]
    detail = _job(run_runbook, f"""
          - {{name: open, action: goto, url: "{origin}/sub"}}
          - {{name: settle, action: wait, ms: 500}}
        """)
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    assert forbidden_log == []
    noted = step(detail, "open").diagnostics.get("blocked_requests", [])
    assert any("/img.png" in b["url"] for b in noted), noted


@pytest.mark.parametrize("host", ["localhost", "sub.localhost", "localhost."])
def test_names_that_reach_loopback_are_blocked(run_runbook, guarded, host):
    port = guarded[2]
    detail = _job(run_runbook, f"""
          - {{name: open, action: goto, url: "http://{host}:{port}/secret"}}
        """)
    opened = step(detail, "open")
    assert opened.error_kind == ErrorKind.blocked_url, opened.error_message
    assert forbidden_log == []


def test_every_redirect_hop_is_checked(run_runbook, guarded, site):
    origin, forbidden, _ = guarded
    # origin -> the demo site -> forbidden: the second hop is the one to stop.
    chain = f"{origin}/hop?to={site}/redirect?to={forbidden}/secret"
    detail = _job(run_runbook, f"""
          - {{name: open, action: goto, url: "{chain}"}}
        """)
    opened = step(detail, "open")
    assert opened.error_kind == ErrorKind.blocked_url, opened.error_message
    assert forbidden in opened.error_message
    assert forbidden_log == []


def test_a_download_from_a_blocked_host_fails_at_once(run_runbook, guarded):
    origin = guarded[0]
    detail = _job(run_runbook, f"""
          - {{name: open, action: goto, url: "{origin}/download"}}
          - {{name: get, action: download, selector: "#get"}}
        """, timeout_ms=60000)
    got = step(detail, "get")
    assert got.status == StepStatus.failed
    assert got.error_kind == ErrorKind.blocked_url, got.error_message
    assert forbidden_log == []


def test_websockets_go_through_the_guard(run_runbook, guarded):
    origin = guarded[0]
    detail = _job(run_runbook, f"""
          - {{name: open, action: goto, url: "{origin}/sockets"}}
          - {{name: answered, action: assert, selector: "#here", text: "echo: hello"}}
          - {{name: refused, action: assert, selector: "#there", text: "refused"}}
        """)
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    assert forbidden_log == []
    # The page's script may open its sockets after `goto` returned: the block is noted on
    # whichever step was running then.
    noted = [b for s in detail.steps for b in s.diagnostics.get("blocked_requests", [])]
    assert any(guarded[1].removeprefix("http://") in b["url"] for b in noted), noted
