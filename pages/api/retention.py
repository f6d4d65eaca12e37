"""Retention (docs/retention.md): keep a job's files from the sweep, what the artifacts take
per runbook and what the next sweep will free, and a sweep now."""

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from engine.identity.access import Actor
from engine.service import retention
from engine.service.report import job_summary
from models import ErrorDetail, JobRead
from models.api import IsoTime
from pages.api.access import REFUSED, UNSIGNED, allowed
from pages.api.limits import MAX_INT

router = APIRouter(tags=["retention"], responses=UNSIGNED)
JobId = Annotated[int, Path(ge=1, le=MAX_INT, description="the job's id")]
NO_JOB: dict[int | str, dict[str, Any]] = {404: {"model": ErrorDetail,
                                                 "description": "No such job"}}


class KeepBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"keep": True}]})

    keep: bool = Field(strict=True, description="true: the retention sweep never deletes "
                       "the job's files; false: they go when they are due")


class RunbookStorageRead(BaseModel):
    runbook: str
    title: str
    jobs: int = Field(description="its jobs that still have files")
    bytes: int = Field(description="their artifact files and browser snapshots")


class StorageRead(BaseModel):
    """What the artifacts take, the retention settings in force and what the next sweep
    will free."""

    runbooks: list[RunbookStorageRead] = Field(description="largest first")
    total_bytes: int
    days: int = Field(description="JOBDECK_RETENTION_DAYS (0: no age limit)")
    per_runbook: int | None = Field(description="JOBDECK_RETENTION_JOBS_PER_RUNBOOK "
                                    "(null: no count limit)")
    next_jobs: int = Field(description="jobs whose files the next sweep deletes, as of now")
    next_bytes: int = Field(description="the bytes it frees")
    kept_jobs: int = Field(description="jobs kept (pinned) from the sweep")
    last_sweep: IsoTime | None = Field(description="when the last sweep ended (null: never)")


class SweepRead(BaseModel):
    jobs: list[int] = Field(description="the jobs whose files were deleted")
    bytes: int = Field(description="bytes freed")
    failed: list[int] = Field(description="jobs whose files could not all be deleted "
                              "(tried again by the next sweep; the log says why)")


@router.put("/api/jobs/{job_id}/keep", summary="Keep a job's files from the retention "
            "sweep, or let them go (operators and up; audited)", response_model=JobRead,
            responses={**NO_JOB, **REFUSED, 409: {
                "model": ErrorDetail, "description": "The job's files were already deleted "
                "by the retention sweep: there is nothing left to keep"}})
def keep(job_id: JobId, body: KeepBody, actor: Actor = allowed("keep")) -> dict:
    return job_summary(retention.set_keep(job_id, body.keep, by=actor))


@router.get("/api/storage", summary="Bytes per runbook, the retention settings and what "
            "the next sweep will free (admins)", response_model=StorageRead,
            responses=REFUSED)
def storage(actor: Actor = allowed("storage")) -> dict:
    report = retention.storage_report()
    return {**asdict(report), "last_sweep": report.last_sweep.isoformat()
            if report.last_sweep else None}


@router.post("/api/storage/sweep", summary="Run the retention sweep now (admins; audited)",
             response_model=SweepRead, responses={**REFUSED, 409: {
                 "model": ErrorDetail, "description": "Another console sweeps now"}})
def sweep(actor: Actor = allowed("storage")) -> dict:
    result = retention.sweep_now(by=actor)
    return {"jobs": result.job_ids, "bytes": result.bytes, "failed": result.failed}
