"""Jobdeck's errors. Every error a person may see is a `JobdeckError` of one of a few
kinds; its message says what is wrong and what to do. The API maps the kinds to HTTP
statuses once (pages/api/errors.py) and the CLI to exit codes once (engine/cli/errors.py).
`StepFailed` is not one of them: it is a step's outcome, recorded on the step."""

import errno
import shutil
import sqlite3
from pathlib import Path

from models import ErrorKind


class JobdeckError(Exception):
    """Base of the errors a person sees; nothing was changed when one is raised."""


class NotFound(JobdeckError, LookupError):
    """No such job, runbook, schedule, user or artifact (HTTP 404, exit code 2)."""


class Forbidden(JobdeckError, PermissionError):
    """The actor may not do this: their role, or the four-eyes rule (HTTP 403, exit 1)."""


class Conflict(JobdeckError):
    """The current state does not allow it, e.g. a job action in the wrong status
    (HTTP 409, exit code 1)."""


class InvalidInput(JobdeckError, ValueError):
    """A bad runbook, parameter, schedule, name or value (HTTP 422, exit code 2)."""


class Unavailable(JobdeckError, RuntimeError):
    """Something Jobdeck needs cannot be used: the database, a browser, the port
    (HTTP 503, exit code 1)."""


class StorageFull(Unavailable):
    """The data directory's disk is full, so nothing was written (HTTP 507 Insufficient
    Storage, RFC 4918 section 11.5; exit code 1). The message names the directory and its
    free space; everything works again once space is freed, without a restart."""

    def __init__(self, directory: Path):
        directory = Path(directory).resolve()
        self.directory, self.free_mb = directory, free_mb(directory)
        super().__init__(f"the data directory is full ({self.free_mb:.0f} MB free): "
                         f"{directory}; free some space there (old jobs' artifacts, logs, "
                         "other files on that disk) and try again")


def free_mb(directory: Path) -> float:
    """Free space in MiB on the disk of `directory` (or of its nearest existing parent)."""
    path = Path(directory).resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free / 2**20


SQLITE_FULL = 13  # sqlite3 result code: "database or disk is full"


def is_storage_full(exc: BaseException) -> bool:
    """Whether `exc` says the disk is full: an OSError ENOSPC or EDQUOT, or SQLite's
    SQLITE_FULL (also when SQLAlchemy wraps it, as `.orig`)."""
    exc = getattr(exc, "orig", None) or exc
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return isinstance(exc, sqlite3.OperationalError) and (
        getattr(exc, "sqlite_errorcode", None) == SQLITE_FULL
        or "database or disk is full" in str(exc))


class ActionRefused(Conflict):
    """A job action that the job's status does not allow, or another action is pending."""


class StepFailed(Exception):
    """Raised inside a step; the executor records it on the step and decides what follows."""

    def __init__(self, kind: ErrorKind, message: str, diagnostics: dict | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.diagnostics = diagnostics or {}
