"""YAML values are kept as written where the format expects text (runbook-format.md,
"YAML"): `zip: 01234` stays "01234"; numbers and booleans stay what they are elsewhere."""

import pytest

from engine.runbook import RunbookInvalid, load_runbook
from engine.runbook.scalars import as_written, parse_yaml

# Plain scalars that YAML reads as something other than text, as the file writes them.
AS_WRITTEN = ["01234", "007", "1.50", "1e3", "0x1F", "0o17", "true", "True", "TRUE",
              "false", "yes", "no", "1_000", "-0", "+12", ".inf", "2026-12-03",
              "2026-12-03T10:00:00Z", "12.0e+03"]


def one_step(step: str, head: str = "") -> str:
    return f"version: 1\nname: values\ntitle: Values\n{head}steps:\n  - {step}\n"


@pytest.mark.parametrize("written", AS_WRITTEN)
def test_a_text_parameter_is_the_scalar_as_written(written):
    runbook = load_runbook(one_step(f'{{action: fill, selector: "#zip", value: {written}}}'))
    assert runbook.steps[0].args["value"] == written


@pytest.mark.parametrize("written", AS_WRITTEN)
def test_as_written_in_block_mappings_flow_lists_and_keys(written):
    doc = parse_yaml(f"block: {written}\nlist: [{written}, x]\n{written}: key\n")
    assert as_written(doc, "block") == written
    assert as_written(doc["list"], 0) == written
    [key] = [k for k in doc if k not in ("block", "list")]
    assert as_written(doc, key, of_key=True) == written


def test_null_is_no_value_and_quoted_text_is_the_text():
    doc = parse_yaml('a: ~\nb: null\nc:\nd: "01234"\ne: !!str 0x1F\nf: |\n  two\n  lines\n')
    assert [as_written(doc, k) for k in "abc"] == [None, None, None]
    assert as_written(doc, "d") == "01234" and as_written(doc, "e") == "0x1F"
    assert as_written(doc, "f") == "two\nlines\n"
    assert as_written(doc, "missing") is None


def test_a_value_merged_in_keeps_its_text():
    runbook = load_runbook("""\
version: 1
name: merged
title: Merged
steps:
  - &typed {name: zip, action: fill, selector: "#zip", value: 01234, timeout_ms: 0x10}
  - <<: *typed
    name: zip-again
    selector: "#zip2"
  - {name: check, action: assert, selector: "#zip", equals: 007, when: {equals: [1.50, 1.50]}}
""")
    first, again, check = runbook.steps
    assert again.args == {"selector": [{"selector": "#zip2"}], "value": "01234"}
    assert again.timeout_ms == first.timeout_ms == 16  # a number stays a number
    assert check.args["equals"] == "007" and check.when.value == ["1.50", "1.50"]


def test_anchors_aliases_and_merges_of_mappings_keep_texts_and_types():
    runbook = load_runbook("""\
version: 1
name: anchors
title: Anchors
steps:
  - name: first
    action: fill
    selector: {label: &label 2024}
    value: &zip 01234
    continue_on_error: &on true
  - {name: second, action: fill, selector: {label: *label}, value: *zip,
     continue_on_error: *on}
""")
    second = runbook.steps[1]
    assert second.args == {"selector": [{"label": "2024"}], "value": "01234"}
    assert second.continue_on_error is True  # an anchored boolean is still a boolean


def test_every_text_place_keeps_what_is_written():
    runbook = load_runbook("""\
version: 1
name: places
title: 2024
description: 1.50
settings:
  base_url: http://127.0.0.1:8080
  http_credentials: {username: 007, password: 0x1F}
params:
  zip: {default: 01234, description: 1e3}
  flag: {default: yes}
steps:
  - name: approve
    action: approval
    message: 1_000
  - name: open
    action: goto
    url: /x
    description: 2026-12-03
    approval: {message: true}
    dialog: {text: 007}
    when: {equals: ["{{zip}}", 01234]}
    capture:
      year: {selector: {text: 2024}, attr: 0x1F, pattern: 123}
""")
    assert (runbook.title, runbook.description) == ("2024", "1.50")
    assert runbook.settings.http_credentials == {"username": "007", "password": "0x1F"}
    assert runbook.params["zip"].default == "01234"
    assert runbook.params["zip"].description == "1e3"
    assert runbook.params["flag"].default == "yes"
    approve, step = runbook.steps
    assert approve.approval["message"] == "1_000"
    assert step.description == "2026-12-03" and step.approval["message"] == "true"
    assert step.dialog["text"] == "007"
    assert step.when.value == ["{{zip}}", "01234"]
    [cap] = step.captures
    assert (cap.selector, cap.attr, cap.pattern) == ([{"text": "2024"}], "0x1F", "123")


def test_numbers_and_booleans_stay_numbers_and_booleans():
    runbook = load_runbook(one_step(
        "{action: repeat, max: 007, until: {exists: '#x'}, timeout_ms: 1_000, retries: 0x2, "
        "continue_on_error: True, steps: [{action: wait, ms: 0o10}]}",
        head="settings: {timeout_ms: 2_000, stop_on_error: FALSE}\n"))
    step = runbook.steps[0]
    assert (step.max, step.timeout_ms, step.retries, step.continue_on_error) == (7, 1000, 2, True)
    assert step.steps[0].args["ms"] == 8
    assert runbook.settings.timeout_ms == 2000 and runbook.settings.stop_on_error is False


def test_not_text_where_text_is_expected_is_reported_where_it_is_written():
    with pytest.raises(RunbookInvalid) as err:
        load_runbook("""\
version: 1
name: wrong
title: Wrong
params:
  zip: {default: [1, 2], required: yes}
steps:
  - &bad {name: first, action: fill, selector: "#a", value: ~, timeout_ms: -1}
  - {<<: *bad, name: second}
""", "wrong.yaml")
    assert err.value.errors == [
        'wrong.yaml:5:18: param "zip": default is a text value (a list: one item per line, '
        "or comma-separated)",
        'wrong.yaml:5:36: param "zip": required must be true or false',
        'wrong.yaml:7:61: step "first": value must be a text value',
        'wrong.yaml:7:61: step "second": value must be a text value',
        'wrong.yaml:7:76: step "first": timeout_ms must be a whole number ≥ 0',
        'wrong.yaml:7:76: step "second": timeout_ms must be a whole number ≥ 0',
    ]
