"""Jobdeck's errors. Every error a person may see is a `JobdeckError` of one of a few
kinds; its message says what is wrong and what to do. The API maps the kinds to HTTP
statuses once (pages/api/errors.py) and the CLI to exit codes once (engine/cli/errors.py).
`StepFailed` is not one of them: it is a step's outcome, recorded on the step."""

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


class ActionRefused(Conflict):
    """A job action that the job's status does not allow, or another action is pending."""


class StepFailed(Exception):
    """Raised inside a step; the executor records it on the step and decides what follows."""

    def __init__(self, kind: ErrorKind, message: str, diagnostics: dict | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.diagnostics = diagnostics or {}
