"""One registry of step actions: each documented action has one entry (its parameters and
its executor), the registry has nothing the docs do not list, and the validator reads it."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from engine.runbook import RunbookInvalid, load_runbook
from engine.runbook.actions import (
    ACTIONS,
    BOOL_KEYS,
    CHOICES,
    COMMON_KEYS,
    INT_KEYS,
    TEXT_KEYS,
    ActionSpec,
    step_action,
)

ROOT = Path(__file__).resolve().parents[2]
# The format's reference in the repo: its table of actions.
ACTION_DOCS = ROOT / "docs" / "runbooks.md"
# Keys the validator reads as a structure rather than by their kind of value (parts.py).
STRUCTURED_KEYS = {"selector", "fields", "steps", "while", "until"}


def _cells(row: str) -> list[str]:
    """A table row's cells; a `|` inside backticks (`format: csv|json`) stays in its cell."""
    cells, cell, in_code = [], "", False
    for ch in row.strip().strip("|"):
        if ch == "`":
            in_code = not in_code
        if ch == "|" and not in_code:
            cells.append(cell.strip())
            cell = ""
        else:
            cell += ch
    return [*cells, cell.strip()]


def _action_table(text: str) -> dict[str, set[str]]:
    """{action: its documented parameter keys} from the table whose header is
    `| action | parameters | ... |`; empty when the text has no such table."""
    table: dict[str, set[str]] = {}
    in_table = False
    for line in text.splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = _cells(line)
        if cells[:2] == ["action", "parameters"]:
            in_table = True
        elif in_table and not set(cells[0]) <= set("-: "):
            params = {m.group(1) for m in re.finditer(r"`([a-z_]+)", cells[1])}
            for action in re.findall(r"`([a-z_]+)`", cells[0]):
                table[action] = params
    return table


@pytest.fixture(scope="module")
def documented() -> dict[str, set[str]]:
    table = _action_table(ACTION_DOCS.read_text(encoding="utf-8"))
    assert table, f"no action table (| action | parameters | does |) in {ACTION_DOCS}"
    return table


def test_every_documented_action_has_one_entry_and_no_other(documented):
    assert len(documented) >= 17  # the table was read, not a fragment of it
    missing = sorted(set(documented) - set(ACTIONS))
    undocumented = sorted(set(ACTIONS) - set(documented))
    assert missing == [], f"documented actions with no @step_action entry: {missing}"
    assert undocumented == [], f"registered actions the docs do not list: {undocumented}"


def test_each_entry_takes_the_documented_parameters(documented):
    for name, spec in ACTIONS.items():
        # `name` in the docs' `screenshot` row is the step's own name, a common key
        assert set(spec.keys) == documented[name] - set(COMMON_KEYS), name


def test_each_entry_has_an_executor_and_a_schema_the_validator_reads():
    assert ACTIONS, "no action registered: engine.runner.step_actions was not imported"
    known = set(CHOICES) | set(INT_KEYS) | set(BOOL_KEYS) | set(TEXT_KEYS) | STRUCTURED_KEYS
    for name, spec in ACTIONS.items():
        assert isinstance(spec, ActionSpec) and spec.name == name
        assert callable(spec.run), name
        assert len(set(spec.keys)) == len(spec.keys), f"{name}: a key is listed twice"
        assert not set(spec.keys) & set(COMMON_KEYS), f"{name}: a parameter is a common key"
        # a key of no known kind would be accepted and then silently dropped
        own = {key for key in spec.keys if spec.kind(key)}  # e.g. drag's `to`: a selector
        assert set(spec.keys) <= known | own, f"{name}: {sorted(set(spec.keys) - known - own)}"
        assert spec.nested == ("steps" in spec.keys), name


def test_a_second_entry_for_an_action_is_refused():
    click = ACTIONS["click"]
    with pytest.raises(ValueError, match='step action "click" is registered twice'):
        step_action("click", required=("selector",))(lambda ctx, st, args: None)
    assert ACTIONS["click"] is click


def test_the_validator_reads_the_registry(monkeypatch):
    source = """\
version: 1
name: one-entry
title: One entry
steps:
  - {action: ping, key: x}
  - {action: ping}
  - {action: ping, key: x, selector: "#a"}
"""
    with pytest.raises(RunbookInvalid, match='unknown action "ping"'):
        load_runbook(source)
    monkeypatch.setitem(ACTIONS, "ping", ActionSpec(name="ping", run=lambda ctx, st, args: None,
                                                    required=("key",)))
    with pytest.raises(RunbookInvalid) as exc:
        load_runbook(source)
    assert [e.split(": ", 1)[1] for e in exc.value.errors] == [
        'step "step-2": action "ping" needs "key"',
        'step "step-3": "selector" does not go with action "ping"; it goes with '
        + ", ".join(sorted(a for a, spec in ACTIONS.items() if "selector" in spec.keys)),
    ]
    valid = source.replace("  - {action: ping}\n", "").replace(', selector: "#a"', "")
    runbook = load_runbook(valid)
    assert [(s.action, s.args) for s in runbook.steps] == [("ping", {"key": "x"})] * 2


def test_the_registry_is_complete_whichever_module_is_imported_first():
    # Fresh interpreters: an import cycle only shows when its modules load in that order.
    # (engine.runbook.actions first is engine.runbook first: the package loads before it.)
    firsts = ("engine.runbook", "engine.runner.step_context", "engine.runner.step_actions",
              "engine.runner.execution")
    runs = {first: subprocess.Popen(
        [sys.executable, "-c",
         f"import {first}; from engine.runbook.actions import ACTIONS; print(sorted(ACTIONS))"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for first in firsts}
    for first, run in runs.items():
        out, err = run.communicate(timeout=60)
        assert run.returncode == 0, f"import {first} first:\n{err}"
        assert out.strip() == str(sorted(ACTIONS)), f"import {first} first"
