"""Selector candidates, rounds and retries, conditions and captures."""

from support import step

from models import ErrorKind, JobStatus, StepStatus


def test_later_candidate_wins_and_is_recorded(run_runbook):
    detail = run_runbook("""
        version: 1
        name: fallback
        title: Fallback
        settings: {base_url: SITE, timeout_ms: 600, retries: 0, screenshots: off}
        steps:
          - {action: goto, url: /login}
          - name: user
            action: fill
            selector: [{test_id: not-there}, {css: "#nope"}, {placeholder: Username}]
            value: demo
          - {name: pw, action: fill, selector: [{label: Password}], value: demo-password}
          - {name: go, action: click, selector: [{text: Sign in}]}
          - {name: who, action: assert, selector: "xpath=//span[@id='whoami']", text: demo}
        """)
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    assert step(detail, "user").selector_used == "placeholder=Username"
    assert step(detail, "go").selector_used == "text=Sign in"
    assert step(detail, "user").retries == 0


def test_late_content_is_found_after_retries_and_counted(run_runbook):
    detail = run_runbook("""
        version: 1
        name: late
        title: Late
        settings: {base_url: SITE, timeout_ms: 6000, retries: 3, screenshots: off}
        steps:
          - {action: goto, url: "/late?delay_ms=1200"}
          - {name: more, action: click, selector: {role: button, name: Load more}}
          - name: first
            action: assert
            selector: "li.late-item >> nth=0"
            text: Item
        """)
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    more = step(detail, "more")
    assert more.retries >= 1
    assert detail.job.retry_count == sum(s.retries for s in detail.steps) >= 1


def test_two_matches_fail_as_ambiguous_with_the_candidates_tried(run_runbook):
    detail = run_runbook("""
        version: 1
        name: ambiguous
        title: Ambiguous
        settings: {base_url: SITE, timeout_ms: 400, retries: 1}
        steps:
          - {action: goto, url: /ambiguous}
          - {name: go-on, action: click, selector: [{text: Continue}, {css: button.dup}]}
          - {name: never, action: click, selector: "#unique"}
        """)
    failed = step(detail, "go-on")
    assert failed.status == StepStatus.failed
    assert failed.error_kind == ErrorKind.element_ambiguous
    assert [c["candidate"] for c in failed.diagnostics["candidates"]] == [
        "text=Continue", "css=button.dup"]
    assert "2 elements matched" in failed.diagnostics["candidates"][0]["result"]
    assert failed.diagnostics["url"].endswith("/ambiguous")
    assert failed.retries == 1
    assert step(detail, "never").status == StepStatus.skipped  # stop_on_error
    assert detail.job.status == JobStatus.failed
    assert detail.job.error_kind == ErrorKind.element_ambiguous
    shots = [a for a in detail.artifacts if a.step_run_id == failed.id]
    assert shots, "a failed step keeps a screenshot"


def test_missing_element_fails_with_each_candidate_and_console_errors(run_runbook):
    detail = run_runbook("""
        version: 1
        name: missing
        title: Missing
        settings: {base_url: SITE, timeout_ms: 300, retries: 2}
        steps:
          - {action: goto, url: /console-error}
          - {name: find, action: click, selector: [{role: button, name: Pay}, "#pay"]}
        """)
    failed = step(detail, "find")
    assert failed.error_kind == ErrorKind.element_not_found
    assert 'role=button name="Pay"' in failed.error_message and "#pay" in failed.error_message
    assert any("widget missing" in e for e in failed.diagnostics["console_errors"])
    assert failed.diagnostics["title"] == "Console error"
    assert failed.retries == 2


def test_when_false_skips_and_required_capture_fails(run_runbook):
    detail = run_runbook("""
        version: 1
        name: conditions
        title: Conditions
        settings: {base_url: SITE, timeout_ms: 500, screenshots: off}
        params:
          mode: {default: quick}
        steps:
          - {action: goto, url: /quotes/page/1}
          - {name: never, action: click, selector: "li.previous a", when: {exists: "li.previous a"}}
          - name: only-slow
            action: goto
            url: /quotes/page/2
            when: {equals: ["{{mode}}", "slow"]}
          - {name: on-page-one, action: wait, ms: 1, when: {url: "*/page/1"}}
          - {name: not-hidden, action: wait, ms: 1, when: {not: {visible: "#nothing"}}}
          - name: read
            action: wait
            ms: 1
            capture:
              author: {selector: ".quote .author"}
              href: {selector: "li.next a", attr: href}
              page: {url: true, pattern: "/page/(\\\\d+)"}
              balance: {selector: ".balance", required: true}
        """)
    assert step(detail, "never").status == StepStatus.skipped
    assert step(detail, "only-slow").status == StepStatus.skipped
    assert step(detail, "on-page-one").status == StepStatus.success
    assert step(detail, "not-hidden").status == StepStatus.success
    read = step(detail, "read")
    assert read.status == StepStatus.failed
    assert read.error_kind == ErrorKind.capture_missing
    assert "balance" in read.error_message
    assert detail.job.steps_skipped == 2


def test_captures_feed_later_steps(run_runbook):
    detail = run_runbook("""
        version: 1
        name: captures
        title: Captures
        settings: {base_url: SITE, screenshots: off}
        steps:
          - action: goto
            url: /quotes/page/1
            capture:
              next: {selector: "li.next a", attr: href}
              page: {url: true, pattern: "/page/(\\\\d+)"}
              count: {js: "document.querySelectorAll('.quote').length"}
          - {name: follow, action: goto, url: "{{next}}"}
          - {name: check, action: assert, url: "*/quotes/page/2"}
        """)
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    assert detail.steps[0].captures == {"next": "/quotes/page/2", "page": "1", "count": "10"}
