"""Pages that changed: each step's screenshot against the same step's in the runbook's last
completed job, a diff image that marks what changed, and checks that fail on it."""

import io
import json
import re
from contextlib import contextmanager

import pytest
from PIL import Image
from sqlalchemy import event
from sqlmodel import select
from support import step

from engine.runbook import RunbookInvalid, load_runbook
from engine.runner.image_diff import difference
from engine.runner.visual import load_baseline
from engine.secrets import store as secret_store
from engine.service.visual import recent_changes
from engine.store.artifacts import artifact_file
from engine.store.db import get_engine, session_scope
from models import ErrorKind, Job, JobStatus, StepRun, StepStatus
from models.common import utcnow

RUNBOOK = """
    version: 1
    name: looks
    title: Looks
    params:
      color: {default: navy}
      shades: {default: "teal, navy"}
    secrets: [code]
    settings: {base_url: SITE, timeout_ms: 5000, screenshots: each_step}
    steps:
      - name: each
        action: for_each
        items: shades
        as: shade
        steps:  # each item compares with the same item: teal with teal, navy with navy
          - {name: look, action: goto, url: "/visual?color={{shade}}"}
      - name: open
        action: goto
        url: "/visual?color={{color}}"
        visual_check: 0.05
        continue_on_error: true
        capture:
          banner: {js: "JSON.stringify(document.getElementById('banner').getBoundingClientRect())"}
      - {name: type-code, action: fill, selector: "#code", value: "{{code}}"}
      - {name: same, action: assert, unchanged: true}
    """


def test_a_changed_heading_is_measured_marked_and_fails_the_checks(run_runbook, settings):
    secret_store.set_secret("code", "alpha", by="admin")
    first = run_runbook(RUNBOOK)
    assert first.job.status == JobStatus.completed, first.job.error_message
    assert [s.visual_change for s in first.steps] == [None] * 6  # nothing to compare
    # The checked steps pass and say why nothing was compared; the others say nothing.
    assert step(first, "open").warnings == ["no earlier completed job to compare with"]
    assert step(first, "same").warnings == ["no earlier completed job to compare with"]
    assert step(first, "type-code").warnings == []
    # a job still running is no latest change, even when it compared a step already
    running = _copy_job(first.job.id, JobStatus.running, visual_change=0.5)
    assert recent_changes("looks") is None
    _drop_job(running)  # before any recovery of stale jobs could end it

    # The same page again, with another (longer) secret typed into the field in large type:
    # its mask is painted the same, so nothing changed.
    secret_store.set_secret("code", "a much longer secret value, the second", by="admin")
    same = run_runbook(RUNBOOK)
    assert same.job.status == JobStatus.completed, same.job.error_message
    compared = [s for s in same.steps if s.name != "each"]  # the loop's own steps are
    assert len(compared) == 5 and all(  # compared, not the loop
        s.visual_change is not None and s.visual_change < 0.001 for s in compared), [
        (s.name, s.iteration, s.visual_change) for s in compared]
    assert not [a for a in same.artifacts if a.name.startswith("change after")]

    # The site's banner heading turns crimson: both checks fail, the diff marks the banner.
    changed = run_runbook(RUNBOOK, {"color": "crimson"})
    assert changed.job.status == JobStatus.failed
    opened = step(changed, "open")
    assert opened.status == StepStatus.failed and opened.error_kind == ErrorKind.visual_changed
    assert opened.visual_change is not None and opened.visual_change > 0.05
    assert re.fullmatch(rf"the page changed \d+(\.\d)? % against job #{same.job.id}'s "
                        r"screenshot of this step \(visual_check allows 5 %\); see the diff "
                        "image", opened.error_message or ""), opened.error_message
    typed = step(changed, "type-code")  # no check of its own: measured and shown only
    assert typed.status == StepStatus.success and typed.visual_change > 0.05
    assert [a.name for a in changed.artifacts if a.step_run_id == typed.id] == [
        "after type-code", "change after type-code"]
    asserted = step(changed, "same")
    assert asserted.status == StepStatus.failed
    assert asserted.error_kind == ErrorKind.visual_changed
    assert "(assert unchanged allows 1 %)" in (asserted.error_message or "")

    [diff] = [a for a in changed.artifacts if a.name == "change after open"]
    assert diff.step_run_id == opened.id and diff.media_type == "image/png"
    path = artifact_file(settings.data_dir, diff)
    assert path is not None
    pixels = Image.open(io.BytesIO(path.read_bytes())).convert("RGB")
    red = [(x, y) for x in range(0, pixels.width, 4) for y in range(0, pixels.height, 4)
           if _red(pixels.getpixel((x, y)))]
    box = json.loads(opened.captures["banner"])
    inside = [(x, y) for x, y in red if box["left"] - 1 <= x <= box["right"] + 1
              and box["top"] - 1 <= y <= box["bottom"] + 1]
    assert red and inside == red, "a pixel outside the banner is marked changed"
    # most of the banner is marked (its white text did not change)
    assert len(red) > 0.5 * (box["width"] * box["height"]) / 16
    assert not _red(pixels.getpixel((pixels.width - 5, pixels.height - 5)))

    # The runbook page's summary: the latest job's changed steps, the most changed first.
    assert [a.name for a in changed.artifacts if a.name.startswith("after look")] == [
        "after look (item 1)", "after look (item 2)"]
    assert [s.visual_change for s in changed.steps if s.name == "look"] == [0.0, 0.0]
    with _statements() as said:
        latest = recent_changes("looks")
    assert latest is not None and latest.job_id == changed.job.id and latest.compared == 5
    assert {c.step: c.failed for c in latest.steps} == {
        "open": True, "type-code": False, "same": True}
    assert all(c.share > 0.05 and c.diff_url.startswith("/api/artifacts/")
               for c in latest.steps)
    # the count holds above the steps listed; every read goes through an index
    most = recent_changes("looks", limit=1)
    assert most is not None and most.changed == 3 and most.compared == 5
    assert [c.step for c in most.steps] == [max(latest.steps, key=lambda c: c.share).step]
    assert _scans(said) == []
    # a job still running is not the latest, even when it compared a step already

    # A failed job is no baseline: the next navy run compares with the last completed one.
    again = run_runbook(RUNBOOK)
    assert again.job.status == JobStatus.completed, again.job.error_message
    assert all(s.visual_change is not None and s.visual_change < 0.001
               for s in again.steps if s.name != "each")
    latest = recent_changes("looks")
    assert latest is not None and latest.job_id == again.job.id and latest.steps == []
    assert (latest.changed, latest.compared) == (0, 5)

    # A retried job that completed took no screenshot of its restored steps: those compare
    # with the job before it (here `again`), so their checks still fail on a change.
    retried = _copy_job(again.job.id, JobStatus.completed, restored=True)
    later = run_runbook(RUNBOOK, {"color": "crimson"})
    assert later.job.status == JobStatus.failed
    opened = step(later, "open")
    assert opened.error_kind == ErrorKind.visual_changed, (opened.warnings, retried)
    assert f"against job #{again.job.id}'s screenshot" in (opened.error_message or "")
    with _statements() as said:
        baseline = load_baseline(settings.data_dir, later.job.id)
    assert baseline is not None and baseline.job_id == retried
    assert {job for job, _ in baseline.shots.values()} == {again.job.id}
    assert _scans(said) == []


