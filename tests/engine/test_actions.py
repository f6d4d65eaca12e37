"""Each action against the demo site in real Chromium."""

import csv
import io
import json

from support import step

from engine.demo_site import INVOICES, REPORT_CSV
from models import ArtifactKind, JobStatus


def artifact_bytes(settings, detail, kind):
    return [(a, (settings.data_dir / a.path).read_bytes())
            for a in detail.artifacts if a.kind == kind]


def test_form_actions_reach_the_site(run_runbook):
    detail = run_runbook("""
        version: 1
        name: form
        title: Form
        settings: {base_url: SITE, timeout_ms: 5000, screenshots: off}
        steps:
          - {action: goto, url: /form}
          - {name: name, action: fill, selector: {label: Full name}, value: Grace Hopper}
          - {name: email, action: fill, selector: {css: "#email"}, value: g@h.io}
          - {name: plan, action: select, selector: "#plan", label: Team}
          - {name: tick, action: check, selector: "#newsletter"}
          - {name: untick, action: uncheck, selector: "#newsletter"}
          - {name: tick-again, action: check, selector: {label: Subscribe to newsletter}}
          - {name: comment, action: fill, selector: "#comment", value: "Hello, «world»"}
          - {name: hover, action: hover, selector: {text: Hover me}}
          - {name: info-shown, action: wait, selector: "#hover-info", state: visible}
          - {name: send, action: click, selector: {role: button, name: Send}}
          - {name: loaded, action: wait, load: load}
          - {name: result, action: assert, selector: "#result", text: "Grace Hopper"}
          - name: values
            action: assert
            selector: "#result"
            text: team
            capture:
              plan:
                js: "[...document.querySelectorAll('#result dd')].map(d => d.innerText)
                     .join('|')"
        """)
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    values = step(detail, "values").captures["plan"].split("|")
    assert "Grace Hopper" in values and "g@h.io" in values and "team" in values
    assert "on" in values and "Hello, «world»" in values
    assert step(detail, "name").selector_used == "label=Full name"
    assert step(detail, "send").selector_used == 'role=button name="Send"'


def test_select_by_value_press_scroll_and_waits(run_runbook):
    detail = run_runbook("""
        version: 1
        name: keys
        title: Keys
        settings: {base_url: SITE, timeout_ms: 5000, screenshots: off}
        steps:
          - {action: goto, url: /form}
          - {name: plan, action: select, selector: "#plan", value: basic}
          - {name: name, action: fill, selector: "#name", value: Linus}
          - {name: submit, action: press, selector: "#name", key: Enter}
          - {name: url, action: wait, url: "**/form"}
          - {name: got, action: assert, selector: "#result", text: basic}
          - {action: goto, url: /long}
          - name: bottom
            action: scroll
            to: bottom
            capture:
              y: {js: "Math.round(window.scrollY)"}
          - {name: top, action: scroll, to: top}
          - {name: into-view, action: scroll, selector: "#bottom"}
          - {name: pause, action: wait, ms: 50}
          - {name: key, action: press, key: Home}
          - {name: title, action: assert, title: Long page}
          - {name: page-url, action: assert, url: "*/long"}
        """)
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    assert int(step(detail, "bottom").captures["y"]) > 1000


def test_extract_and_export_csv_and_json(run_runbook, settings):
    detail = run_runbook("""
        version: 1
        name: invoices
        title: Invoices
        settings: {base_url: SITE, screenshots: off}
        steps:
          - {action: goto, url: /table}
          - action: extract
            selector: "#invoices tbody tr"
            fields: {number: td.number, customer: td.customer, amount: td.amount,
                     status: {selector: td.status}}
            into: invoices
          - {action: export, collection: invoices, format: csv, filename: invoices.csv}
          - {action: export, collection: invoices, format: json}
        """)
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    files = {a.name: data for a, data in artifact_bytes(settings, detail, ArtifactKind.export)}
    expected = [{k: str(v) for k, v in row.items()} for row in INVOICES]
    rows = list(csv.DictReader(io.StringIO(files["invoices.csv"].decode("utf-8"))))
    assert rows == [{k: r[k] for k in ("number", "customer", "amount", "status")}
                    for r in expected]
    assert json.loads(files["invoices.json"]) == rows


def test_download_is_kept_as_artifact(run_runbook, settings):
    detail = run_runbook("""
        version: 1
        name: download
        title: Download
        settings: {base_url: SITE, screenshots: off}
        steps:
          - {action: goto, url: /download}
          - {name: get, action: download, selector: {test_id: download-report}}
        """)
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    [(artifact, data)] = artifact_bytes(settings, detail, ArtifactKind.download)
    assert artifact.name == "report.csv"
    assert data.decode("utf-8") == REPORT_CSV
    assert artifact.size == len(data)


def test_screenshots_each_step_and_screenshot_action(run_runbook, settings):
    detail = run_runbook("""
        version: 1
        name: shots
        title: Shots
        settings: {base_url: SITE}
        steps:
          - {name: open, action: goto, url: /}
          - {name: full, action: screenshot, full_page: true}
        """)
    shots = artifact_bytes(settings, detail, ArtifactKind.screenshot)
    names = [a.name for a, _ in shots]
    assert names == ["after open", "full", "after full"]
    assert shots[0][1][:2] == b"\xff\xd8"  # JPEG per step
    assert shots[1][1][:4] == b"\x89PNG"  # the screenshot action keeps a PNG
    assert all(a.step_run_id for a, _ in shots)
