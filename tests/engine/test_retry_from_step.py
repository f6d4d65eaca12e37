"""Retry from step N, in real Chromium against the demo site's /recovery pages: a retried
job restores the old job's browser state (cookies, page, values, collections) and runs on
from the failed step; what cannot be restored is refused or fails with a clear message."""

# ruff: noqa: F811 - the tests take the fixtures `key` and `recovery` imported below
import threading

import pytest
from retry_support import (  # noqa: F401 - key and recovery are fixtures
    CHECKED,
    EVERY_ROW,
    ITEMS,
    ORDERS,
    csv_rows,
    key,
    recovery,
    run_job,
)
from sqlmodel import select
from support import eventually, step

from engine.bus.events import get_bus
from engine.errors import ActionRefused, InvalidInput
from engine.runbook import load_runbook
from engine.runner.worker import claim
from engine.service.job_actions import act
from engine.service.jobs import create_job
from engine.service.recovery import retry_job, retry_options
from engine.service.runbooks import save_runbook
from engine.store.db import read_scope
from engine.store.snapshots import list_snapshots, snapshot_dir
from models import ErrorKind, JobStatus, StepRun, StepStatus, Trigger


def test_retry_resumes_at_the_failed_step_without_signing_in_again(recovery, runtime,
                                                                   settings):
    recovery.arm("export")
    failed = recovery.run(ORDERS)
    assert failed.job.status == JobStatus.failed
    assert step(failed, "export-page").error_kind == ErrorKind.http_error
    assert recovery.sign_ins() == 1

    options = retry_options(failed.job.id)
    assert options.refused is None and options.diff == ""
    assert options.default == step(failed, "export-page").ordinal
    assert [(p.name, p.place) for p in options.points][-3:] == [
        ("next", "iteration 2"), ("more", "iteration 2"), ("export-page", "")]

    job = retry_job(failed.job.id, by="ops")
    assert (job.trigger, job.retry_of, job.rerun_of) == (Trigger.retry, failed.job.id, None)
    done = run_job(runtime, settings, job.id)
    assert done.job.status == JobStatus.completed, done.job.error_message
    assert recovery.sign_ins() == 1  # the restored cookies kept the session
    assert step(done, "export").captures["seen"] == "page-1,page-2,page-3"  # local storage
    assert [r["id"] for r in csv_rows(settings, done)] == EVERY_ROW  # each row once
    restored = [s for s in done.steps if s.restored_from == failed.job.id]
    assert [s.name for s in restored] == [s.name for s in failed.steps
                                          if s.ordinal < options.default]
    assert all(s.status == StepStatus.success for s in restored)
    ran = [s for s in done.steps if s.restored_from is None]
    assert [s.name for s in ran] == ["export-page", "export"]
    assert [s.ordinal for s in done.steps] == list(range(1, len(done.steps) + 1))
    # the restored steps count in the job's figures as they did
    assert done.job.steps_succeeded == done.job.step_count == 8


def test_a_cancelled_job_is_retried_from_the_step_it_was_cancelled_in(recovery, runtime,
                                                                      settings):
    asking = ORDERS.replace("{name: export-page, action: goto, url: /export}",
                            "{name: export-page, action: goto, url: /export, "
                            "approval: {message: Export now?}}")
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(detail=recovery.run(asking)))
    thread.start()
    def waiting() -> StepRun | None:  # the step that waits for its approval
        with read_scope() as session:
            return session.exec(select(StepRun).where(StepRun.name == "export-page",
                                                      StepRun.status == StepStatus.running)).first()

    act(eventually(waiting, what="the approval").job_id, "cancel", by="ann")
    thread.join(60)
    cancelled = result["detail"]
    assert cancelled.job.status == JobStatus.cancelled
    assert retry_options(cancelled.job.id).default == step(cancelled, "export-page").ordinal
    done = run_job(runtime, settings, retry_job(cancelled.job.id).id,
                   approver=lambda _step: "approve")
    assert done.job.status == JobStatus.completed, done.job.error_message
    assert recovery.sign_ins() == 1
    assert [r["id"] for r in csv_rows(settings, done)] == EVERY_ROW


