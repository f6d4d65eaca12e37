"""The API's side of roles: each route names the action it needs; 403 says which role."""

from fastapi import Depends, HTTPException, Request

from engine.access import Actor, Forbidden, require


def actor_of(request: Request) -> Actor:
    """Who sends the request (the gate let it through with a session or a token)."""
    return request.state.actor


def allowed(action: str):
    """A dependency: the actor, if their role allows `action`; else 403 (and audited)."""

    def check(request: Request) -> Actor:
        actor = actor_of(request)
        job_id = request.path_params.get("job_id")
        try:
            require(actor, action, job_id=int(job_id) if job_id else None)
        except Forbidden as exc:
            raise HTTPException(403, str(exc)) from None
        return actor

    return Depends(check)
