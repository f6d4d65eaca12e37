"""A job as plain data: the list entry, and the execution report that the CLI prints,
`--report-json` writes, the API returns and the final event carries."""

from engine.bus import events
from engine.errors import NotFound
from engine.service.jobs import get_job
from engine.store.db import session_scope
from models import Job


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def job_summary(job: Job) -> dict:
    """What a list of jobs shows for one job."""
    return {
        "id": job.id,
        "runbook": job.runbook_name,
        "runbook_title": job.runbook_title,
        "runbook_version": job.runbook_version,
        "status": job.status.value,
        "trigger": job.trigger.value,
        "started_by": job.started_by,
        "schedule_id": job.schedule_id,  # the schedule that made it (None: none did)
        "scheduled_for": _iso(job.scheduled_for),  # the occurrence it stands for
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "step_count": job.step_count,
        "steps_done": job.steps_done,
        "current_step": job.current_step,
        "worker": job.worker_id,  # host:pid:tag of the process that ran it (None: not yet)
        "error": {"kind": job.error_kind, "message": job.error_message}
        if job.error_kind else None,
        "metrics": {
            "duration_ms": job.duration_ms, "steps_succeeded": job.steps_succeeded,
            "steps_failed": job.steps_failed, "steps_skipped": job.steps_skipped,
            "retry_count": job.retry_count,
        },
    }


def build_report(job_id: int, data_dir) -> dict | None:
    """The whole job: summary, params, every step run and every artifact (None: no job)."""
    detail = get_job(job_id)
    if detail is None:
        return None
    job = detail.job
    return {
        "job_id": job.id,
        **job_summary(job),
        "params": job.params,
        "steps": [{
            "id": s.id, "ordinal": s.ordinal, "parent_id": s.parent_id, "name": s.name,
            "action": s.action, "description": s.description, "status": s.status.value,
            "iteration": s.iteration, "started_at": _iso(s.started_at),
            "duration_ms": s.duration_ms, "retries": s.retries,
            "selector_used": s.selector_used, "captures": s.captures,
            "error_kind": s.error_kind, "error_message": s.error_message,
            "diagnostics": s.diagnostics, "dialogs": s.dialogs, "tabs": s.tabs,
            "warnings": s.warnings,
        } for s in detail.steps],
        "artifacts": [{
            "id": a.id, "kind": a.kind.value, "name": a.name, "size": a.size,
            "media_type": a.media_type, "step_run_id": a.step_run_id,
            "path": str((data_dir / a.path).resolve()),
        } for a in detail.artifacts],
    }


def publish_report(job_id: int, bus: events.EventBus, data_dir) -> None:
    """Record and publish job_finished with the report: the last event of every job."""
    report = build_report(job_id, data_dir)
    if report is None:
        raise NotFound(f"there is no job {job_id}")
    with session_scope() as session:
        event = events.record(session, events.JOB_FINISHED, job_id, **report)
    bus.publish(event)
