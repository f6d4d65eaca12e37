"""Load a runbook from YAML and report every problem at once, with line and column."""

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.reader import ReaderError

import engine.runner.assertions  # noqa: F401  (these fill ACTIONS: each action's entry)
import engine.runner.data_actions  # noqa: F401
import engine.runner.file_actions  # noqa: F401
import engine.runner.handover  # noqa: F401
import engine.runner.step_actions  # noqa: F401
import engine.runner.tabs  # noqa: F401
from engine.errors import InvalidInput
from engine.runbook.actions import ACTIONS, COMMON_KEYS
from engine.runbook.limits import (
    MAX_PROBLEMS,
    LimitExceeded,
    check_bytes,
    check_size,
    check_steps,
    in_time,
    parse_limited,
)
from engine.runbook.model import (
    FILE_PARAM_RE,
    PARAM_KEYS,
    PARAM_TYPES,
    Param,
    Runbook,
    RunbookSettings,
    Step,
    default_step_name,
)
from engine.runbook.parts import FILE_PRODUCERS, PartChecker
from engine.runbook.problems import Problem, closest
from engine.runbook.references import check_references
from engine.runbook.scalars import as_written, written_at
from engine.runbook.visual_checks import visual_problems
from engine.settings import current_settings

NAME_RE = re.compile(r"^[a-z0-9-]+$")
TOP_KEYS = ("version", "name", "title", "description", "settings", "params", "secrets", "steps")
SETTING_TYPES: dict[str, Any] = {  # types for isinstance; Any keeps YAML values Any
    "base_url": (str, type(None)), "timeout_ms": int, "retries": int, "step_delay_ms": int,
    "stop_on_error": bool, "viewport": dict, "screenshots": str, "video": bool, "trace": bool,
    "allowed_hosts": list, "approval_timeout_s": int, "dialogs": str,
    "http_credentials": dict, "fail_on_page_errors": bool, "resume": bool,
}


