"""`/api/runbooks/{name}/versions`, `/diff`, `/archive` and `/restore`: each version of a
runbook as saved (who, when, its YAML), the diff of any two, and archiving (hidden, not
runnable, history kept) and restoring it; docs/api.md."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from engine.identity.access import Actor
from engine.service import runbooks
from models import ErrorDetail
from pages.api.access import REFUSED, UNSIGNED, allowed
from pages.api.limits import MAX_INT

router = APIRouter(prefix="/api/runbooks", tags=["runbook versions"], responses=UNSIGNED)
NO_RUNBOOK: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorDetail, "description": "No such runbook"}}
NO_VERSION: dict[int | str, dict[str, Any]] = {404: {
    "model": ErrorDetail, "description": "No such runbook, or no such version of it (or one "
    "saved before Jobdeck kept versions that no job ran): the message says which"}}
Version = Annotated[int, Path(ge=1, le=MAX_INT, description="the version's number")]


class RunbookVersionRead(BaseModel):
    """A version of a runbook as saved."""

    version: int
    title: str
    saved_by: str | None = Field(description="who saved it; null: loaded from a file at "
                                 "start, or saved before Jobdeck recorded who")
    saved_at: datetime
    current: bool = Field(description="whether it is the runbook's current version")


class RunbookVersionWithSource(RunbookVersionRead):
    """A version of a runbook and its YAML as written."""

    source: str


class RunbookDiff(BaseModel):
    name: str
    from_version: int
    to_version: int
    diff: str = Field(description='a unified diff from one version to the other ("": the '
                      "same YAML)")


class ArchiveState(BaseModel):
    """Whether a runbook is archived now, and by whom since when."""

    name: str
    version: int
    archived_at: datetime | None
    archived_by: str | None


def _version(info, current: int) -> dict:
    return {"version": info.version, "title": info.title, "saved_by": info.saved_by,
            "saved_at": info.saved_at, "current": info.version == current}


def _current(name: str) -> int:
    row = runbooks.get_runbook(name)
    return row.version if row is not None else 0


@router.get("/{name}/versions", summary="A runbook's kept versions, newest first",
            response_model=list[RunbookVersionRead], responses=NO_RUNBOOK)
def versions(name: str) -> list[dict]:
    found = runbooks.runbook_versions(name)
    current = _current(name)
    return [_version(info, current) for info in found]


@router.get("/{name}/versions/{version}", summary="One version of a runbook with its YAML",
            response_model=RunbookVersionWithSource, responses=NO_VERSION)
def one_version(name: str, version: Version) -> dict:
    kept = runbooks.runbook_version(name, version)
    return {**_version(kept, _current(name)), "source": kept.source}


@router.get("/{name}/diff", summary="The diff between two versions of a runbook",
            response_model=RunbookDiff, responses=NO_VERSION)
def diff(name: str,
         from_version: Annotated[int, Query(alias="from", ge=1, le=MAX_INT,
                                            description="the version to compare from")],
         to_version: Annotated[int, Query(alias="to", ge=1, le=MAX_INT,
                                          description="the version to compare to")]) -> dict:
    return {"name": name, "from_version": from_version, "to_version": to_version,
            "diff": runbooks.diff_versions(name, from_version, to_version)}


def _state(row) -> dict:
    return {"name": row.name, "version": row.version, "archived_at": row.archived_at,
            "archived_by": row.archived_by}


@router.post("/{name}/archive", summary="Archive a runbook: hidden from the list, not "
             "runnable, its schedules record misses; jobs and versions kept (admins; "
             "audited)", response_model=ArchiveState, responses={
                 **NO_RUNBOOK, **REFUSED,
                 409: {"model": ErrorDetail, "description": "It is archived already"}})
async def archive(name: str, actor: Actor = allowed("runbooks")) -> dict:
    return _state(await run_in_threadpool(runbooks.archive_runbook, name, by=actor))


@router.post("/{name}/restore", summary="Restore an archived runbook: listed and runnable "
             "again (admins; audited)", response_model=ArchiveState, responses={
                 **NO_RUNBOOK, **REFUSED,
                 409: {"model": ErrorDetail, "description": "It is not archived"}})
async def restore(name: str, actor: Actor = allowed("runbooks")) -> dict:
    return _state(await run_in_threadpool(runbooks.restore_runbook, name, by=actor))
