"""A failed step: its error kind (from the runbook format), a message and diagnostics."""

from models import ErrorKind


class StepFailed(Exception):
    """Raised inside a step; the executor records it on the step and decides what follows."""

    def __init__(self, kind: ErrorKind, message: str, diagnostics: dict | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.diagnostics = diagnostics or {}
