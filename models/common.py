"""Status values, error kinds and the timezone-aware datetime column shared by the tables."""

from datetime import datetime, timezone
from enum import Enum

from sqlalchemy import DateTime
from sqlalchemy import Enum as SAEnum
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stores UTC and always gives back an aware datetime (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: use an aware UTC datetime")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


def enum_type(enum: type[Enum]) -> SAEnum:
    """A status-like column stored as plain text on every database: no native PostgreSQL
    enum type (a name like "trigger" is reserved there; adding a value needs no migration)."""
    return SAEnum(enum, native_enum=False, length=32)


class JobStatus(str, Enum):
    scheduled = "scheduled"
    queued = "queued"
    running = "running"
    waiting_for_approval = "waiting_for_approval"
    paused = "paused"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (JobStatus.completed, JobStatus.failed, JobStatus.cancelled)

    @property
    def is_active(self) -> bool:
        """Claimed by a worker and not ended: the job holds a lease and a browser."""
        return self in ACTIVE_STATUSES


# The statuses of a job that a worker holds (the "Running" tab shows them all).
ACTIVE_STATUSES = frozenset({JobStatus.running, JobStatus.waiting_for_approval,
                             JobStatus.paused})


class StepStatus(str, Enum):
    running = "running"
    success = "success"
    failed = "failed"
    skipped = "skipped"
    cancelled = "cancelled"  # stopped by a person's Cancel while it ran or awaited approval


class Trigger(str, Enum):
    manual = "manual"
    schedule = "schedule"
    api = "api"
    rerun = "rerun"
    retry = "retry"  # resumed from a step of a failed or cancelled job, its state restored
    cli = "cli"


class ScheduleOverlap(str, Enum):
    """What an occurrence does while its schedule's previous job is queued or running
    (Kubernetes CronJob's concurrencyPolicy, Airflow's max_active_runs)."""

    skip = "skip"  # no new run; the occurrence is recorded as a miss
    queue = "queue"  # runs when the previous job ends; at most one waits
    allow = "allow"  # runs at once, beside the previous one


class ErrorKind(str, Enum):
    element_not_found = "element_not_found"
    element_ambiguous = "element_ambiguous"
    navigation_timeout = "navigation_timeout"
    action_failed = "action_failed"
    assertion_failed = "assertion_failed"
    capture_missing = "capture_missing"
    blocked_url = "blocked_url"
    http_error = "http_error"  # the main document answered 400 or more
    approval_rejected = "approval_rejected"
    approval_timeout = "approval_timeout"
    handover_timeout = "handover_timeout"  # no one took control and handed back in time
    cancelled = "cancelled"
    browser_crashed = "browser_crashed"
    worker_lost = "worker_lost"
    storage_full = "storage_full"  # the data directory's disk is full
    restore_failed = "restore_failed"  # a retried job's restored browser state was refused
    visual_changed = "visual_changed"  # the page changed more than a visual check allows
    unknown = "unknown"
