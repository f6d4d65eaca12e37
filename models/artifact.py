from datetime import datetime
from enum import Enum

from sqlmodel import Field, SQLModel

from models.common import UTCDateTime, enum_type, utcnow


class ArtifactKind(str, Enum):
    screenshot = "screenshot"
    video = "video"
    export = "export"
    download = "download"
    trace = "trace"
    input = "input"  # a file given when the job was started, for a param of type file


class Artifact(SQLModel, table=True):
    """A file a job produced, or was given when it started (kind `input`, no step);
    `path` is relative to the data directory."""

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    step_run_id: int | None = Field(default=None, foreign_key="steprun.id")
    kind: ArtifactKind = Field(sa_type=enum_type(ArtifactKind))
    name: str
    path: str
    size: int
    media_type: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
