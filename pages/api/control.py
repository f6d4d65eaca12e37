"""`/api/jobs/{id}/control`: take control of a paused or waiting job's browser page, send
it one input at a time, hand it back (the job goes on) or give it up (docs/api.md,
"Take control"). The engine (`engine.service.take_control`) holds every rule: who may,
in which statuses, one holder at a time; these routes only carry its answers."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from engine.identity.access import Actor
from engine.service import take_control as control
from engine.service.report import job_summary
from models import ErrorDetail, JobRead
from pages.api.access import REFUSED, UNSIGNED, allowed
from pages.api.limits import MAX_INT

router = APIRouter(prefix="/api/jobs", tags=["take control"], responses=UNSIGNED)
JobId = Annotated[int, Path(ge=1, le=MAX_INT, description="the job's id")]
ANSWERS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorDetail, "description": "No such job"}, **REFUSED,
    409: {"model": ErrorDetail, "description": "Not now: the job is not paused or waiting "
          "for approval, or someone else holds control (the message names them), or you "
          "do not hold it"}}
Fraction = Annotated[float, Field(ge=0, le=1, description="a fraction of the page shown: "
                                  "0 is the left (top) edge, 1 the right (bottom) one")]
Delta = Annotated[float, Field(ge=-control.MAX_WHEEL, le=control.MAX_WHEEL,
                               description="CSS pixels to scroll")]
# the engine's tables, as the schema's choices
InputType = Literal[control.INPUT_TYPES]  # type: ignore[valid-type]
Button = Literal[tuple(control.BUTTONS)]  # type: ignore[valid-type]
Key = Literal[tuple(control.KEYS)]  # type: ignore[valid-type]
Modifier = Literal[tuple(control.MODIFIERS)]  # type: ignore[valid-type]


class ControlInput(BaseModel):
    """One input for the job's page, as a person gave it on the live view."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"type": "click", "x": 0.5, "y": 0.25, "button": "left", "clicks": 1},
        {"type": "text", "text": "123456"}, {"type": "key", "key": "Enter"},
        {"type": "wheel", "x": 0.5, "y": 0.5, "dx": 0, "dy": 400}]})

    type: InputType
    x: Fraction | None = None
    y: Fraction | None = None
    button: Button | None = None  # type: ignore[valid-type]
    clicks: int | None = Field(None, ge=1, le=2, description="2 for a double click")
    dx: Delta | None = None
    dy: Delta | None = None
    text: str | None = Field(None, min_length=1, max_length=control.MAX_TEXT,
                             description="typed as it is")
    key: Key | None = Field(  # type: ignore[valid-type]
        None, description="a named key (the DOM's KeyboardEvent.key)")
    modifiers: list[Modifier] | None = None  # type: ignore[valid-type]


@router.post("/{job_id}/control", summary="Take control of a paused or waiting job's "
             "browser page", response_model=JobRead, responses=ANSWERS)
def take(job_id: JobId, actor: Actor = allowed("take_control")) -> dict:
    return job_summary(control.take_control(job_id, by=actor.name, role=actor.role,
                                            source=actor.source))


@router.post("/{job_id}/control/input", summary="Send one input (click, scroll, text, "
             "key) to the job's page while you hold control", status_code=204,
             response_class=Response, responses={**ANSWERS, 204: {
                 "description": "Sent to the job's page"}})
def send(job_id: JobId, body: ControlInput,
         actor: Actor = allowed("take_control")) -> Response:
    control.send_input(job_id, body.model_dump(exclude_none=True), by=actor.name)
    return Response(status_code=204)


@router.post("/{job_id}/control/hand-back", summary="Hand the page back: the job resumes "
             "(a waiting job is approved) from its next step", response_model=JobRead,
             responses=ANSWERS)
def hand_back(job_id: JobId, actor: Actor = allowed("take_control")) -> dict:
    return job_summary(control.hand_back(job_id, by=actor.name, source=actor.source))


@router.delete("/{job_id}/control", summary="Give control up; the job stays paused or "
               "waiting", response_model=JobRead, responses=ANSWERS)
def release(job_id: JobId, actor: Actor = allowed("take_control")) -> dict:
    return job_summary(control.release_control(job_id, by=actor.name, source=actor.source))
