"""`/api/schedules`: create, list, change and delete schedules; preview their fire times."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from engine.errors import NotFound
from engine.identity.access import Actor
from engine.service import schedules
from engine.service.report import job_summary
from engine.service.schedule_times import InvalidSchedule, occurrences, preview
from models import ErrorDetail, FireTimes, Schedule, ScheduleOverlap, ScheduleRead
from pages.api.access import REFUSED, UNSIGNED, allowed
from pages.api.limits import MAX_INT, MAX_SECONDS

router = APIRouter(prefix="/api/schedules", tags=["schedules"], responses=UNSIGNED)
NO_SCHEDULE: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorDetail, "description": "No such schedule"}}
ScheduleId = Annotated[int, Path(ge=1, le=MAX_INT, description="the schedule's id")]


class ScheduleBody(BaseModel):
    runbook: str
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    cron: str | None = Field(None, examples=["0 6 * * 1-5"])
    interval_s: int | None = Field(None, le=MAX_SECONDS)  # the minimum: the engine's
    at: datetime | None = None
    timezone: str | None = Field(None, examples=["Europe/Berlin"])
    enabled: bool = True
    misfire_grace_s: int = Field(300, ge=0, le=MAX_SECONDS)
    overlap: ScheduleOverlap = ScheduleOverlap.skip


class ScheduleChanges(BaseModel):
    params: dict[str, str | int | float | bool] | None = None
    cron: str | None = None
    interval_s: int | None = Field(None, le=MAX_SECONDS)  # the minimum: the engine's
    at: datetime | None = None
    timezone: str | None = None
    enabled: bool | None = None
    misfire_grace_s: int | None = Field(None, ge=0, le=MAX_SECONDS)
    overlap: ScheduleOverlap | None = None


def document(schedule: Schedule, with_runs: bool = False) -> dict:
    """The schedule as the API sends it (ScheduleRead); its last runs `with_runs`."""
    assert schedule.id is not None  # a stored schedule
    pending = schedules.pending_job(schedule.id)
    try:
        upcoming = [t.isoformat() for t in schedules.next_times(schedule)]
    except InvalidSchedule:
        upcoming = []
    return {
        "id": schedule.id, "runbook": schedule.runbook_name, "params": schedule.params,
        "cron": schedule.cron, "interval_s": schedule.interval_s,
        "at": schedule.at.isoformat() if schedule.at else None,
        "timezone": schedule.timezone, "enabled": schedule.enabled,
        "misfire_grace_s": schedule.misfire_grace_s,
        "overlap": schedule.overlap.value,
        "next_fire_times": upcoming if schedule.enabled else [],
        "pending_job_id": pending.id if pending else None,
        "last_fired_at": schedule.last_fired_at.isoformat() if schedule.last_fired_at else None,
        "misses": schedule.misses,
        "last_runs": [job_summary(j) for j in schedules.recent_runs(schedule.id)]
        if with_runs else [],
    }


def _stringify(params: dict) -> dict[str, str]:
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}


@router.get("", summary="List schedules", response_model=list[ScheduleRead])
def list_schedules() -> list[dict]:
    return [document(s) for s in schedules.list_schedules()]


@router.post("", summary="Create a schedule (exactly one of cron, interval_s, at)",
             status_code=201, response_model=ScheduleRead, responses=REFUSED)
def create(body: ScheduleBody, actor: Actor = allowed("schedules")) -> dict:
    schedule = schedules.create_schedule(body.runbook, _stringify(body.params),
                        cron=body.cron, interval_s=body.interval_s, at=body.at,
                        timezone=body.timezone, enabled=body.enabled,
                        misfire_grace_s=body.misfire_grace_s, overlap=body.overlap.value,
                        by=actor)
    return document(schedule)


@router.post("/preview", summary="The next five fire times, without saving",
             response_model=FireTimes)
def preview_times(body: ScheduleBody) -> dict:
    when = occurrences(body.cron, body.interval_s, body.at,
                       body.timezone or schedules.server_timezone())
    return {"next_fire_times": [t.isoformat() for t in preview(when)]}


@router.api_route("/preview", methods=["GET", "PATCH", "DELETE", "PUT", "OPTIONS"],
                  include_in_schema=False)
def preview_by_other_methods() -> JSONResponse:
    """"preview" is no schedule id: 405, not a 422 about the id (RFC 9110 §15.5.6)."""
    return JSONResponse({"detail": "use POST for /api/schedules/preview"}, status_code=405,
                        headers={"Allow": "POST"})


@router.get("/{schedule_id}", summary="A schedule with its next fire times, misses and "
            "last runs",
            response_model=ScheduleRead, responses=NO_SCHEDULE)
def get(schedule_id: ScheduleId) -> dict:
    schedule = schedules.get_schedule(schedule_id)
    if schedule is None:
        raise NotFound(f"there is no schedule {schedule_id}")
    return document(schedule, with_runs=True)


@router.patch("/{schedule_id}", summary="Change a schedule; its pending job follows",
              response_model=ScheduleRead, responses={**NO_SCHEDULE, **REFUSED})
def change(schedule_id: ScheduleId, body: ScheduleChanges,
           actor: Actor = allowed("schedules")) -> dict:
    # null means "no change" where a schedule must have a value
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items()
               if v is not None or k in ("params", "cron", "interval_s", "at")}
    if "overlap" in changes:
        changes["overlap"] = changes["overlap"].value
    if "params" in changes:
        changes["params"] = _stringify(changes["params"] or {})
    return document(schedules.update_schedule(schedule_id, by=actor, **changes))


@router.delete("/{schedule_id}", summary="Delete a schedule and its pending job",
               status_code=204, responses={**NO_SCHEDULE, **REFUSED})
def remove(schedule_id: ScheduleId, actor: Actor = allowed("schedules")) -> None:
    schedules.delete_schedule(schedule_id, by=actor)
