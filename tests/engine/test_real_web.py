"""Frames, dialogs, tabs, uploads, downloads by URL, HTTP credentials, drag and the HTTP
status of goto, in real Chromium against the demo site; each test asserts what the page
received or shows."""

import base64
import hashlib
import json
import zipfile
from pathlib import Path

from support import step

from engine.demo_html import DEMO_PASSWORD
from engine.secrets import store as secret_store
from engine.service.report import build_report
from models import ArtifactKind, ErrorKind, JobStatus


def _job(run_runbook, steps: str, settings: str = "", shots: str = "off", **kw):
    return run_runbook(f"""
        version: 1
        name: real-web
        title: Real web
        settings: {{base_url: SITE, timeout_ms: 4000, retries: 1, screenshots: {shots}{settings}}}
        steps:
{steps}
        """, **kw)


def _outcomes(detail) -> list:
    return [(s.name, s.error_message, s.warnings) for s in detail.steps]


def test_typing_in_nested_frames_reaches_each_frame(run_runbook):
    detail = _job(run_runbook, """
          - {action: goto, url: /frames}
          - {name: editor, action: fill, frame: "#editor-frame", selector: "#editor",
             value: "Hello from Jobdeck"}
          - {name: note, action: fill, frame: ["#editor-frame", "#inner-frame"],
             selector: "#note", value: "nested", capture: {echo: {selector: "#note-echo"}}}
          - name: shown
            action: assert
            frame: "#editor-frame"
            selector: "#echo"
            text: Hello from Jobdeck
            when: {exists: "#echo", frame: "#editor-frame"}
        """)
    assert detail.job.status == JobStatus.completed, _outcomes(detail)
    assert step(detail, "note").captures["echo"] == "nested"
    assert step(detail, "shown").status.value == "success"  # `when` saw inside the frame


def test_a_frame_that_never_appears_is_named(run_runbook):
    detail = _job(run_runbook, """
          - {action: goto, url: /frames}
          - {name: missing, action: click, frame: ["#editor-frame", "#nope"], selector: "#x"}
        """)
    failed = step(detail, "missing")
    assert failed.error_kind == ErrorKind.element_not_found
    assert "#editor-frame >> #nope" in failed.error_message


def test_dialogs_are_answered_as_the_step_says_and_recorded(run_runbook):
    detail = _job(run_runbook, """
          - {action: goto, url: /dialogs}
          - {name: delete, action: click, selector: "#confirm", dialog: {accept: true},
             capture: {result: {selector: "#result"}}}
          - {name: name, action: click, selector: "#prompt", dialog: {text: Ada},
             capture: {result: {selector: "#result"}}}
          - {name: default, action: click, selector: "#confirm",
             capture: {result: {selector: "#result"}}}
          - {name: alert, action: click, selector: "#alert"}
        """)
    assert detail.job.status == JobStatus.completed, _outcomes(detail)
    delete = step(detail, "delete")
    assert delete.captures["result"] == "deleted"
    assert delete.dialogs == [{"type": "confirm", "message": "Delete item 42?",
                               "answer": "accept", "text": None}]
    named = step(detail, "name")
    assert named.captures["result"] == "hello Ada"
    assert named.dialogs[0]["type"] == "prompt" and named.dialogs[0]["text"] == "Ada"
    # No dialog key: dismissed by the default, and never silently.
    default = step(detail, "default")
    assert default.captures["result"] == "kept"
    assert default.dialogs[0]["answer"] == "dismiss"
    assert "dismissed" in default.warnings[0] and "accept: true" in default.warnings[0]
    assert step(detail, "alert").dialogs[0]["type"] == "alert"
    report = build_report(detail.job.id, None)
    assert report["steps"][1]["dialogs"][0]["message"] == "Delete item 42?"


def test_the_runbook_setting_accepts_every_dialog(run_runbook):
    detail = _job(run_runbook, """
          - {action: goto, url: /dialogs}
          - {name: delete, action: click, selector: "#confirm",
             capture: {result: {selector: "#result"}}}
        """, settings=", dialogs: accept")
    assert step(detail, "delete").captures["result"] == "deleted"
    assert step(detail, "delete").warnings == []


