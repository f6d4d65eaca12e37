"""A real console (`python main.py`) in a subprocess for the console benchmarks."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_console(data: Path, **env: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    environment = {**os.environ, "JOBDECK_DATA_DIR": str(data), "JOBDECK_WORKERS": "1",
                   "JOBDECK_LOG_LEVEL": "WARNING",
                   "JOBDECK_SHUTDOWN_GRACE_SECONDS": "1", **env}  # its stop is not measured
    process = subprocess.Popen([sys.executable, "main.py", "--port", str(port)], cwd=ROOT,
                               env=environment, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/runbooks", timeout=2).status_code == 200:
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


def add_runbook(url: str, yaml_text: str) -> None:
    httpx.post(f"{url}/api/runbooks", content=yaml_text,
               headers={"Content-Type": "application/x-yaml"}).raise_for_status()


def start_job(url: str, runbook: str) -> int:
    return httpx.post(f"{url}/api/runbooks/{runbook}/jobs", json={}).json()["id"]


def wait_finished(url: str, job_id: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}/api/jobs/{job_id}").json()
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
