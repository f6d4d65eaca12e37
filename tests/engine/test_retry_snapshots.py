"""Retry from step N: what a snapshot holds (no secret, what changed since the previous
one) and a retry with the runbook changed since, against the demo site's /recovery pages."""
# ruff: noqa: F811 - the tests take the fixtures `key` and `recovery` imported below

import json
import zlib

import pytest
from retry_support import (  # noqa: F401 - key and recovery are fixtures
    EVERY_ROW,
    ORDERS,
    csv_rows,
    key,
    recovery,
    run_job,
)
from support import step

from engine.demo_html import DEMO_PASSWORD
from engine.errors import ActionRefused, InvalidInput
from engine.service.recovery import retry_job, retry_options
from engine.store.snapshots import _fernet, list_snapshots, read_state, write_snapshot
from models import ErrorKind, JobStatus

# the page keeps what was typed in local storage, as some sites do with a form's fields
TYPED = "document.getElementById('password').value"
KEEPS_TYPED = ORDERS.replace(
    f"""    capture: {{typed: {{js: "{TYPED}"}}}}""",
    f"""    capture:
      typed: {{js: "{TYPED}"}}
      kept: {{js: "localStorage.setItem('pw', {TYPED}) || 'ok'"}}
      kept_too: {{js: "localStorage.setItem('note', 'pw=' + {TYPED}) || 'ok'"}}""")


def _plain(snap) -> str:
    return zlib.decompress(_fernet().decrypt(snap.path.read_bytes())).decode()


def test_a_snapshot_holds_no_secret_even_in_local_storage(recovery, runtime, settings):
    assert KEEPS_TYPED != ORDERS
    recovery.arm("export")
    failed = recovery.run(KEEPS_TYPED)
    snaps = list_snapshots(settings.data_dir, failed.job.id)
    assert len(snaps) == 10  # one after each step that succeeded (the repeat too)
    for snap in snaps:  # decrypted: the password is in none of them
        assert DEMO_PASSWORD not in _plain(snap)
    state = read_state(snaps, snaps[-1].seq)
    assert state["path"] == ["pages"] and state["url"].endswith("/rows?page=3")
    assert state["values"]["typed"] == "••••"  # a capture holding it is masked
    assert "site_password" not in state["values"] and "who" not in state["values"]
    [origin] = [o for o in state["storage_state"]["origins"]
                if any(p["name"] == "pw" for p in o["localStorage"])]
    stored = {p["name"]: p["value"] for p in origin["localStorage"]}
    assert stored["pw"] == "••••" and stored["note"] == "pw=••••"  # masked, not dropped
    assert stored["page-3"] == "seen"
    assert [r["id"] for r in state["collections"]["rows"]] == EVERY_ROW
    assert json.dumps(state["storage_state"]).count("recovery_session") == 1

    # restored, the page reads the masked value back
    done = run_job(runtime, settings, retry_job(failed.job.id).id)
    assert done.job.status == JobStatus.completed, done.job.error_message
    assert [r["id"] for r in csv_rows(settings, done)] == EVERY_ROW


def test_a_snapshot_holds_what_changed_since_the_previous_one(recovery, settings):
    recovery.arm("export")
    failed = recovery.run(ORDERS)
    snaps = list_snapshots(settings.data_dir, failed.job.id)
    added = [json.loads(_plain(s))["collections"] for s in snaps]
    # after each extract only its page's rows; nothing after the steps that add none
    pages = [[r["id"] for r in a["rows"]["records"]] for a in added if "rows" in a]
    assert pages == [EVERY_ROW[:4], EVERY_ROW[4:8], EVERY_ROW[8:]]
    # the replay of snapshot k is the whole state after step k
    after_first_page = next(s for s in snaps if json.loads(_plain(s))["step"] == "first-page")
    assert [r["id"] for r in read_state(snaps, after_first_page.seq)["collections"][
        "rows"]] == EVERY_ROW[:4]


def test_retry_with_the_runbook_version_changed_since(recovery, runtime, settings):
    recovery.arm("export")
    failed = recovery.run(ORDERS)
    changed = ORDERS.replace("  - name: export\n", "  - {name: ready, action: assert, "
                             'selector: "#ready", text: Export ready}\n  - name: export\n')
    assert recovery.run(changed).job.runbook_version == failed.job.runbook_version + 1
    options = retry_options(failed.job.id)
    assert options.current_version == options.job_version + 1
    assert "+  - {name: ready, action: assert" in options.diff

    new = run_job(runtime, settings, retry_job(failed.job.id, version="new").id)
    assert new.job.status == JobStatus.completed, new.job.error_message
    assert [s.name for s in new.steps if s.restored_from is None] == [
        "export-page", "ready", "export"]
    assert new.job.runbook_version == options.current_version

    recovery.run(ORDERS.replace("name: export-page", "name: to-export"))  # renamed
    with pytest.raises(InvalidInput, match='step "export-page" is not in version 3'):
        retry_job(failed.job.id, version="new")
    old = run_job(runtime, settings, retry_job(failed.job.id, version="old").id)
    assert old.job.status == JobStatus.completed, old.job.error_message
    assert old.job.runbook_version == failed.job.runbook_version


def test_a_version_adding_steps_before_the_resume_point_is_refused(recovery, settings):
    recovery.arm("export")
    failed = recovery.run(ORDERS)
    recovery.run(ORDERS.replace(
        "  - {name: export-page,", '  - {name: check-filter, action: assert, selector: '
        '"tr.row", text: P3}\n  - {name: export-page,'))
    with pytest.raises(ActionRefused, match=r"version 2 of the runbook adds steps before "
                       r"export-page \(check-filter\): they would not run; retry with the "
                       "job's version, or start the runbook again"):
        retry_job(failed.job.id, version="new")
    assert step(failed, "export-page").ordinal == retry_options(failed.job.id).default
    assert retry_job(failed.job.id, version="old").runbook_version == 1


def test_a_state_the_browser_rejects_fails_the_first_step(recovery, runtime, settings):
    recovery.arm("export")
    failed = recovery.run(ORDERS)
    job = retry_job(failed.job.id)
    [snap] = [s for s in list_snapshots(settings.data_dir, failed.job.id)
              if s.seq == job.resume["snapshot"]]
    state = json.loads(_plain(snap))
    state["storage_state"]["cookies"] = [{"name": "half a cookie"}]  # no value, no domain
    write_snapshot(settings.data_dir, failed.job.id, snap.seq, snap.rows, state)
    done = run_job(runtime, settings, job.id)
    assert done.job.status == JobStatus.failed
    first = step(done, "export-page")
    assert first.error_kind == ErrorKind.restore_failed
    assert first.error_message.startswith(
        f"the browser did not accept the state restored from job #{failed.job.id} (")
    assert first.error_message.endswith("; retry from step 1 instead (or Re-run the job)")
