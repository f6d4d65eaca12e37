from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.common import UTCDateTime, utcnow


class Runbook(SQLModel, table=True):
    """A validated runbook; its version rises each time its YAML source changes."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    title: str
    source: str
    summary: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Archived: hidden from the runbook list and not runnable; its jobs and versions stay.
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    archived_by: str | None = None


class RunbookVersion(SQLModel, table=True):
    """Each version of a runbook as saved: the YAML, who saved it and when (a job names
    its version by `Job.runbook_version`)."""

    __table_args__ = (UniqueConstraint("runbook_id", "version", name="ux_runbookversion"),)

    id: int | None = Field(default=None, primary_key=True)
    runbook_id: int = Field(foreign_key="runbook.id", index=True)
    version: int
    title: str
    source: str
    saved_by: str | None = None  # a person, or None for a file loaded at start
    saved_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
