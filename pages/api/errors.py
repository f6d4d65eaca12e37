"""Engine errors as HTTP answers, mapped once for every route: 404 not found, 403
forbidden, 409 conflict (the job's status does not allow it), 422 invalid input, 507 the
data directory is full, 503 unavailable. The body is `{"detail": message}`; an invalid
runbook adds its problems."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from engine.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    JobdeckError,
    NotFound,
    StorageFull,
    Unavailable,
    is_storage_full,
)
from engine.runbook import RunbookInvalid
from engine.settings import current_settings

# StorageFull is an Unavailable: it comes first so that it keeps its own status.
HTTP_STATUS: dict[type[JobdeckError], int] = {
    NotFound: 404, Forbidden: 403, Conflict: 409, InvalidInput: 422, StorageFull: 507,
    Unavailable: 503,
}


def http_status(exc: JobdeckError) -> int:
    """The HTTP status of an engine error (RFC 9110, section 15; 507 Insufficient Storage,
    RFC 4918, section 11.5); 500 for an unknown kind."""
    return next((code for kind, code in HTTP_STATUS.items() if isinstance(exc, kind)), 500)


async def jobdeck_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, RunbookInvalid):
        return JSONResponse(status_code=422, content={
            "detail": f"the runbook is invalid ({len(exc.errors)} problems)",
            "errors": exc.errors, "problems": [p.as_dict() for p in exc.problems]})
    assert isinstance(exc, JobdeckError)
    return JSONResponse(status_code=http_status(exc), content={"detail": str(exc)})


async def disk_error(request: Request, exc: Exception) -> JSONResponse:
    """A write that found the disk full where no engine function said so (an upload, the
    queue's file): the same 507; any other OSError or database error stays a 500."""
    if not is_storage_full(exc):
        raise exc
    return await jobdeck_error(request, StorageFull(current_settings().data_dir))


def install_error_handlers(app: FastAPI) -> None:
    """Let every route raise engine errors instead of catching them one by one."""
    app.add_exception_handler(JobdeckError, jobdeck_error)
    app.add_exception_handler(OSError, disk_error)
    app.add_exception_handler(OperationalError, disk_error)