def test_tabs_open_switch_and_close(run_runbook):
    detail = _job(run_runbook, """
          - {action: goto, url: /tabs}
          - {name: open, action: click, selector: "#open-report", new_tab: true,
             capture: {title: {selector: "#report-title"}}}
          - {name: back, action: switch_tab, to: previous}
          - {name: popup, action: click, selector: "#popup"}
          - {name: settle, action: wait, ms: 500}
          - {name: to-popup, action: switch_tab, to: {url: "*via=popup*"},
             capture: {via: {selector: "#via"}}}
          - {name: first, action: switch_tab, to: 0, capture: {url: {url: true}}}
          - {name: by-title, action: switch_tab, to: {title: Report tab}}
          - {name: close, action: close_tab, capture: {url: {url: true}}}
          - {name: nowhere, action: switch_tab, to: 7}
        """)
    opened = step(detail, "open")
    assert opened.captures["title"] == "Quarterly report"
    assert opened.tabs[0]["title"] == "Report tab" and opened.warnings == []
    # Opened without new_tab: the job stayed, and says so on the step during which the
    # tab appeared (a pop-up may open just after its click ended).
    [popup] = [s for s in detail.steps if s.name in ("popup", "settle") and s.tabs]
    assert "via=popup" in popup.tabs[0]["url"] and "new_tab: true" in popup.warnings[0]
    assert step(detail, "to-popup").captures["via"] == "popup"
    assert step(detail, "first").captures["url"].endswith("/tabs")
    assert step(detail, "close").captures["url"].endswith("/tabs")
    nowhere = step(detail, "nowhere")
    assert nowhere.error_kind == ErrorKind.action_failed
    assert "/tabs" in nowhere.error_message and "Report tab" in nowhere.error_message


def test_new_tab_fails_when_no_tab_opens(run_runbook):
    detail = _job(run_runbook, """
          - {action: goto, url: /tabs}
          - {name: same, action: click, selector: "#same-tab", new_tab: true, timeout_ms: 800}
        """)
    same = step(detail, "same")
    assert same.error_kind == ErrorKind.action_failed and "no new tab" in same.error_message


def test_upload_sends_an_earlier_download_and_a_file_from_files(run_runbook, settings, site):
    files = settings.data_dir / "files"
    files.mkdir(parents=True)
    (files / "Rechnung März.txt").write_bytes("Grüße\n".encode())
    # With a screenshot after each step: the step's name means its download, not that.
    detail = _job(run_runbook, """
          - {name: get-report, action: download, url: /files/report.csv}
          - {action: goto, url: /upload}
          - {name: up, action: upload, selector: "#file",
             files: [{artifact: get-report}, {path: Rechnung März.txt}, {artifact: report.csv}]}
          - {action: click, selector: "#send"}
          - name: received
            action: wait
            selector: "#received"
            capture: {names: {js: "[...document.querySelectorAll('.file')].map(li =>
                       [...li.children].map(s => s.textContent).join('|')).join(';')"}}
        """, shots="each_step")
    assert detail.job.status == JobStatus.completed, _outcomes(detail)
    [report] = [a for a in detail.artifacts if a.kind == ArtifactKind.download]
    sent = (settings.data_dir / report.path).read_bytes()
    got = [f.split("|") for f in step(detail, "received").captures["names"].split(";")]
    assert got[0] == ["report.csv", str(len(sent)), hashlib.sha256(sent).hexdigest()]
    assert got[1][0] == "Rechnung März.txt"
    assert got[1][2] == hashlib.sha256("Grüße\n".encode()).hexdigest()
    assert got[2] == got[0]  # the same file, named by the server's name for it


def test_upload_sends_the_file_given_when_the_job_started(run_runbook):
    invoice = b"%PDF-1.4 invoice 2026-11\n"
    detail = run_runbook("""
        version: 1
        name: send-invoice
        title: Send an invoice
        params:
          invoice: {type: file}
        settings: {base_url: SITE, timeout_ms: 4000, screenshots: off}
        steps:
          - {action: goto, url: /upload}
          - {action: upload, selector: "#file", files: [{param: invoice}]}
          - {action: click, selector: "#send"}
          - name: received
            action: wait
            selector: "#received"
            capture:
              name: {selector: ".name"}
              sha: {selector: ".sha256"}
        """, files={"invoice": ("Rechnung Nr. 7 – März.pdf", invoice)})
    assert detail.job.status == JobStatus.completed, _outcomes(detail)
    received = step(detail, "received").captures
    assert received["name"] == "Rechnung Nr. 7 – März.pdf"
    assert received["sha"] == hashlib.sha256(invoice).hexdigest()


