"""Helpers the tests share (imported as `support`; conftest.py holds only fixtures)."""

import base64
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from engine.service.jobs import JobDetail

# Playwright's sync API leaves an event loop in the thread that starts it, which would
# break the asyncio page tests; so jobs in tests run on one thread of their own, like a worker.
_BROWSER_THREAD = ThreadPoolExecutor(1, thread_name_prefix="test-worker")


def in_browser_thread(function, *args, **kwargs):
    """Run `function` on the tests' worker thread (the one that owns the browser)."""
    return _BROWSER_THREAD.submit(function, *args, **kwargs).result()


def eventually(probe, seconds: float = 60, what: str = "the condition"):
    """Poll `probe` until it returns something truthy, and return that; AssertionError
    naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not (found := probe()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def step(detail: JobDetail, name: str, iteration: int | None = None):
    """The step run with this name (and repeat iteration)."""
    found = [s for s in detail.steps if s.name == name
             and (iteration is None or s.iteration == iteration)]
    assert found, f"no step {name!r} in {[s.name for s in detail.steps]}"
    return found[0]


def process_env() -> dict[str, str]:
    """This environment for a Jobdeck process: without pytest's variables (NiceGUI runs
    differently under pytest) and without a developer's own DATABASE_URL or REDIS_URL."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")
            and k not in ("DATABASE_URL", "REDIS_URL", "JOBDECK_DATABASE_URL",
                          "JOBDECK_REDIS_URL")}


ADMIN_PASSWORD = "admin-password-for-tests"


class Console(str):
    """A running console's URL, with an API token of its admin for the tests' requests."""

    token = ""
    env: dict[str, str] = {}

    def user_token(self, name: str, role: str) -> str:
        """Add a user with `role` (as an admin would, with the CLI) and make them a token."""
        made = subprocess.run([sys.executable, "main.py", "users", "create", name, "--role",
                               role, "--password-stdin"], input=ADMIN_PASSWORD + "\n",
                              env=self.env, cwd=ROOT, capture_output=True, text=True,
                              timeout=120)
        assert made.returncode == 0, made.stderr
        return make_token([sys.executable, "main.py"], self.env, name)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, **options) -> httpx.Client:
        return httpx.Client(base_url=str(self), headers=self.headers, **options)


ROOT = Path(__file__).resolve().parent.parent


def make_token(command: list[str], env: dict[str, str], user: str = "admin",
               cwd: Path = ROOT) -> str:
    """An API token made as an operator would: `main.py tokens create USER`."""
    made = subprocess.run([*command, "tokens", "create", user, "--label", "tests"], env=env,
                          cwd=cwd, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def start_console(data: Path, site_port: int, log_name: str = "console.log",
                  **env_overrides: str):
    """Start `python main.py` as a user would, with its own data; returns (process, url),
    the url being a Console that holds an admin's API token. Its output goes to
    `log_name` beside the data directory."""
    port = free_port()
    # NiceGUI changes how it runs under pytest; the console must run as a user runs it.
    env = process_env()
    env.update({"JOBDECK_DATA_DIR": str(data), "JOBDECK_WORKERS": "1",
                "JOBDECK_ALLOW_PRIVATE_HOSTS": f"127.0.0.1:{port},127.0.0.1:{site_port}",
                "JOBDECK_SECRET_DEMO_PASSWORD": "demo-password",
                "JOBDECK_ADMIN_PASSWORD": ADMIN_PASSWORD, **env_overrides})
    data.mkdir(parents=True, exist_ok=True)
    log = open(data.parent / log_name, "w")
    process = subprocess.Popen([sys.executable, "main.py", "--port", str(port)],
                               cwd=Path(__file__).resolve().parent.parent, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    url = Console(f"http://127.0.0.1:{port}")
    try:
        wait_for_console(url, process, data.parent / log_name)
        url.token, url.env = make_token([sys.executable, "main.py"], env), env
    except AssertionError:
        process.kill()
        raise
    return process, url


def wait_for_console(url: str, process: subprocess.Popen, log: Path,
                     timeout: float = 120) -> None:
    """Until the console started as `process` answers (its log says why not)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the console did not start:\n{log.read_text()}")


_viewer: dict = {}


def viewer_browser():
    """The tests' own Chromium (sync API), to look at pages and images as a user does; call
    it on the tests' browser thread (`in_browser_thread`). Jobs use the engine's browser."""
    from playwright.sync_api import sync_playwright

    from engine.runner.browser import find_browser, launch

    browser = _viewer.get("browser")
    if browser is None or not browser.is_connected():
        _viewer.setdefault("playwright", sync_playwright().start())
        _viewer["browser"] = browser = launch(_viewer["playwright"], find_browser())
    return browser


def close_viewer_browser() -> None:
    for key, method in (("browser", "close"), ("playwright", "stop")):
        if key in _viewer:
            getattr(_viewer.pop(key), method)()


def pixel_at(settings, jpeg: bytes, x: float, y: float) -> list[int]:
    """Read one pixel of an image by drawing it on a canvas in Chromium."""
    page = viewer_browser().new_page()
    try:
        url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
        rgb = page.evaluate("""async ([url, x, y]) => {
            const img = new Image(); img.src = url; await img.decode();
            const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
            const g = c.getContext('2d'); g.drawImage(img, 0, 0);
            return Array.from(g.getImageData(x, y, 1, 1).data.slice(0, 3)); }""", [url, x, y])
    finally:
        page.close()
    return rgb


def process_parents() -> dict[int, int]:
    """Every live process's parent, from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (not `pid` itself)."""
    parents, found, frontier = process_parents(), set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def command_line(pid: int) -> str:
    """A process's command line, its arguments joined by spaces ("" once it is gone)."""
    try:
        return (Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                .decode(errors="replace"))
    except OSError:
        return ""


def browser_processes() -> list[int]:
    """Chromium main processes started by this test process (through Playwright's driver)."""
    parents = process_parents()
    drivers = [pid for pid, parent in parents.items() if parent == os.getpid()]
    return [pid for pid, parent in parents.items() if parent in drivers
            and "chrom" in command_line(pid) and "--type=" not in command_line(pid)]


def serve_app(app) -> tuple[int, object]:
    """Serve an ASGI app of a test's own on a free loopback port, in a thread; returns
    (port, server): set `server.should_exit = True` to stop it."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return port, server


def zero_padded_runbook(name: str, site: str) -> str:
    """A runbook that types `01234` into the demo form (a merge key copies that step),
    reads it back as the captures `name` and `comment`, and compares them (step `same`):
    for values kept as written through the CLI and the API."""
    return f"""
version: 1
name: {name}
title: Zero-padded values
settings: {{base_url: {site}, timeout_ms: 5000, retries: 1, screenshots: off}}
params:
  zip: {{default: 01234, description: 007}}
steps:
  - {{name: open, action: goto, url: /form}}
  - &typed {{name: typed, action: fill, selector: "#name", value: 01234}}
  - <<: *typed
    name: merged
    selector: "#comment"
  - {{name: send, action: click, selector: {{role: button, name: Send}}}}
  - name: read
    action: assert
    selector: "#result"
    text: "{{{{zip}}}}"
    capture:
      name: {{selector: "#result dd >> nth=0"}}
      comment: {{selector: "#result dd >> nth=4"}}
  - {{name: same, action: wait, ms: 0, when: {{equals: ["{{{{comment}}}}", 01234]}}}}
"""
