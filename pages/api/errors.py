"""Engine errors as HTTP answers, mapped once for every route: 404 not found, 403
forbidden, 409 conflict (the job's status does not allow it), 422 invalid input, 503
unavailable. The body is `{"detail": message}`; an invalid runbook adds its problems."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from engine.errors import Conflict, Forbidden, InvalidInput, JobdeckError, NotFound, Unavailable
from engine.runbook import RunbookInvalid

HTTP_STATUS: dict[type[JobdeckError], int] = {
    NotFound: 404, Forbidden: 403, Conflict: 409, InvalidInput: 422, Unavailable: 503,
}


def http_status(exc: JobdeckError) -> int:
    """The HTTP status of an engine error (RFC 9110, section 15); 500 for an unknown kind."""
    return next((code for kind, code in HTTP_STATUS.items() if isinstance(exc, kind)), 500)


async def jobdeck_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, RunbookInvalid):
        return JSONResponse(status_code=422, content={
            "detail": f"the runbook is invalid ({len(exc.errors)} problems)",
            "errors": exc.errors, "problems": [p.as_dict() for p in exc.problems]})
    assert isinstance(exc, JobdeckError)
    return JSONResponse(status_code=http_status(exc), content={"detail": str(exc)})


def install_error_handlers(app: FastAPI) -> None:
    """Let every route raise engine errors instead of catching them one by one."""
    app.add_exception_handler(JobdeckError, jobdeck_error)
