"""A validated runbook as plain data; the loader builds it, the executor reads it."""

import re
from dataclasses import dataclass, field
from typing import Any

# A selector candidate is one of these keys (`role` may carry `name`); a plain string
# selector becomes {"selector": "..."}.
CANDIDATE_KEYS = ("test_id", "role", "label", "placeholder", "text", "css", "selector")


def default_step_name(prefix: str, index: int) -> str:
    """`step-3` at the top, `<repeat name>.step-1` inside a repeat."""
    return f"{prefix}step-{index + 1}"


@dataclass
class RunbookSettings:
    base_url: str | None = None
    timeout_ms: int = 10000
    retries: int = 3
    step_delay_ms: int = 0
    stop_on_error: bool = True
    viewport: dict = field(default_factory=lambda: {"width": 1280, "height": 720})
    screenshots: str = "each_step"  # each_step | on_failure | off
    video: bool = False
    trace: bool = False
    allowed_hosts: list[str] = field(default_factory=list)
    approval_timeout_s: int = 300
    dialogs: str = "dismiss"  # how alert/confirm/prompt/beforeunload are answered
    http_credentials: dict | None = None  # {username, password}, templated
    fail_on_page_errors: bool = False
    # a snapshot of the browser state after each successful step, for Retry from step N
    # (docs/recovery.md); false for runbooks whose cookies or storage must not be kept
    resume: bool = True


PARAM_KEYS = ("description", "default", "required", "type")
PARAM_TYPES = ("text", "file")
# A file param's name names a folder (artifacts/<job id>/inputs/<name>/): a plain word
FILE_PARAM_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")


@dataclass
class Param:
    """A value asked for when a job starts. `type` "text" (the default) or "file": the
    starter gives a file, kept as the job's input artifact (engine/store/inputs.py), and the
    param's value is its file name; a file param has no default and is always required."""

    name: str
    description: str = ""
    default: str | None = None
    required: bool = False
    type: str = "text"  # one of PARAM_TYPES


@dataclass
class Condition:
    kind: str  # exists | visible | url | equals | not
    value: Any  # candidates, a glob, [a, b], or a Condition
    frame: list[str] = field(default_factory=list)  # outermost first; for exists/visible


@dataclass
class Capture:
    name: str
    selector: list[dict] | None = None
    attr: str | None = None
    url: bool = False
    pattern: str | None = None
    js: str | None = None
    required: bool = False


@dataclass
class Step:
    ordinal: int  # 1-based position among its siblings
    name: str
    action: str
    args: dict[str, Any]  # the action's parameters; selectors as candidate lists
    description: str | None = None
    timeout_ms: int | None = None
    retries: int | None = None
    when: Condition | None = None
    approval: dict | None = None  # {"message": str|None, "risk": str}
    captures: list[Capture] = field(default_factory=list)
    continue_on_error: bool = False
    frame: list[str] = field(default_factory=list)  # selectors of nested frames, outermost first
    dialog: dict | None = None  # {"accept": bool, "text": str | None} for this step's dialogs
    # fail the step when its screenshot differs from the same step's in the runbook's last
    # completed job by more than this share of pixels (0-1; docs/recovery.md)
    visual_check: float | None = None
    # repeat only
    steps: list["Step"] = field(default_factory=list)
    while_: Condition | None = None
    until: Condition | None = None
    max: int | None = None
    line: int = 0


@dataclass
class Runbook:
    name: str
    title: str
    settings: RunbookSettings
    params: dict[str, Param]
    secrets: list[str]
    steps: list[Step]
    description: str = ""
    source: str = ""
    path: str = "<runbook>"

    def summary(self) -> dict:
        """What the UI lists without parsing the YAML again."""
        return {
            "title": self.title,
            "description": self.description,
            "steps": [{"name": s.name, "action": s.action} for s in self.steps],
            "params": {
                p.name: {"description": p.description, "default": p.default,
                         "required": p.required, "type": p.type}
                for p in self.params.values()
            },
            "secrets": list(self.secrets),
        }
