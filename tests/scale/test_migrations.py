"""Schema migrations on SQLite and PostgreSQL: an empty database, one made by the previous
version, and the refusals that leave a database as it was."""

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import String, text
from sqlmodel import SQLModel
from support import process_env

from engine.service.jobs import count_jobs_by_status, list_jobs
from engine.store import job_fts, schema
from engine.store.db import make_engine
from engine.store.schema import init_db
from models import JobStatus

ROOT = Path(__file__).resolve().parents[2]
PREVIOUS = Path(__file__).with_name("jobdeck-0.1.0.sql")


def db_command(url: str, *args: str) -> subprocess.CompletedProcess:
    """`python main.py db ...` as a user runs it, against `url`."""
    return subprocess.run([sys.executable, "main.py", "db", *args], cwd=ROOT, text=True,
                          capture_output=True, env={**process_env(), "DATABASE_URL": url},
                          timeout=120)


def dump(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return "\n".join(db.iterdump())


def schema_differences(url: str) -> list:
    """What the database's tables lack or have beyond the models (the status counts are
    kept by triggers, outside the models)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    finally:
        engine.dispose()
    return [d for d in diff if not (d[0] == "remove_table" and d[1].name == "job_status_count")
            and not _job_search_index(d) and not _sqlite_length_only(url, d)]


def _job_search_index(difference) -> bool:
    """The filters' indexes and the full-text index (engine/store/job_fts.py): made by
    its install(), as the status counts are, outside the models."""
    if isinstance(difference, list) or difference[0] not in ("remove_table", "remove_index"):
        return False
    name = difference[1].name
    return name.startswith("job_fts") or name in (*job_fts.FILTER_INDEXES, "ix_job_fts")


def _sqlite_length_only(url: str, difference) -> bool:
    """Jobdeck 0.1.0 made its status columns VARCHAR(10)..(20); SQLite ignores lengths, so
    the upgrade leaves them (rewriting a table of a million jobs would gain nothing)."""
    if not (url.startswith("sqlite") and isinstance(difference, list)):
        return False
    change = difference[0]
    return change[0] == "modify_type" and all(isinstance(t, String) for t in change[5:7])


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobdeck.db'}"
    return request.getfixturevalue("pg_url")


def test_db_upgrade_builds_an_empty_database_as_the_models_say(empty_url):
    done = db_command(empty_url, "upgrade")
    assert done.returncode == 0, done.stderr
    assert f"schema empty -> {schema.head()}" in done.stdout
    assert schema_differences(empty_url) == []
    again = db_command(empty_url, "upgrade")
    assert f"schema {schema.head()}, already up to date" in again.stdout


def test_first_start_creates_the_schema_and_counts_jobs(empty_url):
    init_db(empty_url)  # what every process does at start
    assert schema_differences(empty_url) == []
    assert count_jobs_by_status()[JobStatus.queued] == 0
    current = db_command(empty_url, "current")
    assert f"schema {schema.head()}; this Jobdeck needs {schema.head()}" in current.stdout


def test_a_database_of_the_previous_version_is_refused_then_upgraded(tmp_path):
    path = tmp_path / "jobdeck.db"
    with sqlite3.connect(path) as db:
        db.executescript(PREVIOUS.read_text())
    url = f"sqlite:///{path}"
    before = dump(path)

    with pytest.raises(schema.OutdatedDatabase) as refused:
        init_db(url)
    assert "made before schema migrations" in str(refused.value)
    assert "python main.py db upgrade" in str(refused.value)
    assert dump(path) == before  # nothing was changed

    done = db_command(url, "upgrade")
    assert done.returncode == 0, done.stderr
    assert f"schema before migrations -> {schema.head()}" in done.stdout
    init_db(url)
    jobs, total = list_jobs()
    assert total == 2 and {j.runbook_title for j in jobs} == {"Made by Jobdeck 0.1.0"}
    assert {j.status for j in jobs} == {JobStatus.queued, JobStatus.cancelled}
    counts = count_jobs_by_status()
    assert (counts[JobStatus.queued], counts[JobStatus.cancelled]) == (1, 1)
    assert schema_differences(url) == []


def test_postgresql_at_the_first_revision_is_upgraded_keeping_its_jobs(pg_url):
    engine = make_engine(pg_url)
    with engine.begin() as connection:  # a PostgreSQL database at revision 0001, with a job
        from alembic import command
        command.upgrade(schema._config(connection), "0001")
        connection.execute(text(
            "INSERT INTO runbook (name, title, source, summary, version, created_at, "
            "updated_at) VALUES ('kept', 'Kept', '', '{}', 1, now(), now())"))
        connection.execute(text(
            "INSERT INTO job (runbook_id, runbook_name, runbook_title, runbook_version, "
            "source, status, trigger, params, created_at, step_count, steps_done, "
            "steps_succeeded, steps_failed, steps_skipped, retry_count) VALUES (1, 'kept', "
            "'Kept', 1, '', 'failed', 'manual', '{}', now(), 1, 1, 0, 1, 0, 0)"))
    engine.dispose()
    with pytest.raises(schema.OutdatedDatabase, match="schema 0001"):
        init_db(pg_url)

    done = db_command(pg_url, "upgrade")
    assert done.returncode == 0, done.stderr
    assert f"schema 0001 -> {schema.head()}" in done.stdout
    init_db(pg_url)
    assert count_jobs_by_status()[JobStatus.failed] == 1
    assert list_jobs()[0][0].runbook_name == "kept"


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'jobdeck.db'}"
    init_db(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(schema.OutdatedDatabase, match="newer Jobdeck"):
        init_db(url)
    done = db_command(url, "upgrade")
    assert done.returncode == 1 and "newer Jobdeck" in done.stderr
