from datetime import datetime

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from models.common import JobStatus, Trigger, UTCDateTime, enum_type, utcnow


class Job(SQLModel, table=True):
    """One execution of one runbook version with one set of parameter values."""

    __table_args__ = (
        Index("ix_job_status_created", "status", "created_at"),
        Index("ix_job_created", "created_at"),
        # one job per occurrence of a schedule: a duplicate fire cannot make a second one
        Index("ux_job_schedule_occurrence", "schedule_id", "scheduled_for", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    runbook_id: int = Field(foreign_key="runbook.id", index=True)
    runbook_name: str
    runbook_title: str
    runbook_version: int
    # The YAML the job runs, so a later edit of the runbook never changes a queued job.
    source: str
    status: JobStatus = Field(JobStatus.queued, sa_type=enum_type(JobStatus))
    trigger: Trigger = Field(Trigger.manual, sa_type=enum_type(Trigger))
    started_by: str | None = None
    # Parameter values; secrets are never stored here.
    params: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    scheduled_for: datetime | None = Field(default=None, sa_type=UTCDateTime)
    queued_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    step_count: int = 0  # top-level steps in the runbook
    steps_done: int = 0  # top-level steps reached and ended: "step k+1 of n" while running
    current_step: str | None = None
    error_kind: str | None = None
    error_message: str | None = None
    requested_action: str | None = None  # approve, reject, pause, resume, cancel: for the worker
    requested_by: str | None = None
    rerun_of: int | None = Field(default=None, foreign_key="job.id", index=True)
    # Retry from step N (docs/recovery.md): the job whose browser state this one restored,
    # and where it resumes: {"job": M, "from_ordinal": R, "path": [...], "snapshot": seq
    # or None, "version": "old" | "new"} (engine/store/snapshots.py says what path means).
    retry_of: int | None = Field(default=None, index=True)
    resume: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    schedule_id: int | None = Field(default=None, foreign_key="schedule.id")
    worker_id: str | None = None
    lease_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    duration_ms: int | None = None
    steps_succeeded: int = 0
    steps_failed: int = 0
    steps_skipped: int = 0
    # a database default, as migration 0006 gives it: writers that name only the
    # older columns (a 0.x worker during an upgrade, bench scripts) still insert rows
    steps_cancelled: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    retry_count: int = 0
    # Take control (docs/console.md): who drives the job's browser page by hand now, since
    # when, and their last input; control lapses after TAKE_CONTROL_IDLE_S without input.
    control_holder: str | None = None
    control_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    control_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Retention (docs/retention.md): a kept job's files are never swept; when the sweep
    # deleted this job's artifact files and snapshots (its row and figures stay).
    keep: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    artifacts_deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
