"""Shared fixtures: the demo site served on 127.0.0.1, a fresh data directory with a real
SQLite file per test, and a helper that runs a runbook as a job in real Chromium."""

import subprocess
import textwrap
import threading
import time
import uuid

import psycopg
import pytest
import redis
import uvicorn
from services import HOW, POSTGRES, REDIS
from support import close_viewer_browser, free_port, in_browser_thread, start_console

from engine.bus.events import get_bus
from engine.demo_site import create_demo_app
from engine.runbook import load_runbook
from engine.runner.worker import close_browser, execute_job
from engine.runtime import Runtime
from engine.service.jobs import JobDetail, create_job, get_job
from engine.service.runbooks import save_runbook
from engine.settings import Settings


@pytest.fixture(scope="session")
def site_port() -> int:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_demo_app(open_redirect=True),
                                           host="127.0.0.1", port=port,
                                           log_level="warning", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(5)


@pytest.fixture(scope="session")
def site(site_port) -> str:
    """The base URL of the demo site the tests drive."""
    return f"http://127.0.0.1:{site_port}"


@pytest.fixture
def settings(tmp_path, site_port) -> Settings:
    return Settings(data_dir=tmp_path / "data", allow_private_hosts=f"127.0.0.1:{site_port}",
                    workers=1, lease_seconds=30, sweep_interval_seconds=3600,
                    database_url=None, redis_url=None)  # never a developer's own servers


@pytest.fixture
def runtime(settings):
    rt = Runtime(settings)
    yield rt
    rt.stop()


@pytest.fixture(scope="session", autouse=True)
def _close_browser():
    yield
    in_browser_thread(close_browser)
    in_browser_thread(close_viewer_browser)


@pytest.fixture
def run_runbook(runtime, settings, site):
    """Run YAML (with SITE standing for the demo site's URL) as a job; return its record."""

    def run(yaml_text: str, params: dict | None = None, approver=None,
            files: dict | None = None) -> JobDetail:
        spec = load_runbook(textwrap.dedent(yaml_text).replace("SITE", site), "test.yaml")
        save_runbook(spec)
        job = create_job(spec.name, params, files=files)
        in_browser_thread(execute_job, job.id, settings=settings, bus=get_bus(),
                          heartbeat=runtime.heartbeat, approver=approver)
        return get_job(job.id)

    return run


@pytest.fixture(scope="session")
def console(tmp_path_factory, site_port) -> str:
    """A real Jobdeck server in a subprocess with its own data, shared by a session; its URL."""
    # schedules every second or two, so that tests see them fire
    process, url = start_console(tmp_path_factory.mktemp("console") / "data", site_port,
                                 JOBDECK_MIN_SCHEDULE_INTERVAL_SECONDS="1")
    yield url
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()

# PostgreSQL and Redis for the scale-out tests (tests/scale, and the packed worker): a
# database and a key prefix of each test's own, removed afterwards; without the servers
# those tests are skipped, saying how to run them.


@pytest.fixture
def pg_url():
    """The SQLAlchemy URL of a new, empty PostgreSQL database, dropped after the test."""
    try:
        admin = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {POSTGRES} ({exc.__class__.__name__}): {HOW}")
    name = f"jobdeck_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def redis_prefix():
    """A Redis key prefix of this test's own; its keys are deleted after the test."""
    client = redis.Redis.from_url(REDIS, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS} ({exc.__class__.__name__}): {HOW}")
    prefix = f"jobdeck_test_{uuid.uuid4().hex[:10]}"
    try:
        yield prefix
    finally:
        for key in client.scan_iter(match=f"*{prefix}*"):
            client.delete(key)
        client.close()


@pytest.fixture
def scale_env(pg_url, redis_prefix) -> dict[str, str]:
    """The environment that puts a Jobdeck process on this test's PostgreSQL and Redis."""
    return {"DATABASE_URL": pg_url, "REDIS_URL": REDIS, "JOBDECK_REDIS_PREFIX": redis_prefix}
