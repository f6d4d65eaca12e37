"""What each action takes: the table the validator checks and the executor trusts."""

from dataclasses import dataclass

COMMON_KEYS = ("action", "name", "description", "timeout_ms", "retries", "when", "approval",
               "capture", "continue_on_error")


@dataclass(frozen=True)
class ActionSpec:
    required: tuple = ()
    optional: tuple = ()
    one_of: tuple = ()  # exactly one of these must be given

    @property
    def keys(self) -> tuple:
        return self.required + self.optional + self.one_of


ACTIONS: dict[str, ActionSpec] = {
    "goto": ActionSpec(required=("url",)),
    "click": ActionSpec(required=("selector",), optional=("button", "count")),
    "fill": ActionSpec(required=("selector", "value")),
    "select": ActionSpec(required=("selector",), one_of=("value", "label")),
    "check": ActionSpec(required=("selector",)),
    "uncheck": ActionSpec(required=("selector",)),
    "hover": ActionSpec(required=("selector",)),
    "press": ActionSpec(required=("key",), optional=("selector",)),
    "scroll": ActionSpec(one_of=("selector", "to")),
    "wait": ActionSpec(one_of=("ms", "selector", "url", "load"), optional=("state",)),
    "extract": ActionSpec(required=("selector", "fields", "into")),
    "assert": ActionSpec(one_of=("selector", "url", "title"), optional=("text",)),
    "screenshot": ActionSpec(optional=("full_page",)),
    "download": ActionSpec(required=("selector",)),
    "export": ActionSpec(required=("collection", "format"), optional=("filename",)),
    "approval": ActionSpec(optional=("message", "risk")),
    "repeat": ActionSpec(required=("steps", "max"), one_of=("while", "until")),
}

# Values a key may take, where it is a closed set.
CHOICES = {
    "button": ("left", "right", "middle"),
    "to": ("bottom", "top"),
    "state": ("visible", "hidden", "attached", "detached"),
    "load": ("load", "domcontentloaded", "networkidle"),
    "format": ("csv", "json"),
    "risk": ("low", "medium", "high"),
}
INT_KEYS = {"count": (1, 10), "ms": (0, 3_600_000), "max": (1, 1000)}
BOOL_KEYS = ("full_page",)
# Keys whose value is a string (numbers are accepted and turned into text).
TEXT_KEYS = ("url", "value", "label", "key", "text", "title", "into", "collection",
             "filename", "message")
