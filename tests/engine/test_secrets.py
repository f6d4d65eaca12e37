"""A secret's value never reaches the database, artifacts, reports, events, logs, the audit
log or the trace; the secret store keeps it readable by its owner only, encrypted when a
key is set."""

import json
import logging
import stat
import zipfile

import pytest
from support import in_browser_thread, pixel_at, step

from engine.bus.events import get_bus
from engine.secrets import store as secret_store
from engine.secrets.store import SecretStoreError
from engine.secrets.values import Redactor, redact_archive
from engine.service.report import build_report
from models import ArtifactKind, JobStatus

SECRET = "s3cr3t-Value-42"

RUNBOOK = """
version: 1
name: secretive
title: Secretive
settings: {base_url: SITE, timeout_ms: 400, retries: 0, trace: true}
secrets: [api_token]
steps:
  - {action: goto, url: /form}
  - name: type-it
    action: fill
    selector: "#name"
    value: "{{api_token}}"
    capture:
      box: {js: "JSON.stringify(document.querySelector('#name').getBoundingClientRect())"}
      echo: {js: "document.querySelector('#name').value"}
  - {name: send, action: click, selector: {role: button, name: Send}}
  - {name: read, action: extract, selector: "#result dd", fields: {value: ""}, into: result}
  - {name: save, action: export, collection: result, format: csv}
  - name: fails-with-it
    action: click
    selector: "#x-{{api_token}}"
    continue_on_error: true
"""


def test_secret_is_masked_everywhere(run_runbook, settings, caplog):
    caplog.set_level(logging.DEBUG)
    secret_store.set_secret("api_token", SECRET, by="admin")  # as the Secrets page does
    seen = []
    unsubscribe = get_bus().subscribe(lambda e: seen.append(e))
    try:
        detail = run_runbook(RUNBOOK)
    finally:
        unsubscribe()
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    typed = step(detail, "type-it")
    assert typed.captures["echo"] == "••••"
    failed = step(detail, "fails-with-it")
    assert "#x-••••" in failed.error_message and SECRET not in failed.error_message

    [export] = [a for a in detail.artifacts if a.kind == ArtifactKind.export]
    assert "••••" in (settings.data_dir / export.path).read_text(encoding="utf-8")
    store = settings.data_dir / "secrets.json"  # where it is kept on purpose (0600)
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    for path in settings.data_dir.rglob("*"):  # the database, artifacts, exports, trace
        if path.is_file() and path != store:
            assert SECRET.encode() not in path.read_bytes(), f"secret found in {path}"
            if path.suffix == ".zip":  # compressed: look inside
                with zipfile.ZipFile(path) as archive:
                    for member in archive.namelist():
                        assert SECRET.encode() not in archive.read(member), (
                            f"secret found in {path}:{member}")
    [trace] = [a for a in detail.artifacts if a.kind == ArtifactKind.trace]
    with zipfile.ZipFile(settings.data_dir / trace.path) as archive:
        members = archive.namelist()
        # the trace did record the typed value (masked), and took no screenshots of it
        assert any("••••".encode() in archive.read(m) for m in members)
        assert not any(m.endswith((".jpeg", ".jpg", ".png")) for m in members), members
    assert SECRET not in caplog.text
    report = json.dumps(build_report(detail.job.id, settings.data_dir))
    assert SECRET not in report
    finished = [e for e in seen if e.kind == "job_finished"]
    assert finished and finished[0].data["status"] == "completed"
    for event in seen:
        text = repr({k: v for k, v in event.data.items() if k != "jpeg"})
        assert SECRET not in text

    # The field that held the secret is painted over in that step's screenshot.
    box = json.loads(typed.captures["box"])
    [shot] = [a for a in detail.artifacts if a.step_run_id == typed.id]
    pixel = in_browser_thread(pixel_at, settings, (settings.data_dir / shot.path).read_bytes(),
                   box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    red, green, blue = pixel
    assert red > 200 and green < 80 and blue > 200, f"field not masked: {pixel}"


def test_an_encrypted_store_hides_values_from_whoever_copies_the_file(runtime, settings):
    key = secret_store.new_key()
    secret_store.configure(settings.data_dir, key)
    secret_store.set_secret("api_token", SECRET, by="admin")
    assert SECRET not in (settings.data_dir / "secrets.json").read_text()
    assert secret_store.stored_value("api_token") == SECRET

    secret_store.configure(settings.data_dir, None)  # the key is missing
    with pytest.raises(SecretStoreError, match="set JOBDECK_SECRETS_KEY"):
        secret_store.stored_value("api_token")
    secret_store.configure(settings.data_dir, secret_store.new_key())  # another key
    with pytest.raises(SecretStoreError, match="not the key it was stored with"):
        secret_store.stored_value("api_token")
    with pytest.raises(SecretStoreError, match="not a Fernet key"):
        secret_store.configure(settings.data_dir, "not-a-key")


def test_a_trace_is_masked_in_every_form_a_browser_writes_a_secret(tmp_path):
    value = "Secr3t!*~ (x)'"
    written = {  # as browsers and servers write it (independent of Jobdeck's code)
        "typed": value,
        "an HTML form post": "Secr3t%21*%7E+%28x%29%27",
        "encodeURIComponent": "Secr3t!*~%20(x)'",
        "lower-case escapes": "Secr3t%21*%7e+%28x%29%27",
        "a JSON string": json.dumps(value),
        "base64": "U2VjcjN0ISp+ICh4KSc=",
    }
    trace = tmp_path / "trace.zip"
    with zipfile.ZipFile(trace, "w") as archive:
        for name, form in written.items():
            archive.writestr(f"{name}.txt", f"before {form} after")
    redact_archive(trace, Redactor([value]))
    with zipfile.ZipFile(trace) as archive:
        for name, form in written.items():
            text = archive.read(f"{name}.txt").decode()
            assert value not in text and form.strip('"') not in text, (name, text)
            assert text.startswith("before ") and text.endswith(" after")
