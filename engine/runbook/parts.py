"""Checks for the parts of a step: common keys, action parameters, selectors, conditions."""

import re
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from engine.runbook.actions import BOOL_KEYS, CHOICES, INT_KEYS, TEXT_KEYS, ActionSpec
from engine.runbook.model import CANDIDATE_KEYS, Capture, Condition, Step
from engine.runbook.problems import closest

CONDITION_KEYS = ("exists", "visible", "url", "equals", "not")


def _pos(node: CommentedMap, key) -> tuple[int, int]:
    return node.lc.value(key)


class PartChecker:
    """Mixed into the loader; `self.error(pos, msg, step, suggestion=…)` records a problem."""

    def error(self, pos: tuple[int, int], msg: str, step: str | None = None,
              suggestion: str | None = None) -> None:
        raise NotImplementedError  # the loader records the problem

    def common(self, step: Step, raw: CommentedMap) -> None:
        n = step.name
        if "description" in raw:
            step.description = str(raw["description"])
        for key in ("timeout_ms", "retries"):
            if key in raw:
                v = raw[key]
                if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                    self.error(_pos(raw, key), f"{key} must be a whole number ≥ 0", n)
                else:
                    setattr(step, key, v)
        if "continue_on_error" in raw:
            if not isinstance(raw["continue_on_error"], bool):
                self.error(_pos(raw, "continue_on_error"), "continue_on_error must be true "
                           "or false", n)
            step.continue_on_error = raw["continue_on_error"] is True
        if "when" in raw:
            step.when = self.condition(raw, "when", n)
        if "approval" in raw:
            step.approval = self.approval(raw, "approval", n)
        if "capture" in raw:
            step.captures = self.captures(raw, n)

    def approval(self, raw: CommentedMap, key: str, n: str) -> dict | None:
        v = raw[key]
        if v is True:
            return {"message": None, "risk": "medium"}
        if v is False or v is None:
            return None
        if isinstance(v, CommentedMap) and set(v) <= {"message", "risk"}:
            if v.get("risk", "medium") not in CHOICES["risk"]:
                self.error(_pos(v, "risk"), "risk must be low, medium or high", n)
            return {"message": v.get("message"), "risk": v.get("risk", "medium")}
        self.error(_pos(raw, key), "approval must be true or {message, risk}", n)
        return None

    def action_args(self, step: Step, raw: CommentedMap, spec: ActionSpec) -> None:
        n = step.name
        pos = raw.lc.line, raw.lc.col
        for key in spec.required:
            if key not in raw:
                self.error(pos, f'action "{step.action}" needs "{key}"', n)
        if spec.one_of:
            given = [k for k in spec.one_of if k in raw]
            if len(given) != 1:
                self.error(pos, f'action "{step.action}" needs exactly one of '
                           + ", ".join(f'"{k}"' for k in spec.one_of), n)
        for key in spec.keys:
            if key not in raw or key == "steps":
                continue
            value = raw[key]
            if key == "selector":
                step.args[key] = self.selector(raw, key, n)
            elif key in ("while", "until"):
                cond = self.condition(raw, key, n)
                setattr(step, "while_" if key == "while" else "until", cond)
            elif key == "fields":
                step.args[key] = self.fields(raw, n)
            elif key in INT_KEYS:
                lo, hi = INT_KEYS[key]
                if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                    self.error(_pos(raw, key), f"{key} must be a whole number from {lo} to {hi}", n)
                elif key == "max":
                    step.max = value
                else:
                    step.args[key] = value
            elif key in BOOL_KEYS:
                if not isinstance(value, bool):
                    self.error(_pos(raw, key), f"{key} must be true or false", n)
                step.args[key] = value is True
            elif key in CHOICES:
                if value not in CHOICES[key]:
                    self.error(_pos(raw, key), f'{key} must be one of {", ".join(CHOICES[key])}', n)
                step.args[key] = value
            elif key in TEXT_KEYS:
                if isinstance(value, (dict, list)) or value is None:
                    self.error(_pos(raw, key), f"{key} must be a text value", n)
                step.args[key] = "" if value is None else str(value)
        if step.action == "approval":
            step.approval = {"message": step.args.get("message"),
                             "risk": step.args.get("risk", "medium")}
        if "state" in step.args and "selector" not in step.args:
            self.error(_pos(raw, "state"), '"state" only goes with "selector"', n)
        if "text" in step.args and "selector" not in step.args:
            self.error(_pos(raw, "text"), '"text" only goes with "selector"', n)

    def selector(self, raw: CommentedMap, key: Any, n: str) -> list[dict]:
        value = raw[key]
        if isinstance(value, str) and value.strip():
            return [{"selector": value}]
        if isinstance(value, CommentedMap):  # one candidate on its own, at the key's value
            value, places = [value], [_pos(raw, key)]
        elif isinstance(value, CommentedSeq):
            places = [value.lc.item(i) for i in range(len(value))]
        if not isinstance(value, list) or not value:
            self.error(_pos(raw, key), "a selector is a string or a list of candidates", n)
            return []
        candidates = []
        for place, cand in zip(places, value, strict=True):
            if isinstance(cand, str) and cand.strip():
                candidates.append({"selector": cand})
                continue
            kinds = [k for k in cand if k in CANDIDATE_KEYS] if isinstance(cand, dict) else []
            extra = set(cand) - set(CANDIDATE_KEYS) - {"name"} if isinstance(cand, dict) else set()
            if len(kinds) != 1 or extra or ("name" in cand and kinds != ["role"]):
                self.error(place, "a selector candidate has exactly one of "
                           + ", ".join(CANDIDATE_KEYS[:-1]) + ' (and "name" only with "role")', n)
                continue
            candidates.append({k: str(v) for k, v in cand.items()})
        return candidates

    def condition(self, raw: CommentedMap, key: Any, n: str) -> Condition | None:
        value = raw[key]
        if not isinstance(value, CommentedMap) or len(value) != 1:
            self.error(_pos(raw, key), "a condition has exactly one of "
                       + ", ".join(CONDITION_KEYS), n)
            return None
        kind = next(iter(value))
        if kind not in CONDITION_KEYS:
            self.error(value.lc.key(kind), f'unknown condition "{kind}"', n,
                       suggestion=closest(kind, CONDITION_KEYS))
            return None
        if kind in ("exists", "visible"):
            return Condition(kind, self.selector(value, kind, n))
        if kind == "not":
            inner = self.condition(value, kind, n)
            return Condition(kind, inner) if inner else None
        if kind == "equals":
            pair = value[kind]
            if not isinstance(pair, list) or len(pair) != 2:
                self.error(_pos(value, kind), "equals takes a list of two values", n)
                return None
            return Condition(kind, ["" if v is None else str(v) for v in pair])
        if not isinstance(value[kind], str):
            self.error(_pos(value, kind), "url takes a glob such as \"*/page/*\"", n)
            return None
        return Condition(kind, value[kind])

    def captures(self, raw: CommentedMap, n: str) -> list[Capture]:
        spec = raw["capture"]
        if not isinstance(spec, CommentedMap):
            self.error(_pos(raw, "capture"), "capture is a mapping of name: {...}", n)
            return []
        result = []
        for cname, c in spec.items():
            sources = [k for k in ("selector", "url", "js") if isinstance(c, dict) and k in c]
            known = {"selector", "attr", "url", "pattern", "js", "required"}
            if len(sources) != 1 or set(c) - known:
                self.error(_pos(spec, cname), f'capture "{cname}" takes exactly one of selector, '
                           "url: true or js (with attr, pattern, required)", n)
                continue
            cap = Capture(name=str(cname), attr=c.get("attr"), url=c.get("url") is True,
                          pattern=c.get("pattern"), js=c.get("js"),
                          required=c.get("required") is True)
            if "selector" in c:
                cap.selector = self.selector(c, "selector", n)
            if cap.pattern is not None:
                try:
                    re.compile(cap.pattern)
                except re.error as exc:
                    self.error(_pos(c, "pattern"), f"pattern is not a valid regex: {exc}", n)
            result.append(cap)
        return result

    def fields(self, raw: CommentedMap, n: str) -> dict:
        spec = raw["fields"]
        if not isinstance(spec, CommentedMap) or not spec:
            self.error(_pos(raw, "fields"), "fields is a mapping of column: sub-selector", n)
            return {}
        result = {}
        for col, f in spec.items():
            if isinstance(f, str):
                result[str(col)] = {"selector": f, "attr": None}
            elif isinstance(f, dict) and "selector" in f and set(f) <= {"selector", "attr"}:
                result[str(col)] = {"selector": str(f["selector"]), "attr": f.get("attr")}
            else:
                self.error(_pos(spec, col), f'field "{col}" is a CSS sub-selector or '
                           "{selector, attr}", n)
        return result

