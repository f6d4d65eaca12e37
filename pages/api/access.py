"""The API's side of roles: each route names the action it needs; 403 says which role."""

from typing import Any

from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel

from engine.identity.access import Actor, Forbidden, may, require
from engine.service import jobs
from models import ErrorDetail

# For the docs of a route that needs more than viewing
REFUSED: dict[int | str, dict[str, Any]] = {403: {
    "model": ErrorDetail, "description": "Your role does not allow it (the message says "
    "which role does)"}}


class Invalid(BaseModel):
    """A 422: FastAPI's list of what does not fit the schema, or the engine's message."""

    detail: str | list[dict[str, Any]]


# Every /api route: the gate answers 401 without a valid session or API token
UNSIGNED: dict[int | str, dict[str, Any]] = {401: {
    "model": ErrorDetail, "description": "Not signed in: no session, or an API token that "
    "is not valid"}}


def actor_of(request: Request) -> Actor:
    """Who sends the request (the gate let it through with a session or a token)."""
    return request.state.actor


def allowed(action: str):
    """A dependency: the actor, if their role allows `action`; else 403 (and audited)."""

    def check(request: Request) -> Actor:
        actor = actor_of(request)
        if may(actor.role, action):
            return actor
        raw = str(request.path_params.get("job_id", ""))[:30]
        exists = raw.isdigit() and len(raw) < 18 and jobs.job_exists(int(raw))
        try:  # the refusal is recorded, with its job when there is one
            require(actor, action, job_id=int(raw) if exists else None,
                    target=f"job {raw}" if raw and not exists else None)
        except Forbidden as exc:
            raise HTTPException(403, str(exc)) from None
        return actor

    return Depends(check)
