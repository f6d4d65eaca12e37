"""Runbooks that cannot exhaust the server: size, steps, nesting, aliases and `{{` are
bounded and refused with a problem that names the limit; templating is linear."""

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from engine.runbook import RunbookInvalid, load_runbook
from engine.runbook.limits import MAX_PROBLEMS
from engine.runbook.templating import references, render
from engine.settings import current_settings

ROOT = Path(__file__).resolve().parents[2]
HEAD = "version: 1\nname: limits\ntitle: Limits\n"
GOTO = "action: goto\n    url: http://127.0.0.1/\n"


def billion_laughs() -> str:
    """9 levels of 9 aliases: 9^9 (387 million) nodes in about 600 bytes."""
    lines = [HEAD.rstrip("\n"), 'a0: &a0 ["lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return "\n".join(lines + ["steps:", "  - action: goto", "    url: *a9"]) + "\n"


def problems_of(source: str) -> list[str]:
    """The problems of `source`, loaded in a thread that must finish within 10 s (a
    pathological case used to run for minutes; 10 s bounds the test, it times nothing)."""
    outcome: dict = {}

    def check() -> None:
        try:
            load_runbook(source, "limits.yaml")
            outcome["problems"] = []
        except RunbookInvalid as exc:
            outcome["problems"] = exc.errors

    thread = threading.Thread(target=check, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "checking the runbook did not finish"
    return outcome["problems"]


def nested(levels: int) -> str:
    """Steps in `levels` repeats inside one another."""
    text, indent = HEAD + "steps:\n", "  "
    for level in range(levels):
        text += f"{indent}- name: r{level}\n{indent}  action: repeat\n{indent}  max: 2\n" \
                f"{indent}  until: {{exists: '#done'}}\n{indent}  steps:\n"
        indent += "    "
    return text + f"{indent}- name: open\n{indent}  action: goto\n{indent}  url: http://a/\n"


def test_a_billion_laughs_is_refused_at_the_alias_limit():
    problems = problems_of(billion_laughs())  # at a5: 9^5 nodes, read no further
    assert problems == ["limits.yaml:8:35: aliases here bring in more than 10000 values "
                        "(YAML nodes), the limit for a runbook: write the values out, or "
                        "alias fewer or smaller ones"]


def test_an_alias_inside_its_own_anchor_is_refused():
    problems = problems_of(HEAD + "loop: &a [1, *a]\nsteps:\n  - " + GOTO)
    assert problems == ["limits.yaml:4:14: the alias *a is inside the value it names: a value "
                        "cannot contain itself"]


def test_aliases_and_merge_keys_of_an_ordinary_runbook_still_work():
    steps = "".join(f"  - {{<<: *defaults, name: s{i}, action: goto, url: http://a/{i}}}\n"
                    for i in range(300))
    first = "  - {name: s-first, action: goto, url: http://a/, <<: &defaults " \
            "{timeout_ms: 500, retries: 1}}\n"
    runbook = load_runbook(HEAD + "steps:\n" + first + steps, "merged.yaml")
    assert len(runbook.steps) == 301
    assert {(s.timeout_ms, s.retries) for s in runbook.steps} == {(500, 1)}


def test_forty_kilobytes_of_braces_are_checked_at_once():
    # Never closed: text as written, as before.
    assert problems_of(HEAD + 'steps:\n  - action: goto\n    url: "' + "{{" * 20_000 + '"\n'
                       ) == []
    # Closed but empty, 10 000 times: the first MAX_PROBLEMS are listed, the rest counted.
    problems = problems_of(HEAD + 'steps:\n  - action: goto\n    url: "' + "{{}}" * 10_000
                           + '"\n')
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[0] == 'limits.yaml:6:10: step "step-1": {{ }} holds a name only, no ' \
                          "expressions"
    assert problems[-1] == f"limits.yaml: … and {10_000 - MAX_PROBLEMS} more problems (the " \
                           f"first {MAX_PROBLEMS} are listed)"


@pytest.mark.parametrize("text", [
    "{{a}}", "{{ a }}}", "{{{a}}", "{{}}", "{{a\n}}{{b}}", "x{{a}}y{{ b.c }}z", "{{a}",
    "}}{{", "{{a}}\n{{", "{{ a b }}",
])
def test_references_are_found_as_the_regex_found_them(text):
    # The rule is `\{\{(.*?)\}\}` (`.` not a line break); only the way of finding changed.
    rule = re.compile(r"\{\{(.*?)\}\}")
    values = {"a": "A", "b": "B", "b.c": "C"}
    assert render(text, values) == rule.sub(lambda m: values.get(m.group(1).strip(), ""), text)
    assert len(references(text)) == len(rule.findall(text))


def test_a_runbook_over_the_size_limit_is_refused_unparsed():
    limit = current_settings().max_runbook_kb
    source = HEAD + "steps:\n  - " + GOTO + "# " + "x" * (limit * 1024) + "\n"
    assert problems_of(source) == [f"limits.yaml: the runbook is {limit + 1} KB; the limit "
                                   f"is {limit} KB (JOBDECK_MAX_RUNBOOK_KB)"]


def test_more_than_1000_steps_nested_ones_included_are_refused():
    inner = "".join(f"      - {{name: s{i}, action: goto, url: http://a/}}\n"
                    for i in range(1000))
    source = HEAD + "steps:\n  - name: loop\n    action: repeat\n    max: 2\n" \
        "    until: {exists: '#done'}\n    steps:\n" + inner
    assert problems_of(source) == ["limits.yaml: the runbook has 1001 steps; at most 1000, "
                                   "nested ones included"]


def test_steps_nested_more_than_10_deep_are_refused():
    assert problems_of(nested(10)) == []
    assert problems_of(nested(11)) == [
        "limits.yaml:55:45: steps nest more than 10 levels deep here (repeat and for_each "
        "inside one another); at most 10"]


def test_yaml_nested_more_than_50_deep_is_refused():
    source = HEAD + "steps:\n  - action: goto\n    url: " + "[" * 60 + "]" * 60 + "\n"
    assert problems_of(source) == ["limits.yaml:6:57: the YAML nests more than 50 levels deep "
                                   "here, the limit for a runbook"]


@pytest.mark.parametrize("version, message", [
    ("true", "version must be the number 1, not true"),
    ('"1"', 'version must be the number 1, not the text "1": write version: 1'),
    ("1.0", "version must be the whole number 1, not 1.0"),
    ("2", "version must be 1"),
])
def test_version_is_the_integer_1(version, message):
    source = f"version: {version}\nname: v\ntitle: V\nsteps:\n  - " + GOTO
    assert problems_of(source) == [f"limits.yaml:1:10: {message}"]
    assert problems_of(source.replace(f"version: {version}", "version: 1")) == []


def test_validate_in_the_terminal_names_the_size_limit(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text(HEAD + "steps:\n  - " + GOTO + "# " + "x" * 3000 + "\n")
    env = {**os.environ, "JOBDECK_DATA_DIR": str(tmp_path / "data"),
           "JOBDECK_MAX_RUNBOOK_KB": "2"}
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "validate", str(big)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert f"{big}: the runbook is 4 KB; the limit is 2 KB (JOBDECK_MAX_RUNBOOK_KB)" \
        in result.stderr


@pytest.mark.slow
def test_the_console_answers_while_a_bad_runbook_is_checked(console):
    def post(client: httpx.Client, source: str) -> httpx.Response:
        return client.post("/api/runbooks", content=source,
                           headers={"Content-Type": "application/x-yaml"})

    with console.client(timeout=60) as client:
        too_big = post(client, HEAD + "steps:\n  - " + GOTO + "#" + "x" * 300_000 + "\n")
        assert too_big.status_code == 422
        assert too_big.json()["errors"] == ["runbook.yaml: the runbook is 294 KB; the limit "
                                            "is 256 KB (JOBDECK_MAX_RUNBOOK_KB)"]
        laughs = post(client, billion_laughs())
        assert laughs.status_code == 422 and "more than 10000 values" in laughs.json()[
            "errors"][0]

        # Slow to read on purpose (tens of thousands of YAML values), and invalid.
        slow = "version: true\nname: slow\ntitle: Slow\nx: [" + ",".join(["v"] * 45_000) \
               + "]\nsteps:\n  - " + GOTO
        answers: dict = {}
        poster = threading.Thread(target=lambda: answers.update(post=post(client, slow)))
        poster.start()
        poster.join(0.5)  # the body is sent, its check under way
        jobs = client.get("/api/jobs", timeout=10)
        answers["jobs_while_posting"] = poster.is_alive()
        poster.join(60)
        assert jobs.status_code == 200
        assert answers["post"].status_code == 422
        assert answers["jobs_while_posting"], "GET /api/jobs waited for the runbook's check"