def test_upload_of_a_file_missing_from_files_names_it(run_runbook, settings):
    detail = _job(run_runbook, """
          - {action: goto, url: /upload}
          - {name: up, action: upload, selector: "#file", files: [{path: missing.pdf}]}
        """)
    up = step(detail, "up")
    assert up.error_kind == ErrorKind.action_failed and "missing.pdf" in up.error_message


def test_download_by_url_keeps_inline_files_and_fails_on_http_errors(run_runbook, settings):
    detail = _job(run_runbook, """
          - {name: notes, action: download, url: /files/notes.txt}
          - {name: broken, action: download, url: /status/500}
        """)
    [notes] = [a for a in detail.artifacts if a.kind == ArtifactKind.download]
    assert notes.name == "notes.txt"
    assert (settings.data_dir / notes.path).read_text() == "Notes for the week\n"
    broken = step(detail, "broken")
    assert broken.error_kind == ErrorKind.http_error and "500" in broken.error_message


def test_goto_fails_on_an_error_status_unless_allowed(run_runbook):
    detail = _job(run_runbook, """
          - {name: missing-ok, action: goto, url: /status/404, allow_status: [404]}
          - {name: server-error, action: goto, url: /status/503}
        """)
    assert step(detail, "missing-ok").status.value == "success"
    failed = step(detail, "server-error")
    assert failed.error_kind == ErrorKind.http_error
    assert "503" in failed.error_message and "allow_status" in failed.error_message


def test_http_credentials_sign_in_and_stay_secret(run_runbook, settings):
    secret_store.set_secret("site_password", DEMO_PASSWORD, by="admin")
    detail = run_runbook("""
        version: 1
        name: basic
        title: Basic
        secrets: [site_password]
        settings:
          base_url: SITE
          screenshots: off
          trace: true
          http_credentials: {username: demo, password: "{{site_password}}"}
        steps:
          - {action: goto, url: /basic-auth}
          - {name: user, action: assert, selector: "#user", text: Signed in as demo}
        """)
    assert detail.job.status == JobStatus.completed, _outcomes(detail)
    # Neither the password nor the Authorization header's token (RFC 7617) is kept: the
    # trace records request headers.
    token = base64.b64encode(f"demo:{DEMO_PASSWORD}".encode())
    for path in settings.data_dir.rglob("*"):
        if path.is_file() and path.name != "secrets.json":
            data = path.read_bytes()
            assert DEMO_PASSWORD.encode() not in data and token not in data, path
            if path.suffix == ".zip":
                with zipfile.ZipFile(path) as archive:
                    for member in archive.namelist():
                        inside = archive.read(member)
                        assert DEMO_PASSWORD.encode() not in inside and token not in inside
    assert DEMO_PASSWORD not in json.dumps(build_report(detail.job.id, settings.data_dir))


def test_drag_moves_a_card(run_runbook):
    detail = _job(run_runbook, """
          - {action: goto, url: /drag}
          - {name: drag, action: drag, selector: "#card-1", to: "#done",
             capture: {done: {selector: "#done-count"}}}
        """)
    assert detail.job.status == JobStatus.completed, _outcomes(detail)
    assert step(detail, "drag").captures["done"] == "1"
    assert step(detail, "drag").selector_used == "#card-1 → #done"


def test_fail_on_page_errors_fails_the_step_that_threw(run_runbook):
    detail = _job(run_runbook, """
          - {action: goto, url: /page-error}
          - {name: fine, action: click, selector: "#fine"}
          - {name: boom, action: click, selector: "#boom"}
        """, settings=", fail_on_page_errors: true")
    assert step(detail, "fine").status.value == "success"
    boom = step(detail, "boom")
    assert boom.status.value == "failed" and "boom from the page" in boom.error_message
    assert "boom from the page" in boom.diagnostics["page_errors"][0]


EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "runbooks"


def test_the_real_web_examples_run_to_completion(run_runbook, site, monkeypatch):
    monkeypatch.setenv("JOBDECK_SECRET_DEMO_PASSWORD", DEMO_PASSWORD)  # as make run does
    for name in ("real-web-tour.yaml", "upload-and-basic-auth.yaml"):
        detail = run_runbook((EXAMPLES / name).read_text(encoding="utf-8"),
                             params={"site": site})
        assert detail.job.status == JobStatus.completed, (name, _outcomes(detail))
    detail = run_runbook((EXAMPLES / "upload-a-file.yaml").read_text(encoding="utf-8"),
                         params={"site": site}, files={"document": ("notes.txt", b"hi\n")})
    assert detail.job.status == JobStatus.completed, _outcomes(detail)
