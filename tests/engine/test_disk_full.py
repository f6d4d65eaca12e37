"""A full data directory: saving a runbook and starting a job are refused with "the data
directory is full" (507 in the API), a running job whose screenshot does not fit fails as
storage_full naming the directory, /api/health warns, and all works again once space is
freed. The disk is a real 20 MB tmpfs filled with a big file (skipped where mounting is not
allowed); a fake only for SQLite's error, which the full disk also produces."""

import errno
import sqlite3
import subprocess
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import full_disk
import pytest
from sqlalchemy.exc import OperationalError
from support import in_browser_thread, start_console, step

from engine.bus.events import get_bus
from engine.errors import StorageFull
from engine.runbook import load_runbook
from engine.runner.worker import execute_job
from engine.service.health import health
from engine.service.jobs import create_job, get_job, start_job
from engine.service.runbooks import add_runbook, save_runbook
from engine.store.disk import RESERVE_NAME, storage_guard
from models import JobStatus, StepStatus

FULL = "the data directory is full"
RUNBOOK = """
    version: 1
    name: NAME
    title: Disk full
    settings: {base_url: SITE, timeout_ms: 5000}
    steps:
      - {name: open, action: goto, url: /form}
      - {name: hold, action: wait, ms: 2500}
      - {name: after, action: goto, url: /form}
"""


def runbook_yaml(name: str, site: str) -> str:
    return textwrap.dedent(RUNBOOK).replace("NAME", name).replace("SITE", site)


disk, settings, fill = full_disk.disk, full_disk.settings, full_disk.fill  # the tmpfs


def test_sqlite_disk_full_and_enospc_become_storage_full(tmp_path):
    data = tmp_path / "data"
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = 13  # SQLITE_FULL, as sqlite3 sets it
    for error in (OperationalError("INSERT INTO job ...", {}, full),  # as SQLAlchemy wraps it
                  full, OSError(errno.ENOSPC, "No space left on device"),
                  OSError(errno.EDQUOT, "Disk quota exceeded")):
        with pytest.raises(StorageFull, match=FULL) as raised, storage_guard(data):
            raise error
        assert str(data.resolve()) in str(raised.value)
        assert raised.value.__cause__ is error
    for other in (sqlite3.OperationalError("database is locked"), OSError(errno.EACCES, "no")):
        with pytest.raises(type(other)), storage_guard(data):
            raise other


def test_full_disk_refuses_saves_and_starts_until_space_is_freed(runtime, settings, disk,
                                                                 site):
    save_runbook(load_runbook(runbook_yaml("full", site), "full.yaml"))
    filler = fill(disk)
    with pytest.raises(StorageFull, match=FULL) as refused:
        add_runbook(runbook_yaml("another", site), "another.yaml")
    assert str(settings.data_dir.resolve()) in str(refused.value)
    with pytest.raises(StorageFull, match=FULL):
        start_job("full")
    report = health()
    assert report["status"] == "degraded"
    assert report["disk"]["path"] == str(settings.data_dir.resolve())
    assert report["disk"]["free_mb"] < 1
    assert any("JOBDECK_MIN_FREE_MB" in w for w in report["warnings"])

    filler.unlink()
    assert start_job("full").status == JobStatus.queued
    assert add_runbook(runbook_yaml("another", site), "another.yaml").outcome == "created"
    assert health()["disk"]["free_mb"] > 10


def test_a_job_whose_screenshot_does_not_fit_fails_as_storage_full(runtime, settings, disk,
                                                                  site):
    save_runbook(load_runbook(runbook_yaml("fills", site), "fills.yaml"))
    job = create_job("fills")

    def run(job_id: int):
        return in_browser_thread(execute_job, job_id, settings=settings, bus=get_bus(),
                                 heartbeat=runtime.heartbeat)

    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(run, job.id)
        deadline = time.monotonic() + 60
        while not any(s.name == "hold" for s in get_job(job.id).steps):
            assert time.monotonic() < deadline and not running.done(), "never reached hold"
            time.sleep(0.05)
        filler = fill(disk)  # while "hold" waits: its screenshot finds the disk full
        assert running.result(timeout=60) == JobStatus.failed  # ended: no hang, no crash

    detail = get_job(job.id)
    assert detail is not None
    assert detail.job.status == JobStatus.failed
    assert detail.job.error_kind == "storage_full"
    assert FULL in (detail.job.error_message or "")
    assert str(settings.data_dir.resolve()) in (detail.job.error_message or "")
    assert any("screenshot after this step was not saved" in w
               for w in step(detail, "hold").warnings)
    assert step(detail, "after").status == StepStatus.skipped

    filler.unlink()  # space is back: the next job runs, and the reserve is made again
    again = create_job("fills")
    assert run(again.id) == JobStatus.completed
    assert (settings.data_dir / RESERVE_NAME).exists()


@pytest.fixture
def full_console(disk, site_port):
    """A console (its own worker process) whose data directory is the small tmpfs."""
    process, url = start_console(disk, site_port, "disk-console.log")
    yield url
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


def test_console_answers_507_while_full_and_serves_what_it_has(full_console, disk, site):
    yaml = {"headers": {"Content-Type": "application/x-yaml"}}
    with full_console.client(timeout=30) as api:
        assert api.post("/api/runbooks", content=runbook_yaml("full", site), **yaml
                        ).status_code == 201
        filler = fill(disk)
        saved = api.post("/api/runbooks", content=runbook_yaml("another", site), **yaml)
        assert saved.status_code == 507, saved.text
        assert FULL in saved.json()["detail"] and str(disk.resolve()) in saved.json()["detail"]
        started = api.post("/api/runbooks/full/jobs", json={})
        assert started.status_code == 507 and FULL in started.json()["detail"]
        health_now = api.get("/api/health").json()
        assert health_now["status"] == "degraded" and health_now["disk"]["free_mb"] < 1
        assert any("JOBDECK_MIN_FREE_MB" in w for w in health_now["warnings"])
        assert api.get("/api/jobs").status_code == 200  # reading goes on
        assert api.get("/api/runbooks/full").status_code == 200

        filler.unlink()
        again = api.post("/api/runbooks/full/jobs", json={})
        assert again.status_code == 201, again.text
        assert api.get("/api/health").json()["disk"]["free_mb"] > 10
