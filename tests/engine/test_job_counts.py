"""Tab counts and totals stay right through every status change, also for an existing
database that had jobs before the counts existed."""

import sqlite3

from engine.service.jobs import count_jobs_by_status, create_job, list_jobs
from engine.service.runbooks import add_runbook
from engine.store import job_fts, schema
from engine.store.db import make_engine, session_scope
from engine.store.schema import init_db
from engine.store.transitions import transition_job
from models import JobStatus

S = JobStatus
RUNBOOK = "version: 1\nname: counted\ntitle: Counted\nsteps: [{action: goto, url: 'http://127.0.0.1:9/'}]\n"


def test_counts_follow_status_changes(runtime):
    add_runbook(RUNBOOK)
    ids = [create_job("counted").id for _ in range(5)]
    with session_scope() as session:
        transition_job(session, ids[0], S.running)
        transition_job(session, ids[0], S.completed)
        transition_job(session, ids[1], S.running)
        transition_job(session, ids[1], S.failed)
        transition_job(session, ids[2], S.cancelled)
    counts = count_jobs_by_status()
    assert (counts[S.queued], counts[S.completed], counts[S.failed], counts[S.cancelled],
            counts[S.running]) == (2, 1, 1, 1, 0)
    assert list_jobs([S.queued, S.failed])[1] == 3
    assert list_jobs()[1] == 5
    assert count_jobs_by_status("count")[S.queued] == 2  # a search counts the rows


def test_an_existing_database_is_counted_once(runtime, settings):
    add_runbook(RUNBOOK)
    for _ in range(3):
        create_job("counted")
    with sqlite3.connect(settings.db_path) as db:  # as if made before counts and migrations
        for trigger in ("insert", "update", "delete"):  # the full-text index (0010)
            db.execute(f"DROP TRIGGER job_fts_{trigger}")
        db.execute("DROP TABLE job_fts")
        for index in job_fts.FILTER_INDEXES:  # the filters' indexes (0010)
            db.execute(f"DROP INDEX {index}")
        for table in ("login_session", "api_token", "user_account"):  # no accounts (0003)
            db.execute(f"DROP TABLE {table}")
        for index in ("ix_auditevent_at", "ix_auditevent_action"):
            db.execute(f"DROP INDEX {index}")
        for column in ("target", "source"):
            db.execute(f"ALTER TABLE auditevent DROP COLUMN {column}")
        for column in ("dialogs", "tabs", "warnings"):  # what a step's page did (0004)
            db.execute(f"ALTER TABLE steprun DROP COLUMN {column}")
        for table, column in (("schedule", "overlap"), ("schedule", "deleted_at"),
                              ("schedule", "interval_from"),
                              ("schedulerlock", "since")):  # overlap and takeover (0005)
            db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        db.execute("ALTER TABLE job DROP COLUMN steps_cancelled")  # 0006
        for table in ("notificationdelivery", "notificationchannel", "notifiercursor"):  # 0007
            db.execute(f"DROP TABLE {table}")
        for column in ("control_holder", "control_since", "control_seen_at"):
            db.execute(f"ALTER TABLE job DROP COLUMN {column}")
        db.execute("DROP INDEX ix_job_retry_of")  # 0008
        for table, column in (("job", "retry_of"), ("job", "resume"), ("steprun", "candidate"),
                              ("steprun", "restored_from"), ("steprun", "visual_change")):
            db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        db.execute("DROP TABLE runbookversion")  # 0009
        for table, column in (("runbook", "archived_at"), ("runbook", "archived_by"),
                              ("job", "keep"), ("job", "artifacts_deleted_at")):
            db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        db.execute("DROP TABLE job_status_count")
        db.execute("DROP TABLE alembic_version")
        db.execute("DROP TABLE instance_secret")
        for trigger in ("insert", "update", "delete"):
            db.execute(f"DROP TRIGGER job_count_{trigger}")
    engine = make_engine(settings.db_url)
    schema.upgrade(engine)
    schema.upgrade(engine)  # a second upgrade must not count them again
    engine.dispose()
    init_db(settings.db_url)
    assert count_jobs_by_status()[S.queued] == 3
