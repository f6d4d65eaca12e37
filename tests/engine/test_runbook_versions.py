"""Runbook versions as saved (who, when, the YAML), the diff of any two, versions filled in
from the jobs of a database made before they were kept, and archived runbooks: not run,
not scheduled, not changed, until restored."""

import sqlite3

import pytest
from sqlmodel import select

from engine.errors import Conflict, Forbidden, NotFound
from engine.identity.access import Actor
from engine.service import schedule_firing, schedules
from engine.service.jobs import create_job, rerun_job
from engine.service.recovery import retry_job
from engine.service.runbooks import (
    RunbookArchived,
    add_runbook,
    archive_runbook,
    diff_versions,
    get_runbook,
    list_runbooks,
    load_runbook_dir,
    restore_runbook,
    runbook_version,
    runbook_versions,
)
from engine.store import schema
from engine.store.db import make_engine, read_scope, session_scope
from engine.store.schema import init_db
from models import AuditEvent, Job, JobStatus, Role

ADA = Actor(1, "ada", Role.admin, "127.0.0.1")
BOB = Actor(2, "bob", Role.admin, "token ci")
OLIVER = Actor(3, "oliver", Role.operator)


def yaml_of(step_url: str, title: str = "Orders") -> str:
    return (f"version: 1\nname: orders\ntitle: {title}\n"
            f"steps:\n  - {{name: open, action: goto, url: '{step_url}'}}\n")


V1, V2, V3 = (yaml_of("http://127.0.0.1:9/a"), yaml_of("http://127.0.0.1:9/b"),
              yaml_of("http://127.0.0.1:9/c", title="Orders (new)"))


def test_each_version_is_kept_with_who_saved_it(runtime, tmp_path):
    (tmp_path / "orders.yaml").write_text(V1)
    load_runbook_dir(tmp_path)  # as at start: no person
    load_runbook_dir(tmp_path)  # a restart with the same file: no second version 1
    assert add_runbook(V2, by=ADA).outcome == "new_version"
    assert add_runbook(V2, by=BOB).outcome == "unchanged"  # no new version for the same YAML
    # Apply of a healed selector stores over a version it read (compare-and-set)
    assert add_runbook(V3, by=BOB, expected_version=2).runbook.version == 3

    found = runbook_versions("orders")
    assert [(v.version, v.saved_by, v.title) for v in found] == [
        (3, "bob", "Orders (new)"), (2, "ada", "Orders"), (1, None, "Orders")]
    assert [runbook_version("orders", v).source for v in (1, 2, 3)] == [V1, V2, V3]
    with pytest.raises(NotFound, match='runbook "orders" has no version 9 '
                                       r"\(its versions are 1 to 3\)"):
        runbook_version("orders", 9)
    with pytest.raises(NotFound, match='no runbook named "nope"'):
        runbook_versions("nope")


def test_the_diff_of_two_versions(runtime):
    add_runbook(V1, by=ADA)
    add_runbook(V3, by=BOB)
    diff = diff_versions("orders", 1, 2)
    assert diff.splitlines()[:2] == ["--- orders v1", "+++ orders v2"]
    assert "-title: Orders" in diff.splitlines() and "+title: Orders (new)" in diff.splitlines()
    assert "-  - {name: open, action: goto, url: 'http://127.0.0.1:9/a'}" in diff.splitlines()
    assert "+  - {name: open, action: goto, url: 'http://127.0.0.1:9/c'}" in diff.splitlines()
    backwards = diff_versions("orders", 2, 1)
    assert "+title: Orders" in backwards.splitlines()
    assert diff_versions("orders", 2, 2) == ""


