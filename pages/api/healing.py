"""`/api/runbooks/{name}/healing`: the steps whose later selector candidate kept winning,
the diff that would put it first, and Apply (a new runbook version); docs/recovery.md."""

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from engine.identity.access import Actor
from engine.service import healing
from models import ErrorDetail
from pages.api.access import REFUSED, UNSIGNED, Invalid, allowed

router = APIRouter(prefix="/api/runbooks", tags=["healing"], responses=UNSIGNED)
NO_RUNBOOK: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorDetail, "description": "No such runbook"}}
NOTHING: dict[int | str, dict[str, Any]] = {409: {
    "model": ErrorDetail, "description": "Nothing to apply: no later candidate of the step "
    "won more often than its first, or the runbook changed since (the message says which)"}}
NO_STEP: dict[int | str, dict[str, Any]] = {422: {
    "model": Invalid, "description": "The runbook has no step of that name"}}
Last = Annotated[int, Query(ge=1, le=healing.MAX_JOBS,
                            description="how many of the runbook's finished jobs to look at")]
StepName = Annotated[str, Query(min_length=1, max_length=200, description="the step's name")]


class CandidateWinsRead(BaseModel):
    candidate: str = Field(examples=['role=button name="Sign in"'])
    position: int = Field(description="1-based, as written in the current version")
    wins: int = Field(description="in how many of the jobs looked at it won")


class SuggestionRead(BaseModel):
    step: str
    candidates: list[CandidateWinsRead]
    proposed: list[int] = Field(description="the candidates' positions in the proposed "
                                "order: most wins first, ties in written order")
    jobs: int = Field(description="the jobs looked at that resolved the step")
    winner: str


class HealingPreview(BaseModel):
    step: str
    source: str = Field(description="the runbook's YAML as Apply would store it")
    diff: str = Field(description="a unified diff from the current YAML")


class ApplyBody(BaseModel):
    step: str = Field(min_length=1, max_length=200, examples=["sign-in"])
    source: str | None = Field(None, description="the YAML the preview showed: refused "
                               "(409) when the runbook has changed since")


class HealingApplied(BaseModel):
    version: int = Field(description="the runbook's new version")


@router.get("/{name}/healing", summary="Steps whose later selector candidate won more often "
            "than the first", response_model=list[SuggestionRead], responses={
                **NO_RUNBOOK, 409: {"model": ErrorDetail, "description": "The stored runbook "
                                    "no longer validates (the message says why)"}})
def suggestions(name: str, last: Last = 20) -> list[dict]:
    return [asdict(s) for s in healing.healing_suggestions(name, last)]


@router.get("/{name}/healing/diff", summary="The diff that would put a step's winning "
            "candidate first", response_model=HealingPreview,
            responses={**NO_RUNBOOK, **NOTHING, **NO_STEP})
def preview(name: str, step: StepName, last: Last = 20) -> dict:
    source, diff = healing.preview_healing(name, step, last)
    return {"step": step, "source": source, "diff": diff}


@router.post("/{name}/healing/apply", summary="Store a new version of the runbook with the "
             "step's winning candidate first (operators and up; audited)",
             response_model=HealingApplied, responses={
                 **NO_RUNBOOK, **REFUSED, **NOTHING, 422: {
                     "model": Invalid, "description": "No step of that name, or the new "
                     "version does not validate"}})
async def apply(name: str, body: ApplyBody, last: Last = 20,
                actor: Actor = allowed("heal")) -> dict:  # 403 before the body is read
    version = await run_in_threadpool(healing.apply_healing, name, body.step, by=actor,
                                      source=body.source, last=last)
    return {"version": version}
