"""Extraction from web components (shadow roots) and CSV exports a spreadsheet can trust,
in real Chromium against the demo site's /components page."""

import json

import pytest
from support import step

from engine.runbook import RunbookInvalid, load_runbook
from models import ArtifactKind, ErrorKind, JobStatus


def exports(settings, detail) -> dict[str, bytes]:
    return {a.name: (settings.data_dir / a.path).read_bytes()
            for a in detail.artifacts if a.kind == ArtifactKind.export}


def test_fields_are_read_inside_shadow_roots(run_runbook, settings):
    detail = run_runbook("""
        version: 1
        name: components
        title: Components
        settings: {base_url: SITE, timeout_ms: 5000, screenshots: off}
        steps:
          - {action: goto, url: /components}
          - {action: fill, selector: "#qty-B-2", value: "5"}
          - action: extract
            name: items
            selector: .item
            fields:
              name: .name
              sku: {selector: "", attr: data-sku}
              price: {selector: .price, pattern: "€([0-9.]+)"}
              initials: {selector: .tag, pattern: "^.", all: true}
              qty: {selector: .qty, value: true}
              qty_attr: {selector: .qty, attr: value}
              tags: {selector: .tag, all: true}
              note: .note
            into: items
          - {action: extract, selector: contact-card, fields: {who: .name}, into: people}
          - {action: export, collection: items, format: json}
          - {action: export, collection: people, format: json}
        """)
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    files = exports(settings, detail)
    items = json.loads(files["items.json"])
    assert [(i["name"], i["sku"], i["price"], i["qty"], i["tags"]) for i in items] == [
        ("Tea", "A-1", "3.50", "2", "green, loose"),
        ("Coffee", "B-2", "12.00", "5", "roasted"),  # the value typed, not the attribute
        ("Cocoa", "C-3", "", "0", ""),
    ]
    assert [i["initials"] for i in items] == ["g, l", "r", ""]  # the pattern, per match
    assert json.loads(files["people.json"]) == [
        {"who": w} for w in ("Jürgen", "Ada", "Grace", "Linus")]
    assert step(detail, "items").warnings == [
        'field "qty_attr" was blank in all 3 rows (selector ".qty")',
        'field "note" matched nothing in any of the 3 rows (selector ".note")',
    ]


def test_a_required_field_empty_in_a_row_fails_the_step(run_runbook):
    detail = run_runbook("""
        version: 1
        name: required
        title: Required
        settings: {base_url: SITE, timeout_ms: 5000, screenshots: off}
        steps:
          - {action: goto, url: /components}
          - action: extract
            name: items
            selector: .item
            fields: {price: {selector: .price, pattern: "€([0-9.]+)", required: true}}
            into: items
        """)
    assert detail.job.status == JobStatus.failed
    failed = step(detail, "items")
    assert failed.error_kind == ErrorKind.capture_missing
    assert failed.error_message.startswith('required field "price" is empty in row 3 of 3')


def test_csv_exports_escape_formulas_unless_kept_and_take_a_bom(run_runbook, settings):
    detail = run_runbook("""
        version: 1
        name: contacts
        title: Contacts
        settings: {base_url: SITE, timeout_ms: 5000, screenshots: off}
        steps:
          - {action: goto, url: /components}
          - action: extract
            selector: contact-card
            fields: {name: .name, note: .note}
            into: people
          - {action: export, collection: people, format: csv}
          - {action: export, collection: people, format: csv, formulas: keep,
             filename: kept.csv}
          - {action: export, collection: people, format: csv, bom: true, filename: bom.csv}
        """)
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    files = exports(settings, detail)
    assert files["people.csv"] == (
        'name,note\r\nJürgen,"\'=HYPERLINK(""http://evil.example"",""Click"")"\r\n'
        "Ada,'+1\r\nGrace,'-2\r\nLinus,'@x\r\n").encode("utf-8")
    assert files["kept.csv"] == (
        'name,note\r\nJürgen,"=HYPERLINK(""http://evil.example"",""Click"")"\r\n'
        "Ada,+1\r\nGrace,-2\r\nLinus,@x\r\n").encode("utf-8")
    assert files["people.csv"].startswith(b"name,note\r\nJ\xc3\xbcrgen,")  # UTF-8, no BOM
    assert files["bom.csv"] == b"\xef\xbb\xbf" + files["people.csv"]


@pytest.mark.parametrize(("field", "message"), [
    ('{selector: .a, patern: "x"}', 'unknown key "patern" in field "f" (a field takes '
     'selector, attr, pattern, value, all, required) (did you mean "pattern"?)'),
    ('{selector: .a, pattern: "(x"}', 'pattern of field "f" is not a valid regex: '
     "missing ), unterminated subpattern at position 0"),
    ("{selector: input, value: true, attr: value}", 'field "f" has both value and attr'),
    ("{selector: .a, all: yes please}", 'all of field "f" must be true or false'),
    ("{attr: href}", 'field "f" needs "selector" ("" for the row itself)'),
])
def test_a_wrong_field_is_named_with_its_place(field, message):
    source = ("version: 1\nname: f\ntitle: F\nsteps:\n"
              f"  - {{action: extract, selector: .row, into: rows, fields: {{f: {field}}}}}\n")
    with pytest.raises(RunbookInvalid) as exc:
        load_runbook(source, "f.yaml")
    assert len(exc.value.errors) == 1
    assert exc.value.errors[0].startswith("f.yaml:5:")
    assert message in exc.value.errors[0]
