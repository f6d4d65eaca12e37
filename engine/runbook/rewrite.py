"""Edits of a runbook's YAML text that keep everything else as written: comments, quotes,
flow or block style, indentation. Each edit changes only the characters of the nodes it
moves, found by their marks in the YAML (ruamel.yaml's composer), so a runbook reads the
same after it apart from what was meant to change.

Why text surgery rather than a ruamel round-trip dump: a dump re-indents and re-wraps the
whole file (a runbook's own sequence indentation, long flow lines), which would show as
changes in the diff a person approves."""

import difflib
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from engine.errors import Conflict


class CannotRewrite(Conflict):
    """The YAML does not have the shape the edit needs (the runbook changed, or the part is
    written as an alias): nothing was changed."""


def reorder_selector(source: str, step_path: list[int], order: list[int],
                     key: str = "selector") -> str:
    """`source` with the selector list of one step put in `order`.

    `step_path`: 0-based positions from the top-level `steps` down through nested `steps`
    (repeat, for_each) to the step. `order`: the candidates' written positions (0-based),
    in their new order; a permutation of the list. Each candidate keeps its own text and a
    comment on its line; the separators, comment lines and layout stay where they were.
    Raises CannotRewrite when the step or its selector list is not where the path says, or
    the list is an alias of another place."""
    step = _step_node(YAML(typ="rt").compose(source), step_path)
    seq = _value(step, key)
    if not isinstance(seq, SequenceNode) or len(seq.value) < 2:
        raise CannotRewrite(f'the step has no list of selector candidates under "{key}"')
    if sorted(order) != list(range(len(seq.value))):
        raise CannotRewrite(f"the order {order} is not one of the list's "
                            f"{len(seq.value)} candidates")
    if not step.start_mark.index <= seq.start_mark.index <= step.end_mark.index:
        raise CannotRewrite("the selector list is a YAML alias of another place: "
                            "change the order there by hand")
    spans = [_span(source, item, block=not seq.flow_style) for item in seq.value]
    texts = [source[start:end] for start, end in spans]
    result = source
    for (start, end), written in reversed(list(zip(spans, order, strict=True))):
        result = result[:start] + texts[written] + result[end:]
    return result


def unified_diff(before: str, after: str, name: str) -> str:
    """The change from `before` to `after` as a unified diff (`--- name (current)`,
    `+++ name (new)`, 3 lines of context); "" when they are the same."""
    return "".join(difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True),
        fromfile=f"{name} (current)", tofile=f"{name} (new)"))


def _step_node(root: Any, path: list[int]) -> MappingNode:
    node: Node | None = root
    for depth, index in enumerate(path):
        steps = _value(node, "steps")
        if not isinstance(steps, SequenceNode) or index >= len(steps.value):
            raise CannotRewrite("the runbook has no step at "
                                + ".".join(str(i + 1) for i in path[:depth + 1]))
        node = steps.value[index]
    if not isinstance(node, MappingNode):
        raise CannotRewrite("the step is not a mapping")
    return node


def _value(node: Node | None, key: str) -> Node | None:
    if not isinstance(node, MappingNode):
        return None
    return next((v for k, v in node.value if getattr(k, "value", None) == key), None)


def _span(source: str, item: Node, block: bool) -> tuple[int, int]:
    """Where an item's text starts and ends. In a block list the end is the end of the line
    of its last character (a comment after it moves with it); a block node's end mark may lie
    lines further on, past blank and comment lines, which stay where they are. A flow item
    ends with its node."""
    start, end = item.start_mark.index, item.end_mark.index
    if not block:
        return start, end
    while True:
        while end > start and source[end - 1] in " \t\r\n":
            end -= 1
        line_start = source.rfind("\n", 0, end) + 1
        if line_start <= start or not source[line_start:end].lstrip().startswith("#"):
            break
        end = line_start  # a comment line of its own after the item: not the item's
    newline = source.find("\n", end)
    end = len(source) if newline == -1 else newline
    return start, end - 1 if source[end - 1:end] == "\r" else end  # a CRLF file's \r stays
