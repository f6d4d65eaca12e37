"""A real console (`python main.py`) in a subprocess for the console benchmarks, signed in
as its admin: an API token for the HTTP calls, a session cookie for the browser pages."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-admin-password"
COOKIE = "jobdeck_session"
_tokens: dict[str, str] = {}  # console url -> an admin's API token


def headers(url: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {_tokens[url]}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_console(data: Path, **env: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    # the benchmarks approve jobs they started themselves: no second person (four eyes)
    environment = {**os.environ, "JOBDECK_DATA_DIR": str(data), "JOBDECK_WORKERS": "1",
                   "JOBDECK_LOG_LEVEL": "WARNING", "JOBDECK_ADMIN_PASSWORD": PASSWORD,
                   "JOBDECK_FOUR_EYES": "false",
                   "JOBDECK_SHUTDOWN_GRACE_SECONDS": "1", **env}  # its stop is not measured
    process = subprocess.Popen([sys.executable, "main.py", "--port", str(port)], cwd=ROOT,
                               env=environment, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/login", timeout=2).status_code == 200:
                _tokens[url] = subprocess.run(
                    [sys.executable, "main.py", "tokens", "create", "admin"], cwd=ROOT,
                    env=environment, capture_output=True, text=True, check=True).stdout.strip()
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the console did not start")


def stop_console(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


def signed_in_context(browser, url: str, **options):
    """A browser context holding a fresh session of the admin, as after the sign-in form."""
    signed = httpx.post(f"{url}/login", data={"name": "admin", "password": PASSWORD},
                        headers={"Origin": url})
    context = browser.new_context(**options)
    context.add_cookies([{"name": COOKIE, "value": signed.cookies[COOKIE], "url": url}])
    return context


def signed_in_page(browser, url: str, **options):
    return signed_in_context(browser, url, **options).new_page()


def add_runbook(url: str, yaml_text: str) -> None:
    httpx.post(f"{url}/api/runbooks", content=yaml_text,
               headers={"Content-Type": "application/x-yaml", **headers(url)}
               ).raise_for_status()


def start_job(url: str, runbook: str) -> int:
    return httpx.post(f"{url}/api/runbooks/{runbook}/jobs", json={},
                      headers=headers(url)).json()["id"]


def cancel_job(url: str, job_id: int) -> None:
    httpx.post(f"{url}/api/jobs/{job_id}/cancel", headers=headers(url))


def wait_finished(url: str, job_id: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}/api/jobs/{job_id}", headers=headers(url)).json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.1)
    raise RuntimeError(f"job {job_id} did not finish")


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of a process in MB."""
    rss = pss = 0.0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Rss:"):
            rss = int(line.split()[1]) / 1024
        elif line.startswith("Pss:"):
            pss = int(line.split()[1]) / 1024
    return rss, pss


def wait_status(url: str, job_id: int, status: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while httpx.get(f"{url}/api/jobs/{job_id}", headers=headers(url)).json()["status"] != status:
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} did not reach {status}")
        time.sleep(0.05)
