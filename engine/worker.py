"""Running jobs in a worker thread: one Playwright and one browser per thread, a fresh
context per job, the browser replaced after a crash and recycled after N jobs."""

import logging
import threading

from playwright.sync_api import sync_playwright

from engine import events
from engine.browser import BrowserNotFound, find_browser, launch
from engine.db import session_scope
from engine.execution import JobExecution
from engine.leases import WORKER_ID, Heartbeat
from engine.records import JobRecorder
from engine.report import publish_report
from engine.runbook import load_runbook
from engine.secrets import resolve_secrets
from engine.settings import Settings
from engine.transitions import TransitionRefused, transition_job
from models import ErrorKind, JobStatus, utcnow

log = logging.getLogger(__name__)
_local = threading.local()


def thread_browser(settings: Settings):
    """This thread's browser, started (or replaced) when needed."""
    browser = getattr(_local, "browser", None)
    if browser is not None and browser.is_connected() and (
            _local.jobs < settings.browser_recycle_jobs):
        return browser
    close_thread_browser()
    executable = find_browser(settings.browser_path)
    _local.playwright = sync_playwright().start()
    _local.browser = launch(_local.playwright, executable)
    _local.jobs = 0
    return _local.browser


def close_thread_browser() -> None:
    """Close this thread's browser and Playwright (worker shutdown, crash, recycling)."""
    for attr, method in (("browser", "close"), ("playwright", "stop")):
        obj = getattr(_local, attr, None)
        if obj is not None:
            try:
                getattr(obj, method)()
            except Exception:  # already gone
                pass
            setattr(_local, attr, None)


def claim(job_id: int, heartbeat: Heartbeat, bus: events.EventBus):
    """queued → running for this worker, or None when someone else has it or it was cancelled."""
    try:
        with session_scope() as session:
            job = transition_job(session, job_id, JobStatus.running,
                                 only_from={JobStatus.queued}, started_at=utcnow(),
                                 worker_id=WORKER_ID, lease_expires_at=heartbeat.expiry())
            event = events.record(session, events.JOB_STATUS, job_id, status="running")
    except TransitionRefused as exc:
        log.info("not running job %s: %s", job_id, exc)
        return None
    bus.publish(event)
    return job


def execute_job(job_id: int, *, settings: Settings, bus: events.EventBus,
                heartbeat: Heartbeat, approver=None) -> JobStatus | None:
    """Claim and run one job to its end. Returns its final status (None: not claimed)."""
    job = claim(job_id, heartbeat, bus)
    if job is None:
        return None
    status = _run_claimed(job, settings=settings, bus=bus, heartbeat=heartbeat, approver=approver)
    publish_report(job_id, bus, settings.data_dir)
    return status


def _run_claimed(job, *, settings: Settings, bus: events.EventBus, heartbeat: Heartbeat,
                 approver=None) -> JobStatus:
    job_id = job.id
    heartbeat.hold(job_id)
    try:
        runbook = load_runbook(job.source, f"{job.runbook_name}.yaml")
        secrets = resolve_secrets(runbook.secrets)
        execution = JobExecution(job_id, runbook, {**job.params, **secrets},
                                 list(secrets.values()), thread_browser(settings), settings, bus)
        execution.approver = approver
        status = execution.run()
        _local.jobs += 1
        if execution.crashed:
            close_thread_browser()
        return status
    except (BrowserNotFound, KeyError) as exc:
        message = exc.args[0] if exc.args else str(exc)
        return JobRecorder(job_id, bus).job_finished(
            JobStatus.failed, ErrorKind.unknown, str(message)).status
    except Exception as exc:
        log.exception("job %s failed unexpectedly", job_id)
        close_thread_browser()
        return JobRecorder(job_id, bus).job_finished(
            JobStatus.failed, ErrorKind.unknown, f"internal error: {exc!r}").status
    finally:
        heartbeat.release(job_id)
