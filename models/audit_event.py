from datetime import datetime

from sqlmodel import Field, SQLModel

from models.common import UTCDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    """Who did what to which job, when, with what comment, and the status before/after."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor: str
    action: str
    job_id: int | None = Field(default=None, foreign_key="job.id", index=True)
    comment: str | None = None
    status_before: str | None = None
    status_after: str | None = None
