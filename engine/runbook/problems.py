"""A runbook's validation problems as data: where (file, line, column, step), what, and
the nearest valid word when the author probably mistyped one."""

import difflib
from collections.abc import Iterable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Problem:
    """One problem; `line` and `column` are 1-based (None when the file is unreadable)."""

    path: str
    line: int | None
    column: int | None
    message: str
    step: str | None = None  # the step's name, when the problem is inside a step
    suggestion: str | None = None  # "click" for "clik"

    @property
    def text(self) -> str:
        """The problem without its place: `step "name": message (did you mean "x"?)`."""
        step = f'step "{self.step}": ' if self.step else ""
        hint = f' (did you mean "{self.suggestion}"?)' if self.suggestion else ""
        return f"{step}{self.message}{hint}"

    def __str__(self) -> str:
        """`file:line:col: ` and the text, as compilers and editors print a problem."""
        where = f"{self.path}:{self.line}:{self.column}" if self.line else self.path
        return f"{where}: {self.text}"

    def as_dict(self) -> dict:
        """The problem as JSON-ready data (the API's `problems`)."""
        return asdict(self)


def closest(word: object, choices: Iterable[str]) -> str | None:
    """The valid word nearest to a misspelt one (difflib ratio ≥ 0.6), else None."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return close[0] if close else None