def _copy_job(job_id: int, status: JobStatus, visual_change: float | None = None,
              restored: bool = False) -> int:
    """A job of the same runbook, finished now (or running), with the steps of `job_id`
    but none of its screenshots; its steps restored from `job_id` with `restored`."""
    with session_scope() as session:
        job = session.get(Job, job_id)
        kept = job.model_dump(exclude={"id", "finished_at", "status", "retry_of"})
        copy = Job(**kept, status=status, finished_at=utcnow() if status.is_final else None,
                   retry_of=job_id if restored else None)
        session.add(copy)
        session.flush()
        for row in session.exec(select(StepRun).where(StepRun.job_id == job_id)).all():
            kept = row.model_dump(exclude={"id", "job_id", "visual_change", "restored_from"})
            session.add(StepRun(**kept, job_id=copy.id, visual_change=visual_change,
                                restored_from=job_id if restored else None))
        return copy.id or 0


def _drop_job(job_id: int) -> None:
    with session_scope() as session:
        for row in session.exec(select(StepRun).where(StepRun.job_id == job_id)).all():
            session.delete(row)
        session.flush()
        session.delete(session.get(Job, job_id))


@contextmanager
def _statements():
    """The SELECTs run meanwhile, with their parameters."""
    said: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            said.append((statement, parameters))
    engine = get_engine()
    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield said
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def _scans(said) -> list[str]:
    """The reads of jobs, step runs and artifacts that scan a table, or search it by another
    index than the one on whose rows they want (a job's runbook, a step run's or an
    artifact's job): those grow with every other runbook's jobs."""
    with get_engine().connect() as conn:
        return sorted({f"{detail}: {statement[:120]}" for statement, params in said
                       for *_, detail in conn.exec_driver_sql(
                           f"EXPLAIN QUERY PLAN {statement}", params).all()
                       if re.match(r"(SCAN|SEARCH) (job|steprun|artifact)\b", detail)
                       and not re.search(r"USING (INTEGER PRIMARY KEY|(COVERING )?INDEX "
                                         r"ix_(job_runbook_id|steprun_job_id|artifact_job_id)"
                                         r" )", detail)})


def _red(rgb) -> bool:
    r, g, b = rgb[:3]
    return r > 200 and g < 60 and b < 60


