"""Engine errors as exit codes, mapped once for every command: 2 for what the caller
asked wrongly (no such job, invalid input), 1 for what cannot be done now (refused,
forbidden, unavailable). 0 is success; `run` also exits 1 for a failed job."""

from engine.errors import Conflict, Forbidden, InvalidInput, JobdeckError, NotFound, Unavailable

EXIT_CODES: dict[type[JobdeckError], int] = {
    NotFound: 2, InvalidInput: 2, Conflict: 1, Forbidden: 1, Unavailable: 1,
}


def exit_code(exc: JobdeckError) -> int:
    """The exit code of an engine error (the first kind in EXIT_CODES that it is)."""
    return next((code for kind, code in EXIT_CODES.items() if isinstance(exc, kind)), 1)
