"""Steps that never pass on wrong data: navigation settles before the next step reads the
page, retries give late content more time, assertions look at what a person sees and say
what they found, and a failure keeps Playwright's own reason. Real Chromium, demo site."""

import json

from support import step

from engine.demo_site import INVOICES
from models import ArtifactKind, ErrorKind, JobStatus

PAGINATION = """
    version: 1
    name: every-row
    title: Every row
    settings: {base_url: SITE, timeout_ms: 5000, screenshots: off}
    steps:
      - {action: goto, url: /slow-list/page/1}
      - {action: extract, selector: li.row, fields: {text: ""}, into: rows}
      - name: pages
        action: repeat
        max: 20
        while: {exists: "li.next a"}
        steps:
          - {action: click, selector: "li.next a"}
          - {action: extract, selector: li.row, fields: {text: ""}, into: rows}
      - {name: save, action: export, collection: rows, format: json}
    """


def test_the_natural_pagination_loop_reads_every_row_every_run(run_runbook, settings):
    # Each page commits at once and its rows arrive in two parts, each after a random
    # 25-200 ms: a step that read the page before its load would miss rows or pages.
    for _ in range(4):
        detail = run_runbook(PAGINATION)
        assert detail.job.status == JobStatus.completed, detail.job.error_message
        [export] = [a for a in detail.artifacts if a.kind == ArtifactKind.export]
        rows = [r["text"] for r in json.loads((settings.data_dir / export.path).read_text())]
        assert rows == [f"Row {k}" for k in range(1, 101)]


def _job(run_runbook, steps: str, timeout_ms: int = 500, retries: int = 3):
    return run_runbook(f"""
        version: 1
        name: trust
        title: Trust
        settings: {{base_url: SITE, timeout_ms: {timeout_ms}, retries: {retries},
                    screenshots: off}}
        steps:
{steps}
        """)


def test_each_round_waits_the_whole_timeout_so_retries_give_late_content_time(run_runbook):
    detail = _job(run_runbook, """
          - {action: goto, url: /late?delay_ms=1300}
          - {name: item, action: click, selector: "li.late-item >> nth=0"}
          - {action: goto, url: /late?delay_ms=1300}
          - {name: listed, action: wait, selector: ".late-item"}
          - {name: never, action: wait, selector: "#nothing-here", retries: 1}
        """)
    # 500 ms rounds: the item came in the third round, two rounds after the first.
    assert step(detail, "item").status.value == "success" and step(detail, "item").retries >= 2
    assert step(detail, "listed").retries >= 2
    never = step(detail, "never")
    assert never.error_kind == ErrorKind.element_not_found and never.retries == 1
    assert "#nothing-here did not become visible in 2 rounds of up to 500 ms" in (
        never.error_message)


def test_assertions_check_what_is_seen_and_show_what_was_found(run_runbook):
    detail = _job(run_runbook, """
          - {action: goto, url: /form}
          - {action: fill, selector: "#name", value: Ada}
          - {action: check, selector: "#newsletter"}
          - {name: value, action: assert, selector: "#name", value: Ada}
          - {name: checked, action: assert, selector: "#newsletter", checked: true}
          - {name: count, action: assert, selector: "select#plan option", count: 3}
          - {name: gone, action: assert, selector: "#nothing", visible: false}
          - {name: shown, action: assert, selector: "#name", visible: true}
          - {name: exact, action: assert, selector: "h1", equals: Form}
          - {name: hidden-text, action: assert, selector: "#hover-info", text: Extra info,
             continue_on_error: true}
          - {name: wrong-value, action: assert, selector: "#name", value: Grace,
             continue_on_error: true}
          - {name: wrong-count, action: assert, selector: "select#plan option", count: 5,
             continue_on_error: true}
          - {name: wrong-text, action: assert, selector: "h1", equals: For,
             continue_on_error: true}
        """, retries=0)
    for name in ("value", "checked", "count", "gone", "shown", "exact"):
        assert step(detail, name).status.value == "success", step(detail, name).error_message
    hidden = step(detail, "hidden-text")  # in the DOM, not on the screen: no text to match
    assert hidden.error_kind == ErrorKind.assertion_failed and "visible" in hidden.error_message
    assert "expected the value 'Grace', the page has 'Ada'" in step(
        detail, "wrong-value").error_message
    assert "expected the number of matches 5, the page has 3" in step(
        detail, "wrong-count").error_message
    assert "the page has 'Form'" in step(detail, "wrong-text").error_message


def test_a_failed_action_keeps_playwrights_reason(run_runbook):
    detail = _job(run_runbook, """
          - {action: goto, url: /form}
          - {name: plan, action: select, selector: "#plan", label: Enterprise, timeout_ms: 800}
        """)
    plan = step(detail, "plan")
    assert plan.error_kind == ErrorKind.action_failed
    assert "#plan" in plan.error_message and "is it hidden" not in plan.error_message
    assert plan.diagnostics["playwright"], plan.diagnostics


def test_for_each_runs_its_steps_once_per_record_and_per_listed_value(run_runbook):
    detail = run_runbook("""
        version: 1
        name: each
        title: Each
        params:
          codes: {default: "A-1, B-2,C-3"}
        settings: {base_url: SITE, timeout_ms: 3000, screenshots: off}
        steps:
          - {action: goto, url: /table}
          - {action: extract, selector: "#invoices tbody tr", fields: {number: .number,
             customer: .customer}, into: invoices}
          - name: per-invoice
            action: for_each
            items: invoices
            as: invoice
            max: 20
            steps:
              - {name: read, action: assert, selector: "td.number >> text={{invoice.number}}",
                 capture: {who: {js: "'{{invoice.customer}}'"}}}
          - name: per-code
            action: for_each
            items: codes
            as: code
            steps:
              - {name: type, action: goto, url: "/form?code={{code}}",
                 capture: {url: {url: true}}}
        """)
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    reads = [s for s in detail.steps if s.name == "read"]
    assert [s.iteration for s in reads] == list(range(1, 13))  # one per row, grouped
    assert reads[0].captures["who"] == INVOICES[0]["customer"]
    assert reads[11].captures["who"] == INVOICES[11]["customer"]
    urls = [s.captures["url"].split("code=")[1] for s in detail.steps if s.name == "type"]
    assert urls == ["A-1", "B-2", "C-3"]


def test_for_each_refuses_more_items_than_its_max(run_runbook):
    detail = run_runbook("""
        version: 1
        name: too-many
        title: Too many
        settings: {base_url: SITE, timeout_ms: 3000, screenshots: off}
        steps:
          - {action: goto, url: /table}
          - {action: extract, selector: "#invoices tbody tr", fields: {n: .number}, into: rows}
          - {name: each, action: for_each, items: rows, as: row, max: 5,
             steps: [{action: wait, ms: 1}]}
        """)
    each = step(detail, "each")
    assert each.error_kind == ErrorKind.action_failed
    assert "12 items, more than this for_each's max of 5" in each.error_message
