from datetime import datetime

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from models.common import UTCDateTime, utcnow


class JobEvent(SQLModel, table=True):
    """A job's recorded events, in order: what an SSE client replays after reconnecting.

    Written in the same transaction as the change it describes; live screenshot frames
    are not recorded (they are only worth anything while they are fresh).
    """

    __table_args__ = (Index("ix_jobevent_job_id_id", "job_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id")
    kind: str
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
