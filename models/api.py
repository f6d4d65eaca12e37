"""The bodies the REST API answers with, as /openapi.json documents them.

They describe, key for key, the plain data that the engine builds (engine/service/report.py's
`job_summary` and `build_report`, the runbook and schedule documents in pages/api/), so a
route's `response_model=` filters nothing out. Times are the ISO 8601 text those builders
write (`isoformat()`), kept as text so that the API sends them exactly as before.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from models.account import Role
from models.artifact import ArtifactKind
from models.common import JobStatus, ScheduleOverlap, StepStatus, Trigger

IsoTime = Annotated[str, Field(json_schema_extra={"format": "date-time"},
                               examples=["2025-01-31T06:00:00.123456+00:00"])]


class ErrorDetail(BaseModel):
    """Every error's body: what is wrong and what to do (pages/api/errors.py)."""

    detail: str


class RunbookProblem(BaseModel):
    """One problem of a runbook; `line` and `column` are 1-based."""

    path: str
    line: int | None
    column: int | None
    message: str
    step: str | None = Field(description="the step's name, for a problem inside a step")
    suggestion: str | None = Field(description='"click" for "clik"')


class RunbookProblems(ErrorDetail):
    """An invalid runbook (422): every problem, as text (`file:line:col: message`) and as
    data (pages/api/errors.py). A body that is not UTF-8 text has only `detail`."""

    errors: list[str] = Field(default_factory=list)
    problems: list[RunbookProblem] = Field(default_factory=list)


class ActorRead(BaseModel):
    """Who is signed in (or owns the token), and the actions their role allows."""

    name: str
    role: Role
    may: list[str] = Field(examples=[["view", "start", "pause", "resume", "cancel", "rerun"]])


class JobError(BaseModel):
    """Why a job failed: an error kind (`element_not_found`, `worker_lost`...) and a message."""

    kind: str
    message: str | None


class JobMetrics(BaseModel):
    """The job's figures, correct while it runs (docs/console.md, "What the figures mean").
    The step counts are of top-level steps (a repeat or for_each is one step)."""

    duration_ms: int | None = Field(description="from its start to its end; so far while "
                                    "it runs (None: not started)")
    steps_succeeded: int
    steps_failed: int = Field(description="not counting steps stopped by a cancel")
    steps_skipped: int = Field(description="a false `when`, or not reached as the job stopped")
    steps_cancelled: int = Field(description="stopped by a cancel while running or awaiting "
                                 "approval")
    retry_count: int = Field(description="selector-resolution retries of every step run, "
                             "nested ones included")


class JobControl(BaseModel):
    """Who has taken control of a job's browser page (docs/console.md, "Take control")."""

    holder: str
    since: IsoTime | None


class JobRead(BaseModel):
    """A job as a list shows it (`job_summary`); the job actions answer with it too."""

    id: int
    runbook: str
    runbook_title: str
    runbook_version: int
    status: JobStatus
    trigger: Trigger
    started_by: str | None
    schedule_id: int | None = Field(description="the schedule that made this job")
    scheduled_for: IsoTime | None = Field(
        description="the schedule's occurrence the job stands for: when a Scheduled job runs")
    rerun_of: int | None = Field(description="the job this one re-runs (trigger rerun)")
    retry_of: int | None = Field(description="the job this one retries from a step, its "
                                 "browser state restored (trigger retry)")
    created_at: IsoTime | None
    started_at: IsoTime | None
    finished_at: IsoTime | None
    step_count: int = Field(description="top-level steps in the runbook")
    steps_done: int = Field(description="top-level steps reached so far and ended (a step "
                            "skipped because the job stopped was not reached): N of "
                            "step_count")
    current_step: str | None
    worker: str | None = Field(description="host:pid:tag of the process that ran the job")
    error: JobError | None
    control: JobControl | None = Field(
        description="who has taken control of the job's browser page, if anyone")
    metrics: JobMetrics
    keep: bool = Field(description="kept (pinned): the retention sweep never deletes its "
                       "files (PUT /api/jobs/{id}/keep)")
    artifacts_deleted_at: IsoTime | None = Field(
        description="when the retention sweep deleted its artifact files and snapshots "
        "(its row, steps and figures stay); null while it has them")


class JobPage(BaseModel):
    """One page of jobs, newest first, and how many match in all."""

    items: list[JobRead]
    total: int


class StepRunRead(BaseModel):
    """One execution of one step; steps inside a repeat name the repeat as `parent_id`."""

    id: int
    ordinal: int = Field(description="order of execution within the job, from 1")
    parent_id: int | None
    name: str
    action: str
    description: str | None
    status: StepStatus
    iteration: int | None = Field(description="1-based iteration of a step inside a repeat")
    started_at: IsoTime | None = Field(description="None for a step not reached")
    duration_ms: int | None = Field(description="None while it runs and for a skipped step; "
                                    "an approval step's includes the wait")
    retries: int
    selector_used: str | None
    candidate: int | None = Field(
        None, description="0-based index of the selector candidate that resolved (0: the "
        "first; a later one: the step healed)")
    captures: dict[str, Any]
    error_kind: str | None
    error_message: str | None
    diagnostics: dict[str, Any] = Field(description="what the page showed when it failed")
    dialogs: list[dict[str, Any]] = Field(
        default_factory=list, description="dialogs the page raised during the step, each "
        "{type, message, answer: accept|dismiss, text}")
    tabs: list[dict[str, Any]] = Field(default_factory=list,
                                       description="tabs opened during the step, each {url, title}")
    warnings: list[str] = Field(default_factory=list,
                                description="what went unexpected without failing the step")
    restored_from: int | None = Field(
        None, description="a retried job's step before its resume point: the job whose "
        "result this row restores (the step did not run again)")
    visual_change: float | None = Field(
        None, description="share of the step's screenshot that changed (0.0-1.0) against "
        "the same step in the runbook's last completed job; None: not compared")


