"""Validation reports every problem at once with line, column and step name."""

from pathlib import Path

import pytest

from engine.runbook import RunbookInvalid, load_runbook, load_runbook_file

EXAMPLES = sorted(Path(__file__).resolve().parents[2].joinpath("data", "runbooks").glob("*.yaml"))

MANY_MISTAKES = """\
version: 2
name: Bad Name
title: Many mistakes
settings:
  timeot_ms: 5
  screenshots: sometimes
params:
  tag: {default: x}
secrets: [tag]
steps:
  - action: goto
    url: /start
  - name: login
    action: clik
    selector: "#x"
  - name: fill-it
    action: fill
    selector: "#user"
    value: "{{who}}"
    colour: red
  - name: login
    action: wait
  - action: repeat
    max: 5000
    while: {exsts: ".next"}
    steps:
      - action: click
        selector: []
  - action: extract
    selector: .row
    fields: {a: .a}
    into: rows
    capture:
      bad: {selector: .x, pattern: "(unclosed"}
  - action: goto
    url: "{{ a + b }}"
"""


def test_many_mistakes_are_all_reported_with_positions():
    with pytest.raises(RunbookInvalid) as err:
        load_runbook(MANY_MISTAKES, "bad.yaml")
    got = err.value.errors
    expected = [
        "bad.yaml:1:10: version must be 1",
        "bad.yaml:2:7: name must be a slug of a-z, 0-9 and -",
        'bad.yaml:5:3: unknown setting "timeot_ms" (did you mean "timeout_ms"?)',
        "bad.yaml:6:16: screenshots must be each_step, on_failure or off",
        'bad.yaml:9:10: "tag" is both a param and a secret',
        'bad.yaml:14:13: step "login": unknown action "clik" (did you mean "click"?)',
        'bad.yaml:19:12: step "fill-it": "{{who}}" is not defined: it must be an earlier '
        "step's capture, a param or a secret",
        'bad.yaml:20:5: step "fill-it": unknown key "colour" for action "fill"',
        'bad.yaml:21:5: step "login": action "wait" needs exactly one of "ms", "selector", '
        '"url", "load"',
        'bad.yaml:21:11: step "login": duplicate step name "login"',
        'bad.yaml:24:10: step "step-5": max must be a whole number from 1 to 1000',
        'bad.yaml:25:13: step "step-5": unknown condition "exsts" (did you mean "exists"?)',
        'bad.yaml:28:19: step "step-5.step-1": a selector is a string or a list of candidates',
        'bad.yaml:34:36: step "step-6": pattern is not a valid regex: missing ), unterminated '
        "subpattern at position 0",
        'bad.yaml:36:10: step "step-7": {{ }} holds a name only, no expressions',
    ]
    assert got == expected


def test_problems_are_data_with_place_step_and_suggestion():
    """The same problems, structured for the API and the editor (no text to parse back)."""
    with pytest.raises(RunbookInvalid) as err:
        load_runbook(MANY_MISTAKES, "bad.yaml")
    problems = err.value.problems
    assert [str(p) for p in problems] == err.value.errors
    clik = next(p for p in problems if "clik" in p.message)
    assert (clik.path, clik.line, clik.column, clik.step, clik.message, clik.suggestion) == (
        "bad.yaml", 14, 13, "login", 'unknown action "clik"', "click")
    assert clik.text == 'step "login": unknown action "clik" (did you mean "click"?)'
    version = problems[0]
    assert (version.line, version.column, version.step, version.suggestion) == (1, 10, None, None)
    assert clik.as_dict()["suggestion"] == "click"


def test_yaml_syntax_error_has_a_position():
    with pytest.raises(RunbookInvalid) as err:
        load_runbook("version: 1\nname: x\nsteps: [\n", "broken.yaml")
    [message] = err.value.errors
    assert message.startswith("broken.yaml:4:1: YAML syntax error")


def test_missing_top_level_keys_and_empty_steps():
    with pytest.raises(RunbookInvalid) as err:
        load_runbook("version: 1\nsteps: []\n", "empty.yaml")
    assert err.value.errors == [
        'empty.yaml:1:1: missing required key "name"',
        'empty.yaml:1:1: missing required key "title"',
        "empty.yaml:2:8: steps must list at least one step",
    ]


def test_capture_defined_later_is_not_available_earlier():
    source = """\
version: 1
name: order
title: Order
steps:
  - {action: goto, url: "{{next}}"}
  - action: goto
    url: https://example.com
    capture:
      next: {url: true}
  - {action: goto, url: "{{next}}"}
"""
    with pytest.raises(RunbookInvalid) as err:
        load_runbook(source, "order.yaml")
    assert len(err.value.errors) == 1 and err.value.errors[0].startswith("order.yaml:5:")


def test_unreadable_file_is_one_clear_error(tmp_path):
    with pytest.raises(RunbookInvalid) as err:
        load_runbook_file(tmp_path / "nope.yaml")
    assert "cannot read the file" in err.value.errors[0]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_are_valid(path):
    runbook = load_runbook_file(path)
    assert runbook.steps and runbook.title


REAL_WEB_MISTAKES = """\
version: 1
name: real-web
title: Real-web mistakes
settings:
  dialogs: always
  http_credentials: {user: a, password: b}
params:
  note: {default: x}
steps:
  - {name: open, action: goto, url: /x, frame: "#f"}
  - {name: type, action: fill, selector: "#x", value: y, new_tab: true}
  - {name: answer, action: click, selector: "#x", dialog: {acept: true}}
  - name: up
    action: upload
    selector: "#file"
    files: [{param: note}, {artifact: later}, {path: ../etc/passwd}, {url: x}]
  - {name: later, action: download, url: /x}
  - {name: tab, action: switch_tab, to: newest}
  - {name: status, action: goto, url: /x, allow_status: [99]}
  - {name: framed, action: click, selector: "#x", when: {url: "*x*", frame: "#f"}}
  - {name: pause, action: wait, ms: 5, frame: "#f"}
  - name: pages
    action: repeat
    max: 2
    until: {exists: ".end"}
    capture: {n: {url: true}}
    steps: [{action: click, selector: ".next"}]
"""


