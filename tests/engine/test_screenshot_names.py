"""Screenshots of repeated steps tell their iteration apart, and a screenshot that cannot
be taken is said on its step instead of vanishing."""

from pathlib import Path

from support import step

from models import ArtifactKind, JobStatus


def test_each_iteration_and_item_gets_a_screenshot_of_its_own_name(run_runbook):
    detail = run_runbook("""
        version: 1
        name: shots
        title: Shots
        params:
          codes: {default: "A-1, B-2"}
        settings: {base_url: SITE, timeout_ms: 3000, screenshots: each_step}
        steps:
          - name: pages
            action: repeat
            max: 2
            while: {exists: "body"}
            steps:
              - {name: look, action: goto, url: /table}
              - name: per-code
                action: for_each
                items: codes
                as: code
                steps:
                  - {name: shot, action: screenshot}
        """)
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    shots = [a for a in detail.artifacts if a.kind == ArtifactKind.screenshot]
    names = [a.name for a in shots]
    assert [n for n in names if n.startswith("after look")] == [
        "after look (iteration 1)", "after look (iteration 2)"]
    assert [n for n in names if n.startswith("shot")] == [
        "shot (iteration 1, item 1)", "shot (iteration 1, item 2)",
        "shot (iteration 2, item 1)", "shot (iteration 2, item 2)"]
    assert len(set(names)) == len(names)
    files = [Path(a.path).name for a in shots]
    assert any("iteration-2-item-1" in f for f in files), files  # the file says it too


def test_a_screenshot_that_times_out_leaves_a_warning_on_its_step(run_runbook):
    detail = run_runbook("""
        version: 1
        name: frozen
        title: Frozen
        settings: {base_url: SITE, timeout_ms: 3000, screenshots: each_step}
        steps:
          - {name: open, action: goto, url: "/frozen?ms=8000"}
        """)
    opened = step(detail, "open")
    assert opened.status.value == "success"
    assert not [a for a in detail.artifacts if a.kind == ArtifactKind.screenshot]
    # then the state snapshot's, which the frozen tab refused too (Retry from step N)
    warning, snapshot = opened.warnings
    assert snapshot.startswith("no snapshot was taken after this step")
    assert warning.startswith("the screenshot after this step could not be taken")
    assert "Timeout 3000ms exceeded" in warning
