"""Running jobs: a worker thread claims a job and hands it to this process's browser loop
(browser_host.py), where it runs in a fresh context of the one shared browser."""

import logging

from playwright.async_api import Error as PlaywrightError

from engine.bus import events
from engine.errors import StorageFull, is_storage_full
from engine.runbook import stored_runbook
from engine.runner.browser import BrowserNotFound
from engine.runner.browser_host import HOST
from engine.runner.execution import JobExecution
from engine.runner.leases import WORKER_ID, Heartbeat
from engine.runner.records import JobRecorder
from engine.secrets.store import SecretStoreError
from engine.secrets.values import resolve_secrets
from engine.service.report import publish_report
from engine.settings import Settings
from engine.store.db import session_scope
from engine.store.disk import keep_reserve, release_reserve, storage_guard
from engine.store.transitions import TransitionRefused, transition_job
from models import ErrorKind, JobStatus, utcnow

log = logging.getLogger(__name__)


def prepare_spare_context(settings: Settings) -> None:
    """Start the browser and open the next job's context while the worker is idle."""
    HOST.run(HOST.prepare_spare(settings))


def close_browser() -> None:
    """Close this process's browser and Playwright driver (shutdown; a changed browser)."""
    HOST.run(HOST.close())


def close_idle_browser() -> None:
    """Close the browser unless a job still runs on it: each worker thread calls this as it
    stops, so the last one to finish its job closes it."""
    if HOST.jobs_running == 0:
        close_browser()



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
    """Claim and run one job to its end (blocks the calling thread, not the browser loop).
    Returns its final status (None: not claimed)."""
    keep_reserve(settings.data_dir)  # room to record a job's end on a disk it fills
    job = claim(job_id, heartbeat, bus)
    if job is None:
        return None
    heartbeat.hold(job_id)
    try:
        status = _run_claimed(job, settings=settings, bus=bus, approver=approver)
    except StorageFull as exc:  # not even its end fits: the sweeper ends it once there is room
        log.error("job %s: its end could not be recorded: %s", job_id, exc)
        return JobStatus.failed
    finally:
        heartbeat.release(job_id)
    publish_report(job_id, bus, settings.data_dir)
    if settings.prepare_contexts:
        prepare_spare_context(settings)
    return status


def _run_claimed(job, *, settings: Settings, bus: events.EventBus, approver=None) -> JobStatus:
    job_id = job.id
    try:
        runbook = stored_runbook(job.source, f"{job.runbook_name}.yaml")
        secrets = resolve_secrets(runbook.secrets)
        values = {"console_url": settings.console_url, **job.params, **secrets}
        return HOST.run(_execute(job_id, runbook, values, list(secrets.values()), settings,
                                 bus, approver, job.resume, job.runbook_version))
    except TransitionRefused as exc:  # the sweeper failed it meanwhile (lease ran out)
        log.warning("job %s was ended elsewhere while this worker ran it (%s): its lease "
                    "ran out during database trouble or clock skew; nothing more recorded",
                    job_id, exc)
        return JobStatus.failed
    except (BrowserNotFound, KeyError, SecretStoreError) as exc:  # says what to do
        message = exc.args[0] if exc.args else str(exc)
        return JobRecorder(job_id, bus).job_finished(
            JobStatus.failed, ErrorKind.unknown, str(message)).status
    except PlaywrightError as exc:  # the browser could not start or died at the start
        return JobRecorder(job_id, bus).job_finished(
            JobStatus.failed, ErrorKind.browser_crashed,
            f"the browser could not run the job: {str(exc).strip().splitlines()[0]}").status
    except Exception as exc:
        if isinstance(exc, StorageFull) or is_storage_full(exc):  # any write, e.g. a download
            full = exc if isinstance(exc, StorageFull) else StorageFull(settings.data_dir)
            release_reserve(settings.data_dir)
            with storage_guard(settings.data_dir):
                return JobRecorder(job_id, bus).job_finished(
                    JobStatus.failed, ErrorKind.storage_full, str(full)).status
        log.exception("job %s failed unexpectedly", job_id)
        return JobRecorder(job_id, bus).job_finished(
            JobStatus.failed, ErrorKind.unknown, f"internal error: {exc!r}").status


async def _execute(job_id: int, runbook, values: dict[str, str], secret_values: list[str],
                   settings: Settings, bus: events.EventBus, approver,
                   resume: dict | None = None, runbook_version: int | None = None
                   ) -> JobStatus:
    """On the browser loop: one job in a context of its own. A browser found dead while
    the job's context opens (it crashed under the previous job) is replaced once.
    `resume`: a retried job's resume point (Job.resume, engine/runner/resume.py)."""
    for attempt in (1, 2):
        browser = await HOST.browser(settings)
        spare = await HOST.take_spare()
        if spare is not None and spare.context.browser is not browser:
            spare = None  # opened on a browser that was replaced since
        HOST.job_started()
        try:
            execution = JobExecution(job_id, runbook, values, secret_values, browser,
                                     settings, bus, spare, resume, runbook_version)
            execution.approver = approver
            status = await execution.run()
        except PlaywrightError:
            if attempt == 1 and not execution.opened and not browser.is_connected():
                continue
            raise
        finally:
            HOST.job_ended()
        if spare is not None and not execution.spare_used:
            await HOST.keep_spare(spare)  # this job needed its own (video, viewport)
        return status
    raise AssertionError("unreachable: the second attempt returns or raises")
