from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.common import ScheduleOverlap, UTCDateTime, enum_type, utcnow


class Schedule(SQLModel, table=True):
    """When a runbook runs by itself: a cron expression, an interval, or one date-time."""

    id: int | None = Field(default=None, primary_key=True)
    runbook_name: str = Field(index=True)
    params: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    cron: str | None = None
    interval_s: int | None = None
    # intervals count from here: when interval_s was last set (None: created_at)
    interval_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    timezone: str = "UTC"
    enabled: bool = True
    misfire_grace_s: int = 300
    overlap: ScheduleOverlap = Field(ScheduleOverlap.skip, sa_type=enum_type(ScheduleOverlap))
    # Deleting keeps the row (disabled, hidden): its id is never given to another schedule,
    # and the jobs it ran still say which schedule made them.
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_fired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # [{"at": ISO time, "reason": text}], newest last, the latest 50
    misses: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class SchedulerLock(SQLModel, table=True):
    """Which process runs the scheduler: exactly one per database, renewed while it lives."""

    id: int = Field(default=1, primary_key=True)
    holder: str
    since: datetime | None = Field(default=None, sa_type=UTCDateTime)  # when it took the lock
    expires_at: datetime = Field(sa_type=UTCDateTime)
