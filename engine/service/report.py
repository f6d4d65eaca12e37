"""A job as plain data: the list entry, and the execution report that the CLI prints,
`--report-json` writes, the API returns and the final event carries."""

from engine.bus import events
from engine.errors import NotFound
from engine.service.jobs import get_job
from engine.store.db import session_scope
from models import Job, utcnow


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def job_duration_ms(job: Job) -> int | None:
    """From the job's start to its end; while it runs, so far (None: it never started)."""
    if job.duration_ms is not None or job.started_at is None or job.status.is_final:
        return job.duration_ms
    return int((utcnow() - job.started_at).total_seconds() * 1000)


def progress_text(job: Job) -> str:
    """"step k of n" while the job is under way (k: the step it is at), "k of n steps"
    after (k: the top-level steps it reached, whatever their end)."""
    if job.status.is_active:
        return f"step {min(job.steps_done + 1, job.step_count)} of {job.step_count}"
    return f"{job.steps_done} of {job.step_count} steps"


def figures_text(summary: dict) -> str:
    """A job summary's figures in one line, as the CLI prints them."""
    m = summary["metrics"]
    cancelled = f" · {m['steps_cancelled']} cancelled" if m["steps_cancelled"] else ""
    return (f"{summary['steps_done']} of {summary['step_count']} steps · "
            f"{m['steps_succeeded']} succeeded · {m['steps_failed']} failed · "
            f"{m['steps_skipped']} skipped{cancelled} · {m['retry_count']} retries")


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
        "rerun_of": job.rerun_of,  # the job this one re-runs (None: not a re-run)
        "retry_of": job.retry_of,  # the job whose state this one restored (Retry from step)
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "step_count": job.step_count,
        "steps_done": job.steps_done,
        "current_step": job.current_step,
        "worker": job.worker_id,  # host:pid:tag of the process that ran it (None: not yet)
        "error": {"kind": job.error_kind, "message": job.error_message}
        if job.error_kind else None,
        # who drives the job's browser page by hand now (take control), else None
        "control": {"holder": job.control_holder, "since": _iso(job.control_since)}
        if job.control_holder else None,
        # kept up to date by the worker as each step ends (engine/runner/records.py)
        "metrics": {
            "duration_ms": job_duration_ms(job), "steps_succeeded": job.steps_succeeded,
            "steps_failed": job.steps_failed, "steps_skipped": job.steps_skipped,
            "steps_cancelled": job.steps_cancelled, "retry_count": job.retry_count,
        },
        "keep": job.keep,  # kept from the retention sweep (docs/retention.md)
        "artifacts_deleted_at": _iso(job.artifacts_deleted_at),  # swept then (None: not)
    }


def artifact_url(artifact_id: int, download: bool = False) -> str:
    """Where the console serves an artifact: GET /api/artifacts/{id} (as an attachment
    with `download`)."""
    return f"/api/artifacts/{artifact_id}" + ("?download=1" if download else "")


def public_report(report: dict) -> dict:
    """A report for people and programs outside the server: each artifact's `url`
    instead of its `path` (the server's file system is not the client's business)."""
    artifacts = [{**{k: v for k, v in a.items() if k != "path"}, "url": artifact_url(a["id"])}
                 for a in report.get("artifacts", [])]
    return {**report, "artifacts": artifacts}


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
            "selector_used": s.selector_used, "candidate": s.candidate,
            "captures": s.captures,
            "error_kind": s.error_kind, "error_message": s.error_message,
            "diagnostics": s.diagnostics, "dialogs": s.dialogs, "tabs": s.tabs,
            "warnings": s.warnings, "restored_from": s.restored_from,
            "visual_change": s.visual_change,
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