class RunbookInvalid(InvalidInput):
    """A runbook with problems: `problems` as data (sorted by line and column), `errors`
    the same as text, each `file:line:col: step "name": message (did you mean "x"?)`."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        self.errors = [str(p) for p in problems]
        super().__init__("\n".join(self.errors))


class _Loader(PartChecker):
    def __init__(self, path: str):
        self.path = path
        self.problems: list[Problem] = []
        self.params: dict[str, Param] = {}
        self.produced: set[str] = set()
        self.collections: set[str] = set()

    def error(self, pos: tuple[int, int], msg: str, step: str | None = None,
              suggestion: str | None = None) -> None:
        """Record a problem at a 0-based (line, column) of the YAML."""
        self.problems.append(Problem(self.path, pos[0] + 1, pos[1] + 1, msg, step, suggestion))

    # -- top level ---------------------------------------------------------------------
    def load(self, doc: Any, source: str) -> Runbook | None:
        if not isinstance(doc, CommentedMap):
            self.error((0, 0), "a runbook is a YAML mapping with version, name, title and steps")
            return None
        for key in doc:
            if key not in TOP_KEYS:
                self.error(doc.lc.key(key), f'unknown key "{key}"',
                           suggestion=closest(key, TOP_KEYS))
        for key in ("version", "name", "title", "steps"):
            if key not in doc:
                self.error((doc.lc.line, doc.lc.col), f'missing required key "{key}"')
        if "version" in doc and (problem := _version_problem(doc["version"])):
            self.error(doc.lc.value("version"), problem)
        name = doc.get("name")
        if "name" in doc and not (isinstance(name, str) and NAME_RE.match(name)):
            self.error(doc.lc.value("name"), "name must be a slug of a-z, 0-9 and -")
        title = as_written(doc, "title")
        if "title" in doc and not (title and title.strip()):
            self.error(doc.lc.value("title"), "title must be a non-empty string")
        settings = self.settings(doc)
        params = self.params = self.read_params(doc)
        secrets = self.secrets(doc)
        steps = self.steps_of(doc, "steps", set())
        if "steps" in doc and isinstance(doc["steps"], list) and not doc["steps"]:
            self.error(doc.lc.value("steps"), "steps must list at least one step")
        runbook = Runbook(
            name=name if isinstance(name, str) else "", title=title or "",
            description=as_written(doc, "description") or "", settings=settings, params=params,
            secrets=secrets, steps=steps, source=source, path=self.path,
        )
        for pos, step, msg in check_references(runbook, doc):
            self.error(pos, msg, step)
        for pos, step, msg in visual_problems(settings, doc):
            self.error(pos, msg, step)
        return runbook

    def settings(self, doc: CommentedMap) -> RunbookSettings:
        result = RunbookSettings()
        raw = doc.get("settings")
        if raw is None:
            return result
        if not isinstance(raw, CommentedMap):
            self.error(doc.lc.value("settings"), "settings must be a mapping")
            return result
        for key, value in raw.items():
            pos = written_at(raw, key)
            if key not in SETTING_TYPES:
                self.error(written_at(raw, key, of_key=True), f'unknown setting "{key}"',
                           suggestion=closest(key, SETTING_TYPES))
            elif not isinstance(value, SETTING_TYPES[key]) or (
                    isinstance(value, bool) and SETTING_TYPES[key] is int):
                self.error(pos, f'setting "{key}" has the wrong type')
            elif key == "screenshots" and value not in ("each_step", "on_failure", "off"):
                self.error(pos, "screenshots must be each_step, on_failure or off")
            elif key == "dialogs" and value not in ("dismiss", "accept"):
                self.error(pos, "dialogs must be dismiss or accept")
            elif key == "http_credentials" and not (set(value) == {"username", "password"}
                                                    and all(as_written(value, k) is not None
                                                            for k in value)):
                self.error(pos, 'http_credentials must be {username: ..., password: ...} '
                           '(a secret such as "{{site_password}}" for the password)',
                           suggestion=next((closest(k, ("username", "password")) for k in value
                                            if k not in ("username", "password")), None))
            elif key == "viewport" and not (set(value) == {"width", "height"} and all(
                    isinstance(v, int) and v > 0 for v in value.values())):
                self.error(pos, "viewport must be {width: N, height: N}")
            elif key in ("timeout_ms", "retries", "step_delay_ms",
                         "approval_timeout_s") and value < 0:
                self.error(pos, f"{key} must not be negative")
            else:
                setattr(result, key, {k: as_written(value, k) for k in value}
                        if key == "http_credentials" else dict(value) if key == "viewport" else
                        [as_written(value, i) or "" for i in range(len(value))]
                        if key == "allowed_hosts" else value)
        return result

    def read_params(self, doc: CommentedMap) -> dict[str, Param]:
        raw = doc.get("params")
        result: dict[str, Param] = {}
        if raw is None:
            return result
        if not isinstance(raw, CommentedMap):
            self.error(doc.lc.value("params"), "params must be a mapping of name: {...}")
            return result
        for pkey, spec in raw.items():
            pname = as_written(raw, pkey, of_key=True) or ""
            spec = spec if spec is not None else CommentedMap()
            if not isinstance(spec, CommentedMap):
                self.error(raw.lc.value(pkey), f'param "{pname}" must be a mapping')
                continue
            for key in spec:
                if key not in PARAM_KEYS:
                    self.error(written_at(spec, key, of_key=True),
                               f'param "{pname}": unknown key "{key}"',
                               suggestion=closest(key, PARAM_KEYS))
            if isinstance(spec.get("default"), (dict, list)):
                self.error(written_at(spec, "default"), f'param "{pname}": default is a '
                           "text value (a list: one item per line, or comma-separated)")
            if not isinstance(spec.get("required", False), bool):
                self.error(written_at(spec, "required"), f'param "{pname}": required must '
                           "be true or false")
            param = Param(name=pname, description=as_written(spec, "description") or "",
                          default=as_written(spec, "default"),
                          required=spec.get("required") is True,
                          type=self.param_type(pname, spec))
            if param.type == "file":
                self.file_param(param, spec, raw.lc.key(pkey))
            result[param.name] = param
        return result

    def param_type(self, pname: str, spec: CommentedMap) -> str:
        kind = spec.get("type", "text")
        if kind not in PARAM_TYPES:
            self.error(spec.lc.value("type"), f'param "{pname}": type must be text or file',
                       suggestion=closest(kind, PARAM_TYPES))
            return "text"
        return kind

    def file_param(self, param: Param, spec: CommentedMap, name_pos: tuple[int, int]) -> None:
        """A file param: given by whoever starts the job, so no default and never optional;
        its name names a folder (artifacts/<job>/inputs/<name>/), so a plain name."""
        if "default" in spec:
            self.error(spec.lc.value("default"), f'param "{param.name}": a file param has '
                       "no default (the file is given when a job starts)")
        if spec.get("required", True) is not True:
            self.error(spec.lc.value("required"), f'param "{param.name}": a file param is '
                       "always required")
        if not FILE_PARAM_RE.match(param.name):
            self.error(name_pos, f'param "{param.name}": a file param\'s name may hold '
                       "only letters, digits, _ and -")
        param.required, param.default = True, None

    def secrets(self, doc: CommentedMap) -> list[str]:
        raw = doc.get("secrets")
        if raw is None:
            return []
        if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
            self.error(doc.lc.value("secrets"), "secrets must be a list of names")
            return []
        return list(raw)

    # -- steps -------------------------------------------------------------------------
    def steps_of(self, parent: CommentedMap, key: str, names: set,
                 prefix: str = "") -> list[Step]:
        raw = parent.get(key)
        if raw is None:
            return []
        if not isinstance(raw, CommentedSeq):
            self.error(parent.lc.value(key), f"{key} must be a list of steps")
            return []
        steps = []
        for i, item in enumerate(raw):
            step = self.step(raw, i, item, names, prefix)
            if step:
                steps.append(step)
        return steps

    def step(self, seq: CommentedSeq, i: int, raw: Any, names: set, prefix: str) -> Step | None:
        pos = seq.lc.item(i)
        if not isinstance(raw, CommentedMap):
            self.error(pos, f"step {i + 1} must be a mapping with an action")
            return None
        name = raw.get("name", default_step_name(prefix, i))
        if not isinstance(name, str) or not name:
            self.error(written_at(raw, "name"), "a step name must be a non-empty string")
            name = default_step_name(prefix, i)
        if name in names:
            self.error(raw.lc.value("name") if "name" in raw else pos,
                       f'duplicate step name "{name}"', name)
        names.add(name)
        action = raw.get("action")
        if action is None:
            self.error(pos, 'missing "action"', name)
            return None
        if action not in ACTIONS:
            self.error(written_at(raw, "action"), f'unknown action "{action}"', name,
                       suggestion=closest(action, ACTIONS))
            return None
        spec = ACTIONS[action]
        allowed = set(COMMON_KEYS) | set(spec.keys)
        for key in raw:
            if key not in allowed:
                message, suggestion = _not_allowed(key, action, allowed)
                self.error(written_at(raw, key, of_key=True), message, name,
                           suggestion=suggestion)
        step = Step(ordinal=i + 1, name=name, action=action, args={}, line=pos[0] + 1)
        self.common(step, raw)
        self.action_args(step, raw, spec)
        if action == "extract" and step.args.get("into"):  # a later for_each may use it
            self.collections.add(step.args["into"])
        if action in FILE_PRODUCERS:  # a later upload may name its file by this step
            self.produced.update({name, step.args.get("filename") or name})
        if spec.nested:
            step.steps = self.steps_of(raw, "steps", names, prefix=f"{name}.")
        return step


def _not_allowed(key: str, action: str, allowed: set) -> tuple[str, str | None]:
    """(message, suggestion) for a key the action does not take: which actions take it,
    else the closest key it does take."""
    takers = sorted(a for a, spec in ACTIONS.items() if key in spec.keys)
    if takers:
        return (f'"{key}" does not go with action "{action}"; it goes with '
                + ", ".join(takers)), None
    return f'unknown key "{key}" for action "{action}"', closest(key, allowed)


def _version_problem(version: Any) -> str | None:
    """Why `version` is not the number 1, or None. A number is what YAML reads
    (`0x1` is 1); `true` is a bool, which Python counts as the int 1, so types decide."""
    if isinstance(version, bool):
        return f"version must be the number 1, not {str(version).lower()}"
    if isinstance(version, str):
        return f'version must be the number 1, not the text "{version[:20]}": write version: 1'
    if isinstance(version, float):
        return f"version must be the whole number 1, not {version}"
    return None if isinstance(version, int) and version == 1 else "version must be 1"


def load_runbook(source: str, path: str = "<runbook>", *, size_checked: bool = True
                 ) -> Runbook:
    """Parse and validate a runbook's YAML; raise RunbookInvalid listing every problem
    (at most MAX_PROBLEMS, then how many more). The limits of engine/runbook/limits.py
    are checked first, each as the one problem; `size_checked=False` skips the size, for
    a runbook stored before JOBDECK_MAX_RUNBOOK_KB was lowered."""
    try:
        if size_checked:
            check_size(source, current_settings().max_runbook_kb)
        doc = parse_limited(source)
        check_steps(doc)
    except LimitExceeded as exc:
        raise _refused(path, exc) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise RunbookInvalid([Problem(path, line, col, f"YAML syntax error: {exc.problem}")]
                             ) from None
    except ReaderError as exc:  # a character YAML does not allow (NUL, other controls)
        line, col = _place(source, exc.position)
        raise RunbookInvalid([Problem(path, line, col, f"YAML cannot hold character "
                                      f"#x{exc.character:04x} here: remove it")]) from None
    loader = _Loader(path)
    runbook = loader.load(doc, source)
    if loader.problems or runbook is None:  # None comes with a problem
        problems = sorted(loader.problems, key=lambda p: (p.line or 0, p.column or 0, str(p)))
        if len(problems) > MAX_PROBLEMS:  # a list nobody reads, and a slow page to show
            more = len(problems) - MAX_PROBLEMS
            problems = problems[:MAX_PROBLEMS] + [Problem(
                path, None, None, f"… and {more} more problems (the first {MAX_PROBLEMS} "
                "are listed)")]
        raise RunbookInvalid(problems)
    return runbook


def check_runbook(source: str, path: str = "<runbook>") -> Runbook:
    """`load_runbook` for a server: in a thread of its own, refused (RunbookInvalid) when
    it takes longer than CHECK_SECONDS, so a request never waits on it for longer."""
    try:
        return in_time(lambda: load_runbook(source, path))
    except LimitExceeded as exc:
        raise _refused(path, exc) from None


def _refused(path: str, exc: LimitExceeded) -> RunbookInvalid:
    line, col = (exc.pos[0] + 1, exc.pos[1] + 1) if exc.pos else (None, None)
    return RunbookInvalid([Problem(path, line, col, exc.message)])


@lru_cache(maxsize=128)
def stored_runbook(source: str, path: str) -> Runbook:
    """A stored, already validated runbook, parsed once per process (parsing costs ~7 ms,
    paid when a job is created and again when it starts). Treat the result as read-only.
    Its size was checked when it was stored (JOBDECK_MAX_RUNBOOK_KB may be lower now)."""
    return load_runbook(source, path, size_checked=False)


def load_runbook_file(path: str | Path) -> Runbook:
    """Read and validate a runbook file; one over JOBDECK_MAX_RUNBOOK_KB is not read."""
    p = Path(path)
    try:
        check_bytes(p.stat().st_size, current_settings().max_runbook_kb)
        source = p.read_text(encoding="utf-8")
    except LimitExceeded as exc:
        raise _refused(str(p), exc) from None
    except OSError as exc:
        raise RunbookInvalid([Problem(str(p), None, None,
                                      f"cannot read the file: {exc.strerror}")]) from None
    return load_runbook(source, str(p))


def _place(source: str, position: int) -> tuple[int, int]:
    """The 1-based line and column of a character offset in `source`."""
    before = source[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1
