"""The check of an `extract` step's `fields`: each column's sub-selector and how to read it.

Kept out of parts.py (which calls it from `PartChecker.fields`) so that file stays small.
"""

import re
from collections.abc import Callable
from typing import Any

from ruamel.yaml.comments import CommentedMap

from engine.runbook.problems import closest
from engine.runbook.scalars import as_written

FIELD_KEYS = ("selector", "attr", "pattern", "value", "all", "required")
FIELD_FLAGS = ("value", "all", "required")
SHAPE = ('a CSS sub-selector ("" for the row itself) or {selector, attr, pattern, value, '
         "all, required}")

# error(pos, message, step, suggestion=…): the loader's, records one problem.
Report = Callable[..., None]


def _at(node: CommentedMap, key: Any, fallback: tuple[int, int], of_key: bool = False
        ) -> tuple[int, int]:
    """Where `key` (or its value) is written; a key merged in (<<: *x) has no place of its
    own in this mapping, so `fallback` stands for it."""
    if key not in node.lc.data:
        return fallback
    return node.lc.key(key) if of_key else node.lc.value(key)


def check_fields(raw: CommentedMap, error: Report, n: str) -> dict[str, dict]:
    """{column: {selector, attr, pattern, value, all, required}} from a step's `fields`;
    each problem is reported through `error` with its line and column."""
    spec = raw["fields"]
    here = _at(raw, "fields", (raw.lc.line, raw.lc.col))
    if not isinstance(spec, CommentedMap) or not spec:
        error(here, f"fields is a mapping of column: {SHAPE}", n)
        return {}
    result = {}
    for col, f in spec.items():
        name = as_written(spec, col, of_key=True) or str(col)  # a column `007:` is "007"
        field = check_field(name, f, _at(spec, col, here), error, n)
        if field is not None:
            result[name] = field
    return result


def check_field(col: str, f: Any, pos: tuple[int, int], error: Report, n: str
                ) -> dict | None:
    """One column's field, normalised; None (and a problem reported) when it is wrong."""
    if isinstance(f, str):
        return {"selector": f, "attr": None, "pattern": None,
                "value": False, "all": False, "required": False}
    if not isinstance(f, CommentedMap):
        error(pos, f'field "{col}" is {SHAPE}', n)
        return None
    ok = True
    for key in f:
        if key not in FIELD_KEYS:
            error(_at(f, key, pos, of_key=True), f'unknown key "{key}" in field "{col}" '
                  f"(a field takes {', '.join(FIELD_KEYS)})", n,
                  suggestion=closest(str(key), FIELD_KEYS))
            ok = False
    if "selector" not in f:
        error(pos, f'field "{col}" needs "selector" ("" for the row itself)', n)
        ok = False
    elif not isinstance(f["selector"], str):
        error(_at(f, "selector", pos), f'the selector of field "{col}" is a CSS '
              'sub-selector in quotes ("" for the row itself)', n)
        ok = False
    if "attr" in f and (not isinstance(f["attr"], str) or not f["attr"].strip()):
        error(_at(f, "attr", pos), f'attr of field "{col}" is an attribute\'s name, e.g. href',
              n)
        ok = False
    for key in FIELD_FLAGS:
        if key in f and not isinstance(f[key], bool):
            error(_at(f, key, pos), f'{key} of field "{col}" must be true or false', n)
            ok = False
    if f.get("value") is True and "attr" in f:
        error(_at(f, "value", pos), f'field "{col}" has both value and attr: value: true '
              "reads an input's current value, attr an attribute; keep one of them", n)
        ok = False
    pattern = f.get("pattern")
    if "pattern" in f:
        if not isinstance(pattern, str):
            error(_at(f, "pattern", pos), f'pattern of field "{col}" is a regex in quotes', n)
            ok = False
        else:
            try:
                re.compile(pattern)
            except re.error as exc:
                error(_at(f, "pattern", pos), f'pattern of field "{col}" is not a valid '
                      f"regex: {exc}", n)
                ok = False
    if not ok:
        return None
    return {"selector": f["selector"], "attr": f.get("attr"), "pattern": pattern,
            "value": f.get("value") is True, "all": f.get("all") is True,
            "required": f.get("required") is True}
