"""How statuses, times, durations and sizes look everywhere in the console."""

from datetime import datetime

from models import JobStatus, StepStatus, utcnow

# status → (label, Quasar colour, Material icon); each status its own colour and icon.
JOB_STATUS_LOOK: dict[JobStatus, tuple[str, str, str]] = {
    JobStatus.scheduled: ("Scheduled", "blue-grey-6", "event"),
    JobStatus.queued: ("Queued", "grey-7", "hourglass_empty"),
    JobStatus.running: ("Running", "primary", "play_circle"),
    JobStatus.waiting_for_approval: ("Waiting for approval", "deep-orange-7", "front_hand"),
    JobStatus.paused: ("Paused", "amber-9", "pause_circle"),
    JobStatus.completed: ("Completed", "positive", "check_circle"),
    JobStatus.failed: ("Failed", "negative", "error"),
    JobStatus.cancelled: ("Cancelled", "brown-5", "block"),
}

STEP_STATUS_LOOK: dict[str, tuple[str, str, str]] = {
    StepStatus.success.value: ("success", "positive", "check_circle"),
    StepStatus.failed.value: ("failed", "negative", "error"),
    StepStatus.skipped.value: ("skipped", "grey-6", "redo"),
    # as a cancelled job looks: a person stopped it, it did not fail
    StepStatus.cancelled.value: ("cancelled", "brown-5", "block"),
    StepStatus.running.value: ("running", "primary", "autorenew"),
    "pending": ("pending", "grey-5", "radio_button_unchecked"),
}


def job_status_look(status: JobStatus | str) -> tuple[str, str, str]:
    return JOB_STATUS_LOOK[JobStatus(status)]


def exact_time(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z") if value else ""


def relative_time(value: datetime | None, now: datetime | None = None) -> str:
    """"12 s ago", "5 min ago", "3 h ago", then the date."""
    if value is None:
        return "—"
    seconds = ((now or utcnow()) - value).total_seconds()
    if seconds < 0:
        return f"in {_span(-seconds)}"
    if seconds < 5:
        return "just now"
    if seconds < 86400:
        return f"{_span(seconds)} ago"
    return value.astimezone().strftime("%Y-%m-%d %H:%M")


def _span(seconds: float) -> str:
    if seconds < 60:
        return f"{int(seconds)} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


def duration(ms: int | None) -> str:
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    minutes, seconds = divmod(ms // 1000, 60)
    return f"{minutes} min {seconds:02d} s"


def file_size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"
