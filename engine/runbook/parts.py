"""Checks for the parts of a step: common keys, action parameters, selectors, conditions."""

import re
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from engine.runbook.actions import BOOL_KEYS, CHOICES, INT_KEYS, TEXT_KEYS, ActionSpec
from engine.runbook.model import CANDIDATE_KEYS, Capture, Condition, Step
from engine.runbook.problems import closest
from engine.runbook.scalars import as_written, written_at

CONDITION_KEYS = ("exists", "visible", "url", "equals", "not")


def _pos(node: CommentedMap, key) -> tuple[int, int]:
    return written_at(node, key)  # a merged-in key (<<: *defaults) included


NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
DIALOG_KEYS = ("accept", "text")
TAB_WORDS = ("previous", "latest")
FILE_SOURCES = ("param", "artifact", "path")
# Actions whose files a later upload may name by the step's name (or an export's filename).
FILE_PRODUCERS = ("download", "export", "screenshot")


class PartChecker:
    """Mixed into the loader; `self.error(pos, msg, step, suggestion=…)` records a problem.
    The loader keeps `params` (name -> Param) and `produced` (artifact names and the names
    of the steps that make files, seen so far) for the checks of `files`."""

    params: dict
    produced: set
    collections: set  # the `into` of the extract steps seen so far

    def error(self, pos: tuple[int, int], msg: str, step: str | None = None,
              suggestion: str | None = None) -> None:
        raise NotImplementedError  # the loader records the problem

    def common(self, step: Step, raw: CommentedMap) -> None:
        n = step.name
        if "description" in raw:
            step.description = as_written(raw, "description") or ""
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
        if "frame" in raw:
            step.frame = self.frames(raw, "frame", n)
        if "dialog" in raw:
            step.dialog = self.dialog(raw, n)
        if "visual_check" in raw:
            step.visual_check = self.share(raw, "visual_check", n)

    def share(self, raw: CommentedMap, key: str, n: str) -> float | None:
        """A share of the page's pixels (visual_check, assert's threshold): 0 < x <= 1."""
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                0 < value <= 1):
            self.error(_pos(raw, key), f"{key} is the share of the page's pixels that may "
                       "change: a number above 0 and at most 1 (0.05 for 5 %)", n)
            return None
        return float(value)

    def frames(self, raw: CommentedMap, key: str, n: str) -> list[str]:
        """A frame selector, or a list of them for nested frames, outermost first."""
        value = raw[key]
        frames = [value] if isinstance(value, str) else value
        if not isinstance(frames, list) or not frames or not all(
                isinstance(f, str) and f.strip() for f in frames):
            self.error(_pos(raw, key), "frame is a selector of the iframe, or a list of "
                       'them for nested frames, outermost first: ["#outer", "#inner"]', n)
            return []
        return [str(f) for f in frames]

    def dialog(self, raw: CommentedMap, n: str) -> dict | None:
        value = raw["dialog"]
        if not isinstance(value, CommentedMap):
            self.error(_pos(raw, "dialog"), "dialog is {accept: true|false, text: answer "
                       "for a prompt}", n)
            return None
        for key in value:
            if key not in DIALOG_KEYS:
                self.error(value.lc.key(key), f'unknown dialog key "{key}"', n,
                           suggestion=closest(str(key), DIALOG_KEYS))
        if not isinstance(value.get("accept", True), bool):
            self.error(_pos(value, "accept"), "dialog accept must be true or false", n)
        if isinstance(value.get("text"), (dict, list)):
            self.error(_pos(value, "text"), "dialog text must be a text value", n)
        return {"accept": value.get("accept", True) is True, "text": as_written(value, "text")}

    def approval(self, raw: CommentedMap, key: str, n: str) -> dict | None:
        v = raw[key]
        if v is True:
            return {"message": None, "risk": "medium"}
        if v is False or v is None:
            return None
        if isinstance(v, CommentedMap) and set(v) <= {"message", "risk"}:
            if v.get("risk", "medium") not in CHOICES["risk"]:
                self.error(_pos(v, "risk"), "risk must be low, medium or high", n)
            return {"message": as_written(v, "message"), "risk": v.get("risk", "medium")}
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
            kind = spec.kind(key)
            if kind == "selector":
                step.args[key] = self.selector(raw, key, n)
            elif kind == "tab":
                step.args[key] = self.tab(raw, key, n)
            elif kind == "files":
                step.args[key] = self.files(raw, key, n)
            elif kind == "statuses":
                step.args[key] = self.statuses(raw, key, n)
            elif kind in ("name", "items"):
                step.args[key] = self.loop_name(raw, key, n, kind == "items")
            elif kind == "share":
                step.args[key] = self.share(raw, key, n)
            elif kind == "whole":
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    self.error(_pos(raw, key), f"{key} must be a whole number ≥ 0", n)
                step.args[key] = value
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
                step.args[key] = as_written(raw, key) or ""
        if step.action == "approval":
            step.approval = {"message": step.args.get("message"),
                             "risk": step.args.get("risk", "medium")}
        if step.frame and not any(spec.kind(k) == "selector" for k in raw if k in spec.keys):
            self.error(_pos(raw, "frame"), f'"frame" only goes with a step that has a '
                       f'selector; this "{step.action}" has none', n)
        for key in ("capture", "dialog", "visual_check"):
            if spec.nested and key in raw:  # its own steps are the ones that act
                self.error(raw.lc.key(key), f'a {step.action} takes no "{key}": give it to '
                           "the steps inside", n)
        if raw.get("unchanged") is False and "unchanged" in spec.keys:
            self.error(_pos(raw, "unchanged"), "unchanged: false checks nothing: write "
                       "unchanged: true, or another check", n)
        if "threshold" in step.args and "unchanged" not in step.args:
            self.error(_pos(raw, "threshold"), '"threshold" only goes with "unchanged: true"', n)
        if "state" in step.args and "selector" not in step.args:
            self.error(_pos(raw, "state"), '"state" only goes with "selector"', n)
        for key in ("text", "equals", "visible", "value", "checked", "count"):
            if key in step.args and "selector" not in step.args:  # what it checks is an element
                self.error(_pos(raw, key), f'"{key}" only goes with "selector"', n)

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
            candidates.append({k: as_written(cand, k) or "" for k in cand})
        return candidates

    def tab(self, raw: CommentedMap, key: str, n: str) -> Any:
        """previous | latest | an index from 0 | {url: glob} | {title: text}."""
        value = raw[key]
        if value in TAB_WORDS or (isinstance(value, int) and not isinstance(value, bool)
                                  and value >= 0):
            return value
        if isinstance(value, CommentedMap) and len(value) == 1 and (
                set(value) <= {"url", "title"}) and isinstance(next(iter(value.values())), str):
            return dict(value)
        self.error(_pos(raw, key), "to is previous, latest, a tab's index from 0, "
                   '{url: "*glob*"} or {title: text}', n)
        return None

    def files(self, raw: CommentedMap, key: str, n: str) -> list[dict]:
        """Each file: {param: a file param}, {artifact: an earlier step's name or an
        artifact's name} or {path: a file under the data directory's files/ folder}."""
        value = raw[key]
        if not isinstance(value, CommentedSeq) or not value:
            self.error(_pos(raw, key), "files is a list of {param: name}, {artifact: name} "
                       "or {path: file under files/}", n)
            return []
        result = []
        for i, item in enumerate(value):
            place = value.lc.item(i)
            source = next(iter(item), None) if isinstance(item, CommentedMap) else None
            if source not in FILE_SOURCES or len(item) != 1 or not isinstance(
                    item[source], str) or not item[source].strip():
                self.error(place, "each file is one of {param: name}, {artifact: name} or "
                           "{path: file under files/}", n, suggestion=closest(
                               str(source), FILE_SOURCES) if source else None)
                continue
            ref = str(item[source])
            param = self.params.get(ref)
            if source == "param" and (param is None or getattr(param, "type", "") != "file"):
                files = [p for p, v in self.params.items() if getattr(v, "type", "") == "file"]
                self.error(place, f'"{ref}" is not a param of type: file'
                           + (f" (file params: {', '.join(files)})" if files else
                              "; declare it under params with type: file"), n,
                           suggestion=closest(ref, files))
            elif source == "artifact" and "{{" not in ref and ref not in self.produced and (
                    "." not in ref or not self.produced):  # a file name a server may give
                self.error(place, f'no earlier step makes a file called "{ref}": name an '
                           "earlier download, export or screenshot step, or the file's name", n,
                           suggestion=closest(ref, self.produced))
            elif source == "path" and (ref.startswith(("/", "\\")) or ".." in re.split(
                    r"[/\\]", ref)):
                self.error(place, f'path "{ref}" must stay inside the files/ folder: no '
                           "leading / and no ..", n)
            result.append({source: ref})
        return result

    def loop_name(self, raw: CommentedMap, key: str, n: str, items: bool) -> str:
        """for_each's `as` (a name for {{name}}), or its `items`: a collection an earlier
        extract fills (`into`) or a param."""
        value = raw[key]
        if not isinstance(value, str) or not NAME.match(value):
            self.error(_pos(raw, key), f"{key} is a name of letters, digits, _ and -", n)
            return ""
        known = set(self.collections) | set(self.params)
        if items and value not in known:
            self.error(_pos(raw, key), f'no collection or param "{value}": an earlier '
                       "extract step's into, or a param (one item per line, or "
                       "comma-separated)", n, suggestion=closest(value, known))
        return value

    def statuses(self, raw: CommentedMap, key: str, n: str) -> list[int]:
        value = raw[key]
        codes = [value] if isinstance(value, int) else value
        if not isinstance(codes, list) or not codes or not all(
                isinstance(c, int) and not isinstance(c, bool) and 100 <= c <= 599
                for c in codes):
            self.error(_pos(raw, key), f"{key} is a list of HTTP status codes, e.g. [404]", n)
            return []
        return list(codes)

    def condition(self, raw: CommentedMap, key: Any, n: str) -> Condition | None:
        value = raw[key]
        kinds = [k for k in value if k != "frame"] if isinstance(value, CommentedMap) else []
        if len(kinds) != 1:
            self.error(_pos(raw, key), "a condition has exactly one of "
                       + ", ".join(CONDITION_KEYS) + " (exists and visible may add frame)", n)
            return None
        kind = kinds[0]
        frame = self.frames(value, "frame", n) if "frame" in value else []
        if kind not in CONDITION_KEYS:
            self.error(value.lc.key(kind), f'unknown condition "{kind}"', n,
                       suggestion=closest(kind, CONDITION_KEYS))
            return None
        if kind in ("exists", "visible"):
            return Condition(kind, self.selector(value, kind, n), frame)
        if "frame" in value:
            self.error(_pos(value, "frame"), '"frame" only goes with exists or visible', n)
            return None
        if kind == "not":
            inner = self.condition(value, kind, n)
            return Condition(kind, inner) if inner else None
        if kind == "equals":
            pair = value[kind]
            if not isinstance(pair, list) or len(pair) != 2:
                self.error(_pos(value, kind), "equals takes a list of two values", n)
                return None
            return Condition(kind, [as_written(pair, i) or "" for i in range(2)])
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
            cap = Capture(name=as_written(spec, cname, of_key=True) or "",
                          attr=as_written(c, "attr"), url=c.get("url") is True,
                          pattern=as_written(c, "pattern"), js=as_written(c, "js"),
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
        """An extract's `fields`, checked in engine/runbook/fields.py."""
        from engine.runbook.fields import check_fields
        return check_fields(raw, self.error, n)

