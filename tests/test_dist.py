"""The one-file executable (`make dist`): built with PyInstaller, copied into a directory
without any source code and started there, it serves the console, keeps its data in ./data
and runs the demo example runbook to completion, exports included.

The build takes minutes, so it is kept in ~/.cache/jobdeck-dist under a hash of everything
that goes into it (JOBDECK_DIST_CACHE moves it); CI on the same machine reuses it."""

import csv
import hashlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from support import free_port, make_token, wait_for_console

from engine.store import schema

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("JOBDECK_DIST_CACHE", Path.home() / ".cache" / "jobdeck-dist"))
INPUTS = ["main.py", "jobdeck.spec", "pyproject.toml", "engine", "models", "pages",
          "data/runbooks"]


def inputs_hash() -> str:
    """Sources, Python and every installed package's version: what goes into the build."""
    digest = hashlib.sha256(sys.version.encode())
    digest.update(" ".join(sorted(f"{d.metadata['Name']}=={d.version}"
                                  for d in importlib.metadata.distributions())).encode())
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
        builds = sorted(CACHE.glob("*"), key=lambda b: b.stat().st_mtime) if CACHE.exists() else []
        for old in builds[:-2]:  # keep the two newest besides this one
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


def clean_env(home: Path) -> dict[str, str]:
    """No virtualenv, no source tree, no test settings: what a fresh user's shell has."""
    keep = ("PATH", "LANG", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["PATH"] = ":".join(p for p in env.get("PATH", "/usr/bin:/bin").split(":")
                           if ".venv" not in p)
    env["HOME"] = str(home)
    return env


def start(app: Path, args: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "w") as out:  # the child keeps its own copy of the file
        return subprocess.Popen(["./jobdeck", *args], cwd=app, env=env, stdout=out,
                                stderr=subprocess.STDOUT)


def stop(*processes: subprocess.Popen) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_version_and_a_runbook_check_work_without_python(elsewhere, tmp_path):
    version = subprocess.run(["./jobdeck", "--version"], cwd=elsewhere, env=clean_env(tmp_path),
                             capture_output=True, text=True, timeout=120)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("jobdeck ")
    (elsewhere / "broken.yaml").write_text("version: 1\nname: broken\nsteps:\n  - {action: fly}\n")
    checked = subprocess.run(["./jobdeck", "validate", "broken.yaml"], cwd=elsewhere,
                             env=clean_env(tmp_path), capture_output=True, text=True,
                             timeout=120)
    assert checked.returncode == 2
    assert "broken.yaml:4" in checked.stderr
    upgraded = subprocess.run(["./jobdeck", "db", "upgrade"], cwd=elsewhere,
                              env=clean_env(tmp_path), capture_output=True, text=True,
                              timeout=120)  # the migrations are inside too
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"schema empty -> {schema.head()}" in upgraded.stdout  # every migration is inside


def test_without_a_browser_it_says_what_to_install(elsewhere, tmp_path):
    (elsewhere / "check.yaml").write_text(
        "version: 1\nname: check\ntitle: Check\nsteps:\n"
        "  - {action: goto, url: 'http://127.0.0.1:9/'}\n")
    no_browser = {**clean_env(tmp_path), "PATH": str(tmp_path)}
    result = subprocess.run(["./jobdeck", "run", "check.yaml"], cwd=elsewhere, env=no_browser,
                            capture_output=True, text=True, timeout=120)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1
    assert "No Chromium found" in said and "apt-get install -y chromium" in said
    assert "python -m" not in said  # there is no Python to run it with


def test_the_executable_serves_the_console_and_runs_the_demo_example(elsewhere, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_file = tmp_path / "console.log"
    process = start(elsewhere, ["--port", str(port)], clean_env(tmp_path), log_file)
    try:
        wait_for_console(url, process, log_file)
        # the first start made the admin and printed a one-time password: sign in with it
        password = re.search(r"with the password\s+(\S+)", log_file.read_text()).group(1)
        client = httpx.Client(base_url=url, timeout=10, headers={"Origin": url})
        signed_in = client.post("/login", data={"name": "admin", "password": password})
        assert signed_in.status_code == 303, signed_in.text
        assert "Jobs · Jobdeck" in client.get("/jobs").text
        names = [r["name"] for r in client.get("/api/runbooks").json()]
        assert "quotes-export" in names  # the shipped examples are inside
        worker = client.get("/trace/sw.bundle.js")  # Playwright's trace viewer is inside
        assert worker.status_code == 200 and "javascript" in worker.headers["content-type"]

        started = client.post("/api/runbooks/quotes-export/jobs",
                              json={"params": {"site": f"{url}/demo"}})
        assert started.status_code == 201, started.text
        job = wait_finished(client, started.json()["id"])
        assert job["status"] == "completed", job["error"]
        exports = {a["name"].rsplit(".", 1)[-1]: a for a in job["artifacts"]
                   if a["kind"] == "export"}
        assert set(exports) >= {"csv", "json"}
        rows = list(csv.DictReader(io.StringIO(client.get(exports["csv"]["url"]).text)))
        quotes = json.loads(client.get(exports["json"]["url"]).text)
        assert len(rows) == len(quotes) > 10
        assert (elsewhere / "data" / "jobdeck.db").is_file()  # data beside the executable
        assert list((elsewhere / "data" / "artifacts").rglob("*.csv"))
    finally:
        stop(process)  # the packed binary hands SIGTERM on to the console inside
    log = log_file.read_text()
    assert process.returncode in (0, -signal.SIGTERM), log[-3000:]  # uvicorn re-raises it
    assert "All workers have stopped" in log  # a graceful stop, not a kill


@pytest.mark.parametrize("shape", ["sqlite", "postgresql-redis"])
def test_a_worker_process_runs_the_jobs_of_a_console_without_workers(elsewhere, tmp_path,
                                                                     shape, request):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**clean_env(tmp_path), "JOBDECK_PORT": str(port)}  # the worker may reach the demo
    if shape == "postgresql-redis":
        env.update(request.getfixturevalue("scale_env"))
    logs = {name: tmp_path / f"{name}.log" for name in ("console", "worker")}
    console = start(elsewhere, ["--no-workers"], env, logs["console"])
    worker = start(elsewhere, ["worker"], env, logs["worker"])
    try:
        wait_for_console(url, console, logs["console"])
        token = make_token(["./jobdeck"], env, cwd=elsewhere)  # the packed CLI makes it
        client = httpx.Client(base_url=url, timeout=10,
                              headers={"Authorization": f"Bearer {token}"})
        started = client.post("/api/runbooks/quotes-export/jobs",
                              json={"params": {"site": f"{url}/demo"}})
        assert started.status_code == 201, started.text
        job = wait_finished(client, started.json()["id"])
        assert job["status"] == "completed", (job["error"], logs["worker"].read_text())
    finally:
        stop(worker, console)
    assert "All workers have stopped" in logs["worker"].read_text()  # a graceful stop


def wait_finished(client: httpx.Client, job_id: int) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish: {job}")