VISUAL = """\
version: 1
name: checks
title: Checks
settings: {screenshots: SHOTS}
steps:
  - {name: open, action: goto, url: "https://example.com/", visual_check: CHECK}
  - {name: same, action: assert, unchanged: true, threshold: 0.2}
"""


@pytest.mark.parametrize("shots", ["on_failure", "off"])
def test_visual_checks_need_a_screenshot_after_each_step(shots):
    with pytest.raises(RunbookInvalid) as exc:
        load_runbook(VISUAL.replace("SHOTS", shots).replace("CHECK", "0.05"), "c.yaml")
    assert exc.value.errors == [
        'c.yaml:6:61: step "open": visual checks (visual_check, assert unchanged) compare '
        f"the screenshot taken after each step, and settings.screenshots is {shots}: set "
        "screenshots: each_step, or remove the checks (1 more step uses them)"]


@pytest.mark.parametrize("check", ["0", "1.5", "-0.1", "true", "five", ".nan"])
def test_a_visual_check_is_a_share_above_0_and_at_most_1(check):
    with pytest.raises(RunbookInvalid) as exc:
        load_runbook(VISUAL.replace("SHOTS", "each_step").replace("CHECK", check), "c.yaml")
    [error] = exc.value.errors
    assert error.startswith('c.yaml:6:') and error.endswith(
        'step "open": visual_check is the share of the page\'s pixels that may change: a '
        "number above 0 and at most 1 (0.05 for 5 %)")


def test_assert_unchanged_keys_are_checked():
    source = """\
version: 1
name: checks
title: Checks
steps:
  - {name: a, action: assert, unchanged: true, threshold: 2}
  - {name: b, action: assert, selector: "#x", threshold: 0.1}
  - {name: c, action: assert, unchanged: false}
  - {name: d, action: repeat, max: 2, while: {exists: body}, visual_check: 0.1,
     steps: [{name: e, action: goto, url: "https://example.com/", visual_check: 1}]}
"""
    with pytest.raises(RunbookInvalid) as exc:
        load_runbook(source, "c.yaml")
    assert [e.split(": ", 1)[1] for e in exc.value.errors] == [
        'step "a": threshold is the share of the page\'s pixels that may change: a number '
        "above 0 and at most 1 (0.05 for 5 %)",
        'step "b": "threshold" only goes with "unchanged: true"',
        'step "c": unchanged: false checks nothing: write unchanged: true, or another check',
        'step "d": a repeat takes no "visual_check": give it to the steps inside']
    fine = load_runbook(source.split("  - {name: a")[0]
                        + "  - {name: a, action: assert, unchanged: true}\n"
                        "  - {name: b, action: goto, url: \"https://x.org/\", visual_check: 1}\n")
    assert [(s.args, s.visual_check) for s in fine.steps] == [
        ({"unchanged": True}, None), ({"url": "https://x.org/"}, 1.0)]


def test_screenshots_of_different_sizes_count_what_only_one_has_as_changed():
    def jpeg(width: int, height: int, color: str) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (width, height), color).save(out, "JPEG", quality=60)
        return out.getvalue()
    # 100x100 against 100x50 of the same white: the 50 rows only the old one has changed
    assert difference(jpeg(100, 100, "white"), jpeg(100, 50, "white")).share == 0.5
    grown = difference(jpeg(100, 50, "white"), jpeg(100, 100, "white"))
    assert grown.share == 0.5 and grown.changed[50:].all() and not grown.changed[:50].any()
    assert grown.boxes == [(0, 48, 100, 100)]  # whole 16-pixel squares
    assert difference(jpeg(80, 60, "white"), jpeg(80, 60, "navy")).share == 1.0


def test_a_step_has_one_visual_check():
    source = """\
version: 1
name: checks
title: Checks
params: {shades: {default: "a, b"}}
steps:
  - {name: same, action: assert, unchanged: true, visual_check: 0.05}
  - name: each
    action: for_each
    items: shades
    as: shade
    steps:
      - {name: look, action: assert, unchanged: true, threshold: 0.1,
         visual_check: 0.2}
"""
    with pytest.raises(RunbookInvalid) as exc:
        load_runbook(source, "c.yaml")
    said = ('an assert with "unchanged: true" takes no "visual_check" (both would check the '
            'same screenshot): give the assert a "threshold" instead')
    assert exc.value.errors == [f'c.yaml:6:51: step "same": {said}',
                                f'c.yaml:13:10: step "look": {said}']


def test_one_wording_of_a_change_for_messages_timeline_and_runbook_page():
    from engine.service.visual import SHOWN_FROM, percent
    assert [percent(x) for x in (0.234, 0.1, 0.047, 0.004, 0.0)] == [
        "23 %", "10 %", "4.7 %", "0.4 %", "0.0 %"]
    assert SHOWN_FROM == 0.01
