"""What a notification says: a title, a short text, a link, and the data a webhook carries,
for each NotificationEvent (docs/notifications.md lists them). Every text that comes from a
job (its error, step names, params, an approval's message) passes the job's Redactor, so
a secret's value never leaves in a message."""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, select

from engine.runbook import stored_runbook
from engine.secrets.values import Redactor, resolve_secrets
from engine.service.report import job_duration_ms, job_summary
from engine.settings import current_settings
from models import Job, StepRun, StepStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """One notification's content; `payload` is the webhook's `data` (JSON-able)."""

    title: str
    body: str
    link: str | None = None
    payload: dict = field(default_factory=dict)


def job_link(job_id: int, approve: bool = False) -> str:
    """The job page on this console (JOBDECK_PUBLIC_URL), with ?approve=1 opening the
    approval dialog."""
    return f"{current_settings().console_url}/jobs/{job_id}" + ("?approve=1" if approve else "")


def job_redactor(job: Job) -> Redactor:
    """A Redactor for the secrets the job's runbook names, with their values now (a value
    that is not set any more cannot be in the job's records as a new one either)."""
    try:
        names = stored_runbook(job.source, f"{job.runbook_name}.yaml").secrets
    except Exception:  # an old job's YAML the loader no longer takes: mask nothing extra
        log.warning("job %s: its runbook could not be read for its secrets", job.id)
        return Redactor([])
    found = []
    for name in names:
        try:
            found += list(resolve_secrets([name]).values())
        except KeyError:
            continue
    return Redactor(found)


def duration_text(ms: int | None) -> str:
    """12 s, 3 min 5 s, 1 h 2 min; "" for None."""
    if ms is None:
        return ""
    seconds = round(ms / 1000)
    if seconds < 60:
        return f"{ms / 1000:.1f} s" if ms < 10_000 else f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def failed_step(session, job_id: int) -> StepRun | None:
    """The job's last failed step row (the one that ended it), or None."""
    return session.exec(select(StepRun).where(StepRun.job_id == job_id,
                                              StepRun.status == StepStatus.failed)
                        .order_by(col(StepRun.ordinal).desc()).limit(1)).first()


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0][:500] if (text or "").strip() else ""


def job_message(session, event: str, job: Job) -> Message:
    """job_failed, job_completed or job_recovered for a finished job; reads its failed
    step in `session`."""
    redact = job_redactor(job)
    label = f"{job.runbook_title} #{job.id}"
    took = duration_text(job_duration_ms(job))
    lines = [f"Runbook: {job.runbook_title} ({job.runbook_name})", f"Job: #{job.id}",
             f"Status: {job.status.value}"]
    step_data = None
    if event == "job_failed":
        title = f"Failed: {label}"
        step = failed_step(session, job.id or 0)
        error = _first_line(step.error_message if step else None) or _first_line(
            job.error_message)
        if step is not None:
            lines.append(f"Failed step: {step.name}")
            step_data = {"name": step.name, "ordinal": step.ordinal, "action": step.action,
                         "error_kind": step.error_kind, "error": error}
        if error:
            lines.append(f"Error: {error}")
    elif event == "job_recovered":
        title = f"Recovered: {label} completed after a failure"
    else:
        title = f"Completed: {label}"
    if took:
        lines.append(f"Duration: {took}")
    link = job_link(job.id or 0)
    lines.append(link)
    payload = {"job": job_summary(job), "failed_step": step_data, "duration": took or None}
    return Message(redact.text(title), redact.text("\n".join(lines)), link, redact.data(payload))


def approval_message(event: str, job: Job, data: dict, deadline: datetime | None = None) -> Message:
    """approval_requested, approval_expiring (a reminder) or handover_requested; `data` is
    the recorded event's {step, message, risk, timeout_s}."""
    redact = job_redactor(job)
    label = f"{job.runbook_title} #{job.id}"
    handover = event == "handover_requested" or data.get("kind") == "handover"
    title = {"approval_requested": f"Approval needed: {label}",
             "handover_requested": f"A person is needed: {label}",
             }.get(event, f"Reminder, {'a person is' if handover else 'approval'} still "
                          f"needed: {label}")
    lines = [f"Runbook: {job.runbook_title} ({job.runbook_name})", f"Job: #{job.id}"]
    if data.get("step"):
        lines.append(f"Step: {data['step']}")
    if data.get("message"):
        lines.append(f"Message: {data['message']}")
    if data.get("risk"):
        lines.append(f"Risk: {data['risk']}")
    if deadline is not None:
        lines.append(f"Times out at {deadline.isoformat(timespec='seconds')}")
    link = job_link(job.id or 0, approve=not handover)
    lines.append(link)
    payload = {"job": job_summary(job), "step": data.get("step"), "message": data.get("message"),
               "risk": data.get("risk"), "timeout_s": data.get("timeout_s"),
               "expires_at": deadline.isoformat() if deadline else None}
    return Message(redact.text(title), redact.text("\n".join(lines)), link, redact.data(payload))


def schedule_missed_message(schedule_id: int, runbook: str, miss: dict) -> Message:
    """A schedule's missed occurrence {at, reason} (engine/service/schedule_firing.py)."""
    link = f"{current_settings().console_url}/schedules"
    body = (f"Schedule {schedule_id} of runbook {runbook} did not run at {miss.get('at')}: "
            f"{miss.get('reason', '')}\n{link}")
    return Message(f"Missed: schedule {schedule_id} ({runbook})", body, link,
                   {"schedule_id": schedule_id, "runbook": runbook, "at": miss.get("at"),
                    "reason": miss.get("reason")})


def scheduler_down_message(status: dict) -> Message:
    """No console has renewed the scheduler lock for longer than one lease
    (engine/service/health.py's scheduler_status)."""
    expired = status.get("expires_at")
    link = f"{current_settings().console_url}/api/health"
    body = ("No scheduler is running: schedules do not fire. The last one, "
            f"{status.get('holder')}, stopped renewing its lock at "
            f"{expired.isoformat() if expired else '?'}. Start a console with "
            f"JOBDECK_SCHEDULER=true (the default).\n{link}")
    return Message("Scheduler down: schedules do not fire", body, link,
                   {"holder": status.get("holder"),
                    "expires_at": expired.isoformat() if expired else None})


def channel_unhealthy_message(name: str, shown_url: str, failures: int,
                              last_error: str | None) -> Message:
    """Another channel failed `failures` deliveries in a row (sent once per outage)."""
    link = f"{current_settings().console_url}/notifications"
    body = (f'The notification channel "{name}" ({shown_url}) failed {failures} deliveries '
            f"in a row and is marked unhealthy. Last error: {last_error or '?'}\n{link}")
    return Message(f"Notification channel unhealthy: {name}", body, link,
                   {"channel": name, "url": shown_url, "consecutive_failures": failures,
                    "last_error": last_error})


def test_message(channel_name: str, by: str) -> Message:
    """What "Test" sends."""
    link = current_settings().console_url
    return Message(f"Jobdeck test message for {channel_name}",
                   f"{by} sent this test from Jobdeck at {link}: the channel works.", link,
                   {"channel": channel_name, "by": by})
