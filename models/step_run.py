from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.common import StepStatus, UTCDateTime, enum_type


class StepRun(SQLModel, table=True):
    """One execution of one step; steps inside a repeat point at the repeat's row."""

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    ordinal: int  # order of execution within the job, from 1
    parent_id: int | None = Field(default=None, foreign_key="steprun.id")
    iteration: int | None = None  # 1-based repeat iteration of a nested step
    name: str
    action: str
    description: str | None = None
    status: StepStatus = Field(StepStatus.running, sa_type=enum_type(StepStatus))
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    duration_ms: int | None = None
    retries: int = 0
    selector_used: str | None = None
    # 0-based index of the selector candidate that resolved (0: the first): a later one
    # winning is a step that "healed" (engine/service/healing.py)
    candidate: int | None = None
    captures: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error_kind: str | None = None
    error_message: str | None = None
    diagnostics: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # What the page did during the step besides its action: dialogs answered
    # [{type, message, answer, text}], tabs opened [{url, title}], warnings [text].
    dialogs: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    tabs: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    warnings: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Recovery (docs/recovery.md): the job whose result this row restores (a retried job's
    # steps before its resume point), and the share of the step's screenshot that changed
    # against the same step in the runbook's last completed job (0.0-1.0; None: no
    # comparison was made).
    restored_from: int | None = None
    visual_change: float | None = None
