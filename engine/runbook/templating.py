"""`{{name}}` templating: find references (for validation) and fill them in (at run time)."""

import re
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

TEMPLATE_RE = re.compile(r"\{\{(.*?)\}\}")
# A name, or `item.field` for a field of a for_each's record.
NAME_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)?)\s*$")

Pos = tuple[int, int]
# Names every runbook may use without declaring them; the worker fills them in.
BUILTINS = ("console_url",)  # the console's base URL (JOBDECK_PUBLIC_URL or its own address)


def references(text: str) -> list[str | None]:
    """Names used in `text`; None for a `{{ }}` that holds no plain name."""
    found = []
    for m in TEMPLATE_RE.finditer(text):
        nm = NAME_RE.match(m.group(1))
        found.append(nm.group(1) if nm else None)
    return found


def collect_refs(node: Any, pos: Pos, skip: tuple = ()) -> list[tuple[str | None, Pos]]:
    """Every `{{ }}` in the string values under a YAML node, with its position."""
    out: list[tuple[str | None, Pos]] = []
    if isinstance(node, str):
        out += [(name, pos) for name in references(node)]
    elif isinstance(node, CommentedMap):
        for k, v in node.items():
            if k not in skip:  # a merged key (<<: *defaults) has no place of its own here
                out += collect_refs(v, node.lc.value(k) if k in node.lc.data else pos)
    elif isinstance(node, CommentedSeq):
        for i, v in enumerate(node):
            out += collect_refs(v, node.lc.item(i))
    return out


def render_builtins(text: str, console_url: str) -> str:
    """`text` with the built-in names filled in (a param's default may use them)."""
    return render(text, {"console_url": console_url})


def render(value: Any, values: dict[str, str]) -> Any:
    """Fill `{{name}}` in every string inside `value`; a name never set becomes ''."""
    if isinstance(value, str):
        return TEMPLATE_RE.sub(lambda m: values.get(m.group(1).strip(), ""), value)
    if isinstance(value, list):
        return [render(v, values) for v in value]
    if isinstance(value, dict):
        return {k: render(v, values) for k, v in value.items()}
    return value