def test_a_retried_job_that_fails_again_can_be_retried_in_turn(recovery, runtime, settings):
    recovery.arm("export")
    recovery.arm("export")  # fails twice: the first job and its retry
    first = recovery.run(ORDERS)
    second = run_job(runtime, settings, retry_job(first.job.id).id)
    assert second.job.status == JobStatus.failed
    assert step(second, "export-page").error_kind == ErrorKind.http_error
    assert retry_options(second.job.id).default == step(second, "export-page").ordinal
    third = run_job(runtime, settings, retry_job(second.job.id).id)
    assert third.job.status == JobStatus.completed, third.job.error_message
    assert recovery.sign_ins() == 1
    assert [r["id"] for r in csv_rows(settings, third)] == EVERY_ROW
    assert {s.restored_from for s in third.steps} == {second.job.id, None}


def test_a_retry_that_fails_in_a_loop_is_retried_from_the_loop(recovery, runtime, settings):
    recovery.arm("item-P2-1")
    recovery.arm("item-P2-1")  # the first job and its retry fail on page 2's check
    first = recovery.run(CHECKED)
    assert step(first, "check", iteration=1).error_kind == ErrorKind.http_error
    second = run_job(runtime, settings, retry_job(first.job.id).id)
    assert second.job.status == JobStatus.failed
    assert step(second, "check", iteration=1).error_kind == ErrorKind.http_error
    # from the loop itself: the state before it, not the one inside it the retry restored
    third = run_job(runtime, settings, retry_job(second.job.id, "pages").id)
    assert third.job.status == JobStatus.completed, third.job.error_message
    assert recovery.sign_ins() == 1
    assert [r["id"] for r in csv_rows(settings, third)] == EVERY_ROW  # each row once
    assert [s.name for s in third.steps if s.restored_from is None][:3] == [
        "pages", "next", "more"]


def test_retry_from_inside_a_for_each_resumes_at_that_item(recovery, runtime, settings):
    recovery.arm("item-P1-2")
    failed = recovery.run(ITEMS)
    assert failed.job.status == JobStatus.failed
    visit = step(failed, "visit", iteration=2)
    assert visit.status == StepStatus.failed
    assert retry_options(failed.job.id).default == visit.ordinal

    job = retry_job(failed.job.id, "visit")
    assert job.resume["path"] == ["each", 2, "visit"]
    done = run_job(runtime, settings, job.id)
    assert done.job.status == JobStatus.completed, done.job.error_message
    assert recovery.sign_ins() == 1
    each = [s for s in done.steps if s.name == "each"]
    assert len(each) == 1 and each[0].restored_from is None  # the loop runs again
    nested = [(s.name, s.iteration, s.restored_from) for s in done.steps
              if s.parent_id == each[0].id]
    assert step(done, "visit", iteration=2).captures["at"].endswith("/item/P1-2")
    assert nested == [("visit", 1, failed.job.id), ("seen", 1, failed.job.id),
                      ("visit", 2, None), ("seen", 2, None),
                      ("visit", 3, None), ("seen", 3, None),
                      ("visit", 4, None), ("seen", 4, None)]


NESTED = """
version: 1
name: nested-KEY
title: Nested
params: {groups: {default: "P1,P2"}}
secrets: [site_password]
settings: {base_url: SITE/recovery/KEY, timeout_ms: 5000, screenshots: off}
steps:
  - {name: open, action: goto, url: /login}
  - {name: user, action: fill, selector: "#username", value: demo}
  - {name: password, action: fill, selector: "#password", value: "{{site_password}}"}
  - {name: sign-in, action: click, selector: "button[type=submit]"}
  - name: groups
    action: for_each
    items: groups
    as: g
    steps:
      - name: tries
        action: repeat
        max: 2
        until: {exists: "#never"}
        steps:
          - {name: list, action: goto, url: "/rows?page=1"}
          - {name: visit, action: goto, url: "/item/{{g}}-1"}
"""


def test_retry_inside_a_repeat_inside_a_for_each(recovery, runtime, settings):
    recovery.arm("item-P2-1")
    failed = recovery.run(NESTED)
    assert failed.job.status == JobStatus.failed
    job = retry_job(failed.job.id)
    assert job.resume["path"] == ["groups", 2, "tries", 1, "visit"]
    done = run_job(runtime, settings, job.id)
    assert done.job.status == JobStatus.completed, done.job.error_message
    assert recovery.sign_ins() == 1
    by_id = {s.id: s for s in done.steps}

    tree = []
    for s in done.steps:
        where, row = [], s
        while row.parent_id is not None:
            where.insert(0, f"{by_id[row.parent_id].name}[{row.iteration}]")
            row = by_id[row.parent_id]
        tree.append(("/".join([*where, s.name]), "restored" if s.restored_from else "ran"))
    assert tree[4:] == [
        ("groups", "ran"),
        ("groups[1]/tries", "restored"),
        ("groups[1]/tries[1]/list", "restored"), ("groups[1]/tries[1]/visit", "restored"),
        ("groups[1]/tries[2]/list", "restored"), ("groups[1]/tries[2]/visit", "restored"),
        ("groups[2]/tries", "ran"),
        ("groups[2]/tries[1]/list", "restored"), ("groups[2]/tries[1]/visit", "ran"),
        ("groups[2]/tries[2]/list", "ran"), ("groups[2]/tries[2]/visit", "ran")]