def test_real_web_keys_are_checked_with_positions_and_hints():
    with pytest.raises(RunbookInvalid) as err:
        load_runbook(REAL_WEB_MISTAKES, "web.yaml")
    assert err.value.errors == [
        "web.yaml:5:12: dialogs must be dismiss or accept",
        "web.yaml:6:21: http_credentials must be {username: ..., password: ...} (a secret "
        'such as "{{site_password}}" for the password) (did you mean "username"?)',
        'web.yaml:10:48: step "open": "frame" only goes with a step that has a selector; '
        'this "goto" has none',
        'web.yaml:11:58: step "type": "new_tab" does not go with action "fill"; it goes with '
        "click, press",
        'web.yaml:12:60: step "answer": unknown dialog key "acept" (did you mean "accept"?)',
        'web.yaml:16:13: step "up": "note" is not a param of type: file; declare it under '
        "params with type: file",
        'web.yaml:16:28: step "up": no earlier step makes a file called "later": name an '
        "earlier download, export or screenshot step, or the file's name",
        'web.yaml:16:47: step "up": path "../etc/passwd" must stay inside the files/ folder: '
        "no leading / and no ..",
        'web.yaml:16:70: step "up": each file is one of {param: name}, {artifact: name} or '
        "{path: file under files/}",
        'web.yaml:18:41: step "tab": to is previous, latest, a tab\'s index from 0, '
        '{url: "*glob*"} or {title: text}',
        'web.yaml:19:57: step "status": allow_status is a list of HTTP status codes, e.g. '
        "[404]",
        'web.yaml:20:77: step "framed": "frame" only goes with exists or visible',
        'web.yaml:21:47: step "pause": "frame" only goes with a step that has a selector; '
        'this "wait" has none',
        'web.yaml:26:5: step "pages": a repeat takes no "capture": give it to the steps '
        "inside",
    ]


def test_merge_keys_give_steps_their_defaults():
    runbook = load_runbook("""\
version: 1
name: merged
title: Merged
steps:
  - &slow {name: first, action: click, selector: "#a", timeout_ms: 500}
  - <<: *slow
    name: second
    selector: "#b"
""")
    second = runbook.steps[1]
    assert (second.name, second.timeout_ms, second.args["selector"]) == (
        "second", 500, [{"selector": "#b"}])


def test_for_each_names_its_items_and_its_item_only_inside():
    with pytest.raises(RunbookInvalid) as err:
        load_runbook("""\
version: 1
name: each
title: Each
steps:
  - {action: extract, selector: tr, fields: {n: td}, into: rows}
  - {name: each, action: for_each, items: rowz, as: row, steps: [{action: goto, url: "{{row.n}}"}]}
  - {action: goto, url: "{{row.n}}"}
""", "each.yaml")
    assert err.value.errors == [
        'each.yaml:6:43: step "each": no collection or param "rowz": an earlier extract '
        "step's into, or a param (one item per line, or comma-separated) (did you mean "
        '"rows"?)',
        'each.yaml:7:25: step "step-3": "{{row.n}}" is not defined: it must be an earlier '
        "step's capture, a param or a secret",
    ]


def test_console_url_is_a_built_in_name_usable_in_defaults_and_steps():
    spec = load_runbook("""version: 1
name: anywhere
title: Anywhere
params:
  site: {default: "{{console_url}}/demo"}
steps:
  - {action: goto, url: "{{console_url}}/demo/table"}
""", "anywhere.yaml")
    assert spec.params["site"].default == "{{console_url}}/demo"
    with pytest.raises(RunbookInvalid) as bad:
        load_runbook("""version: 1
name: clash
title: Clash
params:
  console_url: {default: x}
  site: {default: "{{other}}/demo"}
steps:
  - {action: goto, url: "{{site}}", capture: {console_url: {url: true}}}
""", "clash.yaml")
    text = "\n".join(bad.value.errors)
    assert '"console_url" is a built-in name' in text
    assert '"{{other}}" is not defined: it must be a built-in name: console_url' in text
    assert 'capture "console_url" has the name of a param, a secret or a built-in' in text


def test_the_console_url_and_its_place_in_the_url_policy():
    from engine.settings import Settings

    plain = Settings(port=18101, allow_private_hosts=None)
    assert plain.console_url == "http://127.0.0.1:18101"
    assert "127.0.0.1:18101" in plain.private_host_allowlist
    public = Settings(public_url="https://jobdeck.example.com/", allow_private_hosts="10.0.0.5")
    assert public.console_url == "https://jobdeck.example.com"
    assert public.private_host_allowlist[:2] == ["10.0.0.5", "jobdeck.example.com:443"]
    with pytest.raises(ValueError, match="the console's address as people reach it"):
        Settings(public_url="jobdeck.example.com")


def test_a_character_yaml_does_not_allow_is_a_problem_with_its_place():
    with pytest.raises(RunbookInvalid) as bad:
        load_runbook("version: 1\nname: a\ntitle: A\x00\nsteps: [{action: goto, url: x}]\n",
                     "nul.yaml")
    assert bad.value.errors == ["nul.yaml:3:9: YAML cannot hold character #x0000 here: "
                                "remove it"]
