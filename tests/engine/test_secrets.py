"""A secret's value never reaches the database, artifacts, reports or events."""

import json

from support import in_browser_thread, pixel_at, step
from engine.events import get_bus
from engine.report import build_report
from models import ArtifactKind, JobStatus

SECRET = "s3cr3t-Value-42"

RUNBOOK = """
version: 1
name: secretive
title: Secretive
settings: {base_url: SITE, timeout_ms: 400, retries: 0}
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


def test_secret_is_masked_everywhere(run_runbook, settings, monkeypatch):
    monkeypatch.setenv("JOBDECK_SECRET_API_TOKEN", SECRET)
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
    for path in settings.data_dir.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"secret found in {path}"
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
