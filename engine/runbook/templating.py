r"""`{{name}}` templating: find references (for validation) and fill them in (at run time).

A reference is what the regex `\{\{(.*?)\}\}` matches (`.` not matching a line break), but
found by a scan that is linear in the text: that regex tries every `{{` against the rest
of the text, so 40 kB of `{{` took ~30 s in one C call that held the GIL and so froze
every thread of the console.
"""

import re
from collections.abc import Iterator
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

# A name, or `item.field` for a field of a for_each's record.
NAME_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)?)\s*$")

Pos = tuple[int, int]
# Names every runbook may use without declaring them; the worker fills them in.
BUILTINS = ("console_url",)  # the console's base URL (JOBDECK_PUBLIC_URL or its own address)


def _templates(text: str) -> Iterator[tuple[int, int, str]]:
    """Each `{{…}}` in `text` as (start, end, what is inside), left to right: from a `{{`
    to the first `}}` after it, with no line break between (else the next `{{` after the
    line break is tried). Each character is looked at a bounded number of times."""
    pos, close = 0, -1
    while (start := text.find("{{", pos)) >= 0:
        if close < start + 2:  # the first `}}` after this `{{` (reused while still after it)
            close = text.find("}}", start + 2)
            if close < 0:
                return  # no `}}` further on: no more templates
        newline = text.find("\n", start + 2, close)
        if newline >= 0:  # so is every `{{` before the line break: go past it
            pos = newline + 1
            continue
        yield start, close + 2, text[start + 2:close]
        pos = close + 2


def references(text: str) -> list[str | None]:
    """Names used in `text`; None for a `{{ }}` that holds no plain name."""
    found = []
    for _start, _end, inside in _templates(text):
        nm = NAME_RE.match(inside)
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
        parts, done = [], 0
        for start, end, inside in _templates(value):
            parts += [value[done:start], values.get(inside.strip(), "")]
            done = end
        return "".join(parts) + value[done:] if parts else value
    if isinstance(value, list):
        return [render(v, values) for v in value]
    if isinstance(value, dict):
        return {k: render(v, values) for k, v in value.items()}
    return value
