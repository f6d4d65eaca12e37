"""Validation of `{{name}}` references: defined before use, and no name clashes."""

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from engine.runbook.actions import runs_nested_steps
from engine.runbook.model import Runbook, default_step_name
from engine.runbook.scalars import written_at
from engine.runbook.templating import BUILTINS, Pos, collect_refs

Problem = tuple[Pos, str | None, str]


def check_references(runbook: Runbook, doc: CommentedMap) -> list[Problem]:
    """Problems with names: each (position, step name or None, message)."""
    problems: list[Problem] = []
    inputs = set(runbook.params) | set(runbook.secrets) | set(BUILTINS)
    for name in sorted(set(runbook.params) & set(runbook.secrets)):
        problems.append((doc.lc.value("secrets"), None, f'"{name}" is both a param and a secret'))
    for name in sorted((set(runbook.params) | set(runbook.secrets)) & set(BUILTINS)):
        problems.append((doc.lc.value("params" if name in runbook.params else "secrets"), None,
                         f'"{name}" is a built-in name ({{{{{name}}}}} is filled in by '
                         "Jobdeck): choose another"))
    params = doc.get("params")
    if isinstance(params, CommentedMap):  # a default is filled in before any input exists
        for name, spec in params.items():
            if isinstance(spec, CommentedMap) and "default" in spec:
                refs = collect_refs(spec["default"], spec.lc.value("default"))
                problems += _undefined(refs, set(BUILTINS), None,
                                       "a built-in name: " + ", ".join(BUILTINS))
    settings = doc.get("settings")
    for key in ("base_url", "http_credentials"):  # templated once, before the first step
        if isinstance(settings, CommentedMap) and key in settings:
            refs = collect_refs(settings[key], settings.lc.value(key))
            problems += _undefined(refs, inputs, None, "params and secrets")
    if isinstance(doc.get("steps"), CommentedSeq):
        _walk(doc["steps"], set(inputs), inputs, problems, "")
    return problems


def _walk(seq: CommentedSeq, defined: set, inputs: set, problems: list[Problem],
          prefix: str) -> None:
    for i, raw in enumerate(seq):
        if not isinstance(raw, CommentedMap):
            continue
        step = str(raw.get("name", default_step_name(prefix, i)))
        own = collect_refs(raw, seq.lc.item(i), skip=("steps", "until", "capture"))
        problems += _undefined(own, defined, step)
        captures = raw.get("capture")
        captures = captures if isinstance(captures, CommentedMap) else CommentedMap()
        if captures:
            problems += _undefined(collect_refs(captures, written_at(raw, "capture")), defined,
                                   step)
        if runs_nested_steps(raw.get("action")):
            if isinstance(raw.get("steps"), CommentedSeq):
                # A for_each's item is {{as}} inside it, a record's fields {{as.field}}.
                inner = defined | {str(raw["as"]), f'{raw["as"]}.*'} if "as" in raw else defined
                _walk(raw["steps"], inner, inputs, problems, f"{step}.")
                defined |= inner - {str(raw.get("as")), f'{raw.get("as")}.*'}
            if "until" in raw:
                problems += _undefined(collect_refs(raw["until"], written_at(raw, "until")),
                                       defined, step)
        for cname in captures:
            if cname in inputs or cname in BUILTINS:
                problems.append((captures.lc.key(cname), step,
                                 f'capture "{cname}" has the name of a param, a secret or a '
                                 'built-in'))
            defined.add(cname)


def _undefined(refs, defined: set, step: str | None, what: str = "") -> list[Problem]:
    out = []
    for name, pos in refs:
        if name is None:
            out.append((pos, step, "{{ }} holds a name only, no expressions"))
        elif name not in defined and f"{name.split('.')[0]}.*" not in defined:
            source = what or "an earlier step's capture, a param or a secret"
            out.append((pos, step, f'"{{{{{name}}}}}" is not defined: it must be {source}'))
    return out