class ArtifactRead(BaseModel):
    """A file the job produced; `url` serves it (GET /api/artifacts/{id})."""

    id: int
    kind: ArtifactKind
    name: str
    size: int = Field(description="bytes")
    media_type: str
    step_run_id: int | None
    url: str


class _ReportHead(BaseModel):
    job_id: int


class JobReport(JobRead, _ReportHead):
    """The execution report: the job (with `job_id` first), its params, every step run and
    every artifact. The bases are in this order so that `job_id` leads, as it does in
    `build_report`."""

    params: dict[str, str]
    steps: list[StepRunRead]
    artifacts: list[ArtifactRead]


class RetryPoint(BaseModel):
    """A step a failed or cancelled job can be retried from (engine.service.recovery)."""

    ordinal: int = Field(description="the step row's ordinal in the job: give it (or the "
                         "name) as from_step")
    name: str
    place: str = Field(description='where inside a loop: "item 3", "iteration 2"; "" '
                       "outside one")
    status: StepStatus = Field(description="how the step ended in the job")
    path: list[str | int] = Field(description="the step's place: its top-level step's name, "
                                  "then each loop's iteration and nested step's name")


class RetryOptions(BaseModel):
    """Where a job can be retried from, and what changed in its runbook since it ran."""

    points: list[RetryPoint] = Field(description="in order, up to the failed step")
    default: int | None = Field(description="the failed step's ordinal: where a retry "
                                "starts without from_step")
    refused: str | None = Field(description="why this job cannot be retried at all "
                                "(None: it can)")
    job_version: int = Field(description="the runbook version the job ran")
    current_version: int = Field(description="the runbook's version now")
    diff: str = Field(description='unified diff of the runbook\'s YAML from the job\'s '
                      'version to the current one ("" when they are the same)')


class RunbookParam(BaseModel):
    description: str
    default: str | None
    required: bool
    type: Literal["text", "file"] = Field(
        "text", description="file: the starter gives a file (a multipart part named after "
        "the param); the param's value is then its file name")


class RunbookStep(BaseModel):
    """A top-level step: its name and its action."""

    name: str
    action: str


class RunbookRead(BaseModel):
    """A runbook as a list shows it: from its stored summary (a part the summary lacks is
    null) and its top-level steps."""

    name: str
    title: str
    version: int
    updated_at: IsoTime
    description: str | None
    params: dict[str, RunbookParam] | None
    secrets: list[str] | None = Field(description="names of the secrets it uses")
    steps: list[RunbookStep] | None
    archived_at: IsoTime | None = Field(None, description="when it was archived (hidden, "
                                        "not runnable) or null; restore it to run it")
    archived_by: str | None = Field(None, description="who archived it")


class RunbookWithSource(RunbookRead):
    """A runbook and its YAML."""

    source: str


class _Outcome(BaseModel):
    outcome: str = Field(description="created, new_version or unchanged",
                         examples=["created"])


class RunbookSaved(RunbookRead, _Outcome):
    """What adding a runbook did (`outcome` first), and the runbook as now stored."""


class ScheduleMiss(BaseModel):
    at: IsoTime
    reason: str


class ScheduleRead(BaseModel):
    """A schedule: exactly one of `cron`, `interval_s` or `at`; its next fire times (none
    while disabled), its pending job, and the fires it missed (the latest 50)."""

    id: int
    runbook: str
    params: dict[str, str]
    cron: str | None
    interval_s: int | None
    at: IsoTime | None
    timezone: str
    enabled: bool
    misfire_grace_s: int
    overlap: ScheduleOverlap = Field(
        description="when an occurrence comes while this schedule's previous job is still "
        "queued or running: skip it (recorded as a miss), queue it behind that job (one "
        "waits at most), or allow both to run")
    next_fire_times: list[IsoTime]
    pending_job_id: int | None
    last_fired_at: IsoTime | None
    misses: list[ScheduleMiss]
    last_runs: list[JobRead] = Field(default_factory=list,
                                     description="its latest jobs, newest first (up to 10)")


class SchedulerStatus(BaseModel):
    """Which process fires the schedules: one per database holds the lock."""

    running: bool = Field(description="a scheduler holds an unexpired lock")
    holder: str | None = Field(description="host:pid:tag of the process that runs it")
    since: IsoTime | None = Field(description="when that process took the lock")
    expires_at: IsoTime | None = Field(description="when the lock lapses unless renewed")


class DiskStatus(BaseModel):
    """The data directory and the free space on its disk, in MiB."""

    path: str
    free_mb: float


class Health(BaseModel):
    """The instance's health: `ok`, or `degraded` with what is wrong in `warnings`."""

    status: str = Field(examples=["ok"])
    database: str
    scheduler: SchedulerStatus
    disk: DiskStatus
    warnings: list[str]


class FireTimes(BaseModel):
    """The next fire times of a schedule not saved yet."""

    next_fire_times: list[IsoTime]
