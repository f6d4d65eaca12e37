"""The registry of step actions: each action's parameters and its executor in one entry.

The validator checks a step against its entry and the executor runs the entry's function.
The entries are made by `@step_action` on the functions in engine/runner/step_actions.py
(the page, tabs, loops), assertions.py (assert), data_actions.py (extract, export) and
file_actions.py (download, upload), which
the loader imports, so a new action is one decorated function there.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the runner imports this module; at run time only the registry flows back
    from engine.runner.step_context import JobContext, StepRunState

COMMON_KEYS = ("action", "name", "description", "timeout_ms", "retries", "when", "approval",
               "capture", "continue_on_error", "dialog", "frame", "visual_check")
# Keys that only go with an action that has a selector (`frame` scopes every selector of
# the step, its captures' included).
SELECTOR_SCOPE_KEYS = ("frame",)

# await run(ctx, st, args): args are the step's parameters, templated; raises StepFailed.
# A coroutine function: every job of a worker process runs on its browser's event loop.
Executor = Callable[["JobContext", "StepRunState", dict], Awaitable[None]]


@dataclass(frozen=True)
class ActionSpec:
    """One action: its name, its executor and the parameter keys it takes."""

    name: str
    run: Executor
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()  # exactly one of these must be given
    # Runs its own `steps`; those record their screenshots and captures, the step none.
    nested: bool = False
    # What a key means for this action where it differs from the tables below, e.g. drag's
    # `to` is a selector and switch_tab's a tab: "selector", "tab", "files", "statuses".
    kinds: tuple[tuple[str, str], ...] = ()

    def kind(self, key: str) -> str | None:
        return dict(self.kinds).get(key) or ("selector" if key == "selector" else None)


    @property
    def keys(self) -> tuple[str, ...]:
        return self.required + self.optional + self.one_of


ACTIONS: dict[str, ActionSpec] = {}


def step_action(name: str, *, required: tuple[str, ...] = (), optional: tuple[str, ...] = (),
                one_of: tuple[str, ...] = (), nested: bool = False,
                kinds: dict[str, str] | None = None) -> Callable[[Executor], Executor]:
    """Register the decorated function as the executor of action `name` in ACTIONS.

    `required` keys must all be given, `optional` ones may be, and exactly one of `one_of`
    (when not empty); the validator reads them. `nested`: the action runs the step's own
    `steps`. `kinds`: key -> "selector" | "tab" | "files" | "statuses" | "share" (a number
    0 < x <= 1), for a key whose meaning is this action's own. The coroutine function,
    awaited as run(ctx, st, args), is returned unchanged.
    Raises ValueError when `name` already has an entry.
    """
    def register(run: Executor) -> Executor:
        if name in ACTIONS:
            first = ACTIONS[name].run
            raise ValueError(f'step action "{name}" is registered twice: by '
                             f"{first.__module__}.{first.__qualname__} and by "
                             f"{run.__module__}.{run.__qualname__}; rename one of them")
        ACTIONS[name] = ActionSpec(name=name, run=run, required=tuple(required),
                                   optional=tuple(optional), one_of=tuple(one_of), nested=nested,
                                   kinds=tuple((kinds or {}).items()))
        return run
    return register


# Values a key may take, where it is a closed set.
CHOICES = {
    "button": ("left", "right", "middle"),
    "to": ("bottom", "top"),
    "state": ("visible", "hidden", "attached", "detached"),
    "load": ("load", "domcontentloaded", "networkidle"),
    "format": ("csv", "json"),
    "risk": ("low", "medium", "high"),
    "formulas": ("escape", "keep"),
}
INT_KEYS = {"count": (1, 10), "ms": (0, 3_600_000), "max": (1, 1000)}
BOOL_KEYS = ("full_page", "new_tab", "visible", "checked", "bom", "unchanged")
# Keys whose value is text (a number or a boolean is taken as written: `01234`).
TEXT_KEYS = ("url", "value", "label", "key", "text", "title", "into", "collection",
             "filename", "message", "equals")


def runs_nested_steps(action: str | None) -> bool:
    """Whether `action` is a container (repeat) whose own steps do the work: it counts in
    no step metric and its `steps` are walked like the top level's."""
    spec = ACTIONS.get(action or "")
    return spec is not None and spec.nested
