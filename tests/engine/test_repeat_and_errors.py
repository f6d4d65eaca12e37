"""Repeat over pages, error handling settings, and failures that must not hang."""

import json

from support import step

from engine.demo_site import QUOTES
from models import ArtifactKind, ErrorKind, JobStatus, StepStatus

PAGES = """
version: 1
name: all-quotes
title: All quotes
settings: {base_url: SITE, timeout_ms: 3000, screenshots: off}
steps:
  - {action: goto, url: /quotes/page/1}
  - name: pages
    action: repeat
    max: MAX
    until: {equals: ["{{has_next}}", "no"]}
    steps:
      - name: rows
        action: extract
        selector: .quote
        fields: {text: .text, author: .author}
        into: quotes
        capture:
          has_next: {js: "document.querySelector('li.next a') ? 'yes' : 'no'"}
      - {name: next, action: click, selector: "li.next a", when: {exists: "li.next a"}}
  - {name: save, action: export, collection: quotes, format: json}
"""


def test_repeat_collects_every_row_exactly_once(run_runbook, settings):
    detail = run_runbook(PAGES.replace("MAX", "10"))
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    [export] = [a for a in detail.artifacts if a.kind == ArtifactKind.export]
    records = json.loads((settings.data_dir / export.path).read_text(encoding="utf-8"))
    assert records == [{"text": q["text"], "author": q["author"]} for q in QUOTES]
    repeat = step(detail, "pages")
    nested = [s for s in detail.steps if s.parent_id == repeat.id]
    assert sorted({s.iteration for s in nested}) == [1, 2, 3]
    assert step(detail, "next", iteration=3).status == StepStatus.skipped


def test_repeat_stops_at_max(run_runbook, settings):
    detail = run_runbook(PAGES.replace("MAX", "2"))
    [export] = [a for a in detail.artifacts if a.kind == ArtifactKind.export]
    records = json.loads((settings.data_dir / export.path).read_text(encoding="utf-8"))
    assert len(records) == 20


def test_stop_on_error_false_runs_on_but_the_job_fails(run_runbook):
    detail = run_runbook("""
        version: 1
        name: keep-going
        title: Keep going
        settings: {base_url: SITE, timeout_ms: 300, retries: 0, stop_on_error: false,
                   screenshots: off}
        steps:
          - {action: goto, url: /}
          - {name: broken, action: click, selector: "#missing"}
          - {name: after, action: assert, title: Jobdeck demo site}
        """)
    assert step(detail, "broken").status == StepStatus.failed
    assert step(detail, "after").status == StepStatus.success
    assert detail.job.status == JobStatus.failed
    assert (detail.job.steps_succeeded, detail.job.steps_failed) == (2, 1)


def test_continue_on_error_lets_the_job_complete(run_runbook):
    detail = run_runbook("""
        version: 1
        name: optional
        title: Optional
        settings: {base_url: SITE, timeout_ms: 300, retries: 0, screenshots: off}
        steps:
          - {action: goto, url: /}
          - {name: banner, action: click, selector: "#banner", continue_on_error: true}
          - {name: after, action: assert, title: Jobdeck demo site}
        """)
    assert step(detail, "banner").status == StepStatus.failed
    assert step(detail, "after").status == StepStatus.success
    assert detail.job.status == JobStatus.completed


def test_a_site_that_never_loads_times_out(run_runbook):
    detail = run_runbook("""
        version: 1
        name: slow
        title: Slow
        settings: {base_url: SITE, timeout_ms: 800}
        steps:
          - {name: open, action: goto, url: "/slow?seconds=20"}
          - {name: next, action: wait, ms: 1}
        """)
    opened = step(detail, "open")
    assert opened.error_kind == ErrorKind.navigation_timeout
    assert "800 ms" in opened.error_message
    assert step(detail, "next").status == StepStatus.skipped
    assert detail.job.finished_at is not None


def test_failed_assertion_is_assertion_failed(run_runbook):
    detail = run_runbook("""
        version: 1
        name: asserts
        title: Asserts
        settings: {base_url: SITE, timeout_ms: 300, retries: 0, screenshots: off}
        steps:
          - {action: goto, url: /}
          - {name: title, action: assert, title: Something else}
        """)
    failed = step(detail, "title")
    assert failed.error_kind == ErrorKind.assertion_failed
    assert "Something else" in failed.error_message
    assert "Jobdeck demo site" in failed.error_message
