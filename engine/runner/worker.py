"""Running jobs in a worker thread: one Playwright and one browser per thread, a fresh
context per job, the browser replaced after a crash and recycled after N jobs."""

import logging
import threading

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from engine.bus import events
from engine.runbook import stored_runbook
from engine.runner.browser import BrowserNotFound, find_browser, launch
from engine.runner.browser_session import new_job_context
from engine.runner.execution import JobExecution
from engine.runner.leases import WORKER_ID, Heartbeat
from engine.runner.records import JobRecorder
from engine.secrets.store import SecretStoreError
from engine.secrets.values import resolve_secrets
from engine.service.report import publish_report
from engine.settings import Settings
from engine.store.db import session_scope
from engine.store.transitions import TransitionRefused, transition_job
from models import ErrorKind, JobStatus, utcnow

log = logging.getLogger(__name__)
_local = threading.local()


def thread_browser(settings: Settings):
    """This thread's browser, started (or replaced) when needed."""
    browser = getattr(_local, "browser", None)
    if browser is not None and browser.is_connected() and (
            _local.jobs < settings.browser_recycle_jobs):
        return browser
    close_thread_browser()  # gone, or due for recycling (with its spare context)
    executable = find_browser(settings.browser_path)
    _local.playwright = sync_playwright().start()
    _local.browser = launch(_local.playwright, executable, settings.browser_sandbox)
    _local.jobs = 0
    return _local.browser


def prepare_spare_context(settings: Settings) -> None:
    """Open the next job's context now, while the worker is idle: a new context costs
    ~160 ms, which would otherwise sit between a job's start and its first step."""
    if getattr(_local, "spare", None) is not None:
        return
    try:
        _local.spare = new_job_context(thread_browser(settings))
    except BrowserNotFound:
        _local.spare = None
    except PlaywrightError as exc:
        log.warning("could not open a spare browser context: %s", exc)
        _local.spare = None


def _take_spare():
    spare, _local.spare = getattr(_local, "spare", None), None
    return spare


def _close_spare() -> None:
    spare = _take_spare()
    if spare is not None:
        try:
            spare[0].close()
        except PlaywrightError:
            pass


def close_thread_browser() -> None:
    """Close this thread's browser and Playwright (worker shutdown, crash, recycling)."""
    _close_spare()
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
    if settings.prepare_contexts:
        prepare_spare_context(settings)
    return status


def _run_claimed(job, *, settings: Settings, bus: events.EventBus, heartbeat: Heartbeat,
                 approver=None) -> JobStatus:
    job_id = job.id
    heartbeat.hold(job_id)
    try:
        runbook = stored_runbook(job.source, f"{job.runbook_name}.yaml")
        secrets = resolve_secrets(runbook.secrets)
        browser = thread_browser(settings)
        spare = _take_spare()
        if spare is not None and not spare[0].browser.is_connected():
            spare = None
        execution = JobExecution(job_id, runbook, {**job.params, **secrets},
                                 list(secrets.values()), browser, settings, bus, spare)
        execution.approver = approver
        status = execution.run()
        _local.jobs += 1
        if spare is not None and not execution.spare_used:
            _local.spare = spare  # this job needed its own (video, viewport): keep it
        if execution.crashed:
            close_thread_browser()
        return status
    except TransitionRefused as exc:  # the sweeper failed it meanwhile (lease ran out)
        log.warning("job %s was ended elsewhere while this worker ran it (%s): its lease "
                    "ran out during database trouble or clock skew; nothing more recorded",
                    job_id, exc)
        close_thread_browser()
        return JobStatus.failed
    except (BrowserNotFound, KeyError, SecretStoreError) as exc:  # says what to do
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
