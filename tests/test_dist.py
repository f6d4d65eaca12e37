"""The one-file executable (`make dist`): built with PyInstaller, copied into a directory
without any source code and started there, it serves the console, keeps its data in ./data
and runs the demo example runbook to completion, exports included.

The build takes minutes, so it is kept in ~/.cache/jobdeck-dist under a hash of everything
that goes into it (JOBDECK_DIST_CACHE moves it); CI on the same machine reuses it."""

import csv
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from support import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("JOBDECK_DIST_CACHE", Path.home() / ".cache" / "jobdeck-dist"))
INPUTS = ["main.py", "jobdeck.spec", "pyproject.toml", "engine", "models", "pages",
          "data/runbooks"]


def inputs_hash() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for name in INPUTS:
        path = ROOT / name
        files = [path] if path.is_file() else sorted(
            p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="module")
def executable(tmp_path_factory) -> Path:
    """dist/jobdeck for the current sources: from the cache, else built now."""
    target = CACHE / inputs_hash() / "jobdeck"
    if not target.exists():
        work = tmp_path_factory.mktemp("pyinstaller")
        build = subprocess.run(
            [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
             "--distpath", str(work / "dist"), "--workpath", str(work / "build"),
             str(ROOT / "jobdeck.spec")], cwd=ROOT, capture_output=True, text=True)
        assert build.returncode == 0, build.stderr[-4000:]
        for old in CACHE.glob("*") if CACHE.exists() else []:  # keep only the newest build
            shutil.rmtree(old, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(work / "dist" / "jobdeck", target)
    return target


@pytest.fixture
def elsewhere(executable, tmp_path) -> Path:
    """A directory with only the executable in it, as on a machine it was copied to."""
    app = tmp_path / "team-console"
    app.mkdir()
    shutil.copy2(executable, app / "jobdeck")
    return app


def clean_env() -> dict[str, str]:
    """No virtualenv, no source tree, no test settings: what a fresh shell has."""
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["PATH"] = ":".join(p for p in env.get("PATH", "/usr/bin:/bin").split(":")
                           if ".venv" not in p)
    return env


def test_the_version_and_a_runbook_check_work_without_python(elsewhere):
    version = subprocess.run(["./jobdeck", "--version"], cwd=elsewhere, env=clean_env(),
                             capture_output=True, text=True, timeout=120)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("jobdeck ")
    (elsewhere / "broken.yaml").write_text("version: 1\nname: broken\nsteps:\n  - {action: fly}\n")
    checked = subprocess.run(["./jobdeck", "validate", "broken.yaml"], cwd=elsewhere,
                             env=clean_env(), capture_output=True, text=True, timeout=120)
    assert checked.returncode == 2
    assert "broken.yaml:4" in checked.stderr


def test_without_a_browser_it_says_what_to_install(elsewhere, tmp_path):
    (elsewhere / "check.yaml").write_text(
        "version: 1\nname: check\ntitle: Check\nsteps:\n"
        "  - {action: goto, url: 'http://127.0.0.1:9/'}\n")
    no_browser = {**clean_env(), "PATH": str(tmp_path), "HOME": str(tmp_path)}
    result = subprocess.run(["./jobdeck", "run", "check.yaml"], cwd=elsewhere, env=no_browser,
                            capture_output=True, text=True, timeout=120)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1
    assert "No Chromium found" in said and "apt-get install -y chromium" in said
    assert "python -m" not in said  # there is no Python to run it with


def test_the_executable_serves_the_console_and_runs_the_demo_example(elsewhere):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(elsewhere.parent / "console.log", "w")
    process = subprocess.Popen(["./jobdeck", "--port", str(port)], cwd=elsewhere,
                               env=clean_env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_console(url, process, elsewhere.parent / "console.log")
        assert "Jobdeck" in httpx.get(f"{url}/jobs", timeout=10).text
        names = [r["name"] for r in httpx.get(f"{url}/api/runbooks", timeout=10).json()]
        assert "quotes-export" in names  # the shipped examples are inside

        started = httpx.post(f"{url}/api/runbooks/quotes-export/jobs", timeout=10,
                             json={"params": {"site": f"{url}/demo"}})
        assert started.status_code == 201, started.text
        job = wait_finished(url, started.json()["id"])
        assert job["status"] == "completed", job["error"]
        exports = {a["name"].rsplit(".", 1)[-1]: a for a in job["artifacts"]
                   if a["kind"] == "export"}
        assert set(exports) >= {"csv", "json"}
        rows = list(csv.DictReader(io.StringIO(
            httpx.get(url + exports["csv"]["url"], timeout=10).text)))
        quotes = json.loads(httpx.get(url + exports["json"]["url"], timeout=10).text)
        assert len(rows) == len(quotes) > 10
        assert (elsewhere / "data" / "jobdeck.db").is_file()  # data beside the executable
        assert list((elsewhere / "data" / "artifacts").rglob("*.csv"))
    finally:
        process.terminate()  # the packed binary hands SIGTERM on to the console inside
        process.wait(timeout=60)
    log = (elsewhere.parent / "console.log").read_text()
    assert process.returncode in (0, -signal.SIGTERM), log[-3000:]  # uvicorn re-raises it
    assert "All workers have stopped" in log  # a graceful stop, not a kill


def test_a_worker_process_runs_the_jobs_of_a_console_without_workers(elsewhere):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**clean_env(), "JOBDECK_PORT": str(port)}  # the worker reaches the demo site too
    logs = {name: elsewhere.parent / f"{name}.log" for name in ("console", "worker")}
    console = subprocess.Popen(["./jobdeck", "--no-workers"], cwd=elsewhere, env=env,
                               stdout=open(logs["console"], "w"), stderr=subprocess.STDOUT)
    worker = subprocess.Popen(["./jobdeck", "worker"], cwd=elsewhere, env=env,
                              stdout=open(logs["worker"], "w"), stderr=subprocess.STDOUT)
    try:
        wait_for_console(url, console, logs["console"])
        started = httpx.post(f"{url}/api/runbooks/quotes-export/jobs", timeout=10,
                             json={"params": {"site": f"{url}/demo"}})
        job = wait_finished(url, started.json()["id"])
        assert job["status"] == "completed", (job["error"], logs["worker"].read_text())
    finally:
        for process in (worker, console):
            process.terminate()
            process.wait(timeout=60)
    assert "Consumer exiting" in logs["worker"].read_text()  # it stopped when asked to


def wait_for_console(url: str, process, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/api/runbooks", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"the executable did not serve the console:\n{log.read_text()}")


def wait_finished(url: str, job_id: int) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}/api/jobs/{job_id}", timeout=10).json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish: {job}")