def test_what_cannot_be_retried_is_refused_with_the_reason(recovery, runtime, settings):
    recovery.arm("export")
    failed = recovery.run(ORDERS)
    with pytest.raises(InvalidInput, match='no step "nope"; steps it can retry from: "open"'):
        retry_job(failed.job.id, "nope")
    with pytest.raises(ActionRefused, match='comes after the failed step "export-page"'):
        retry_job(failed.job.id, "export")
    options = retry_options(failed.job.id)
    assert options.refused is None

    done = recovery.run(ORDERS)  # the same runbook, now completing
    assert done.job.status == JobStatus.completed
    with pytest.raises(ActionRefused, match="is completed: only a failed or cancelled job"):
        retry_job(done.job.id)

    recovery.arm("export")
    off = recovery.run(ORDERS.replace("screenshots: off}", "screenshots: off, resume: false}"))
    assert off.job.status == JobStatus.failed
    assert list_snapshots(settings.data_dir, off.job.id) == []
    assert "resume: false" in retry_options(off.job.id).refused
    with pytest.raises(ActionRefused, match="resume: false.*re-run it instead"):
        retry_job(off.job.id)

    running = create_job(failed.job.runbook_name)
    claim(running.id, runtime.heartbeat, get_bus())
    with pytest.raises(ActionRefused, match=f"job {running.id} is running: only a failed"):
        retry_job(running.id)


def test_a_snapshot_that_cannot_be_written_warns_and_the_job_goes_on(recovery, runtime,
                                                                     settings, site, key):
    spec = load_runbook(ORDERS.replace("SITE", site).replace("KEY", key), "test.yaml")
    save_runbook(spec)
    job = create_job(spec.name)
    where = snapshot_dir(settings.data_dir, job.id)
    where.parent.mkdir(parents=True)
    where.write_text("not a folder")  # the snapshots cannot be written there
    done = run_job(runtime, settings, job.id)
    assert done.job.status == JobStatus.completed, done.job.error_message
    assert step(done, "open").warnings[0].startswith(
        "no snapshot could be saved after this step")
    assert all(not s.warnings for s in done.steps if s.name != "open")  # said once
    # no state was kept after any step: only step 1, which needs none, could be resumed
    assert [p.name for p in retry_options(job.id).points] == ["open"]


def test_a_site_refusing_the_restored_cookies_fails_the_first_step(recovery, runtime,
                                                                   settings):
    recovery.arm("export")
    failed = recovery.run(ORDERS)
    recovery.forget()  # the site ends every session: the old cookies are refused
    done = run_job(runtime, settings, retry_job(failed.job.id).id)
    assert done.job.status == JobStatus.failed
    first = step(done, "export-page")
    assert first.error_kind == ErrorKind.restore_failed
    assert first.error_message.startswith(f"the restored page {recovery.root}/rows?page=3 "
                                          f"loaded as {recovery.root}/login")
    assert f"restored from job #{failed.job.id}; retry from step 1" in first.error_message
    assert step(done, "export").status == StepStatus.skipped  # the job stopped


def test_a_snapshot_that_cannot_be_read_fails_the_first_step(recovery, runtime, settings):
    recovery.arm("export")
    failed = recovery.run(ORDERS)
    job = retry_job(failed.job.id)
    [snap] = [s for s in list_snapshots(settings.data_dir, failed.job.id)
              if s.seq == job.resume["snapshot"]]
    snap.path.write_bytes(b"damaged")
    done = run_job(runtime, settings, job.id)
    assert done.job.status == JobStatus.failed
    first = step(done, "export-page")
    assert first.error_kind == ErrorKind.restore_failed
    assert first.error_message == (
        f"the browser state of job #{failed.job.id} cannot be restored: snapshot "
        f"{snap.path.name} cannot be read: InvalidToken; retry from step 1 instead (or "
        "Re-run the job)")
    assert recovery.sign_ins() == 1  # nothing ran in the new job
