"""The execution report of a job: what the CLI prints and `--report-json` writes."""

from engine import events
from engine.db import session_scope
from engine.jobs import get_job


def build_report(job_id: int, data_dir) -> dict:
    detail = get_job(job_id)
    job = detail.job
    return {
        "job_id": job.id,
        "runbook": job.runbook_name,
        "runbook_version": job.runbook_version,
        "status": job.status.value,
        "trigger": job.trigger.value,
        "params": job.params,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "error": {"kind": job.error_kind, "message": job.error_message}
        if job.error_kind else None,
        "metrics": {
            "duration_ms": job.duration_ms, "steps_succeeded": job.steps_succeeded,
            "steps_failed": job.steps_failed, "steps_skipped": job.steps_skipped,
            "retry_count": job.retry_count,
        },
        "steps": [{
            "ordinal": s.ordinal, "name": s.name, "action": s.action, "status": s.status.value,
            "iteration": s.iteration, "duration_ms": s.duration_ms, "retries": s.retries,
            "selector_used": s.selector_used, "captures": s.captures,
            "error_kind": s.error_kind, "error_message": s.error_message,
        } for s in detail.steps],
        "artifacts": [{
            "kind": a.kind.value, "name": a.name, "size": a.size, "media_type": a.media_type,
            "path": str((data_dir / a.path).resolve()),
        } for a in detail.artifacts],
    }


def publish_report(job_id: int, bus: events.EventBus, data_dir) -> None:
    """Record and publish job_finished with the report: the last event of every job."""
    report = build_report(job_id, data_dir)
    with session_scope() as session:
        event = events.record(session, events.JOB_FINISHED, job_id, **report)
    bus.publish(event)
