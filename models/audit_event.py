from datetime import datetime

from sqlmodel import Field, SQLModel

from models.common import UTCDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    """Who did what, to what, when, from where, with what comment, and the value before and
    after (a job's status, a user's role). Never a secret's value."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str
    action: str = Field(index=True)
    job_id: int | None = Field(default=None, foreign_key="job.id", index=True)
    comment: str | None = None
    status_before: str | None = None
    status_after: str | None = None
    target: str | None = None  # what was acted on besides a job: "runbook quotes", "user bob"
    source: str | None = None  # from where: an IP address, "cli", a token's label
