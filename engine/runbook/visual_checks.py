"""Validation of visual checks: they compare the screenshot taken after each step, so a
runbook that uses them must take one after each step, and a step has at most one of them
(docs/recovery.md)."""

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from engine.runbook.model import RunbookSettings, default_step_name
from engine.runbook.scalars import written_at
from engine.runbook.templating import Pos

Problem = tuple[Pos, str | None, str]  # (position, step name, message)


def visual_problems(settings: RunbookSettings, doc: CommentedMap) -> list[Problem]:
    """The visual checks' problems, in the order written: each step with both `visual_check`
    and `assert unchanged` (at its visual_check: which threshold would count is unclear),
    then, when settings.screenshots is not each_step, one problem at the first step that
    has a check, which counts the others. Empty when there is none."""
    if not isinstance(doc.get("steps"), CommentedSeq):
        return []
    uses: list[tuple[Pos, str]] = []
    problems: list[Problem] = []
    _find(doc["steps"], "", uses, problems)
    if settings.screenshots == "each_step" or not uses:
        return problems
    (pos, step), others = uses[0], len(uses) - 1
    more = f" ({others} more step{'s use' if others > 1 else ' uses'} them)" if others else ""
    return problems + [(
        pos, step, "visual checks (visual_check, assert unchanged) compare the screenshot "
        f"taken after each step, and settings.screenshots is {settings.screenshots}: set "
        f"screenshots: each_step, or remove the checks{more}")]


def _find(seq: CommentedSeq, prefix: str, uses: list[tuple[Pos, str]],
          problems: list[Problem]) -> None:
    for i, raw in enumerate(seq):
        if not isinstance(raw, CommentedMap):
            continue
        name = str(raw.get("name", default_step_name(prefix, i)))
        checks = [key for key in ("visual_check", "unchanged")
                  if key in raw and raw[key] is not False]
        if checks:
            uses.append((written_at(raw, checks[0], of_key=True), name))
        if len(checks) == 2:
            problems.append((written_at(raw, "visual_check", of_key=True), name,
                             'an assert with "unchanged: true" takes no "visual_check" (both '
                             'would check the same screenshot): give the assert a '
                             '"threshold" instead'))
        if isinstance(raw.get("steps"), CommentedSeq):
            _find(raw["steps"], f"{name}.", uses, problems)