def test_an_archived_runbook_is_hidden_not_run_not_changed_until_restored(runtime, tmp_path):
    add_runbook(V1, by=ADA)
    done = create_job("orders")
    with pytest.raises(Forbidden, match="oliver is an operator: changing runbooks needs "
                                        "the admin role"):
        archive_runbook("orders", by=OLIVER)
    archived = archive_runbook("orders", by=ADA)
    assert archived.archived_by == "ada" and archived.archived_at is not None

    with pytest.raises(RunbookArchived, match=r'runbook "orders" is archived \(by ada on '
                                              r".*\): restore it to run it"):
        create_job("orders")
    assert [r.name for r in list_runbooks()] == []
    assert [r.name for r in list_runbooks(archived=True)] == ["orders"]
    with pytest.raises(RunbookArchived, match="restore it to save it again"):
        add_runbook(V2, by=ADA)
    with pytest.raises(RunbookArchived):  # not even the same YAML: it says it is archived
        add_runbook(V1, by=ADA)
    (tmp_path / "orders.yaml").write_text(V2)
    assert load_runbook_dir(tmp_path) == {}  # passed over at start, not an error
    assert get_runbook("orders").archived_at is not None  # loading never restores it
    assert [v.version for v in runbook_versions("orders")] == [1]
    with pytest.raises(Conflict, match='runbook "orders" is archived already'):
        archive_runbook("orders", by=BOB)
    with read_scope() as session:  # its jobs stay
        assert session.get(Job, done.id) is not None

    restore_runbook("orders", by=BOB)
    assert get_runbook("orders").archived_at is None
    assert create_job("orders").id > done.id
    assert [r.name for r in list_runbooks()] == ["orders"]
    with pytest.raises(Conflict, match='runbook "orders" is not archived'):
        restore_runbook("orders", by=BOB)
    with read_scope() as session:
        audited = session.exec(select(AuditEvent.actor, AuditEvent.action, AuditEvent.target)
                               .order_by(AuditEvent.id)).all()
    assert [tuple(a) for a in audited if a[1].startswith(("runbook_", "runbooks_"))] == [
        ("ada", "runbook_created", "runbook orders"),
        ("oliver", "runbooks_refused", "runbook orders"),
        ("ada", "runbook_archived", "runbook orders"),
        ("bob", "runbook_restored", "runbook orders")]


def test_a_schedule_of_an_archived_runbook_records_a_miss(runtime):
    add_runbook(V1, by=ADA)
    schedule = schedules.create_schedule("orders", interval_s=600, timezone="UTC")
    first = schedules.pending_job(schedule.id).scheduled_for
    archive_runbook("orders", by=ADA)
    assert schedule_firing.fire(schedule.id, first, now=first) is None
    [miss] = schedules.get_schedule(schedule.id).misses
    assert miss["at"] == first.isoformat()
    assert miss["reason"] == 'runbook "orders" is archived (by ada): restore it to run it'
    with read_scope() as session:
        statuses = session.exec(select(Job.status).where(Job.schedule_id == schedule.id)).all()
    assert [s.value for s in statuses] == ["scheduled"]  # the next one waits, nothing queued

    restore_runbook("orders", by=ADA)
    second = schedules.pending_job(schedule.id).scheduled_for
    fired = schedule_firing.fire(schedule.id, second, now=second)
    assert fired is not None and fired.status.value == "queued"


def test_a_database_from_before_versions_gets_them_from_its_jobs(runtime, settings):
    add_runbook(V1, by=ADA)
    ran_v1 = create_job("orders")
    add_runbook(V2, by=ADA)  # version 2: no job ran it
    add_runbook(V3, by=ADA)
    ran_v3 = [create_job("orders"), create_job("orders")]
    add_runbook(V1, by=ADA)  # version 4, the current one: the same YAML as version 1
    with sqlite3.connect(settings.db_path) as db:  # as the schema was at 0008
        db.execute("DROP TABLE runbookversion")
        for table, column in (("runbook", "archived_at"), ("runbook", "archived_by"),
                              ("job", "keep"), ("job", "artifacts_deleted_at")):
            db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        db.execute("UPDATE alembic_version SET version_num = '0008'")
    engine = make_engine(settings.db_url)
    assert schema.upgrade(engine) == ("0008", schema.head())
    engine.dispose()
    init_db(settings.db_url)

    found = runbook_versions("orders")
    assert [(v.version, v.saved_by) for v in found] == [(4, None), (3, None), (1, None)]
    assert [runbook_version("orders", v).source for v in (4, 3, 1)] == [V1, V3, V1]
    assert found[2].saved_at == ran_v1.created_at  # known from its first job
    assert found[1].saved_at == ran_v3[0].created_at
    assert found[1].title == "Orders (new)"
    with pytest.raises(NotFound, match="version 2 of runbook \"orders\" was not kept: it was "
                                       "saved before Jobdeck kept versions, and no job ran it"):
        runbook_version("orders", 2)
    assert diff_versions("orders", 1, 4) == ""
    assert get_runbook("orders").archived_at is None



def test_an_archived_runbook_cannot_be_rerun_retried_or_scheduled(runtime):
    """Every way to start it again is refused while it is archived, not only Run."""
    add_runbook(V1, by=ADA)
    old = create_job("orders")
    with session_scope() as session:
        session.get(Job, old.id).status = JobStatus.failed
    archive_runbook("orders", by=ADA)
    for attempt in (lambda: rerun_job(old.id), lambda: retry_job(old.id),
                    lambda: schedules.create_schedule("orders", interval_s=3600)):
        with pytest.raises(RunbookArchived, match="is archived"):
            attempt()
