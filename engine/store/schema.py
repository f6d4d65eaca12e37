"""The database schema: made on first start, upgraded only when asked (`python main.py db
upgrade`), with Alembic migrations in engine/store/migrations. SQLite and PostgreSQL alike.

A process never changes an existing schema by itself: several processes share one database
at scale, and an upgrade is a moment for a backup. It refuses, saying what to run.
"""

from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel

from engine.errors import Unavailable
from engine.store import job_counts, job_fts
from engine.store.db import describe, make_engine, unavailable, use_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001"  # the schema of Jobdeck before migrations existed
_LOCK_KEY = 7_215_301  # PostgreSQL advisory lock: one process changes the schema at a time


class OutdatedDatabase(Unavailable):
    """The database needs an upgrade (or a newer Jobdeck); nothing in it was changed."""


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@lru_cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str:
    revision = _scripts().get_current_head()
    assert revision is not None  # the migrations directory ships with Jobdeck
    return revision


@contextmanager
def _changing(engine: Engine):
    """A transaction that no other process changes the schema in at the same time."""
    with engine.begin() as connection:  # SQLite: BEGIN IMMEDIATE already excludes writers
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        yield connection


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _is_empty(connection: Connection) -> bool:
    return not inspect(connection).has_table("job")


def prepare(engine: Engine) -> None:
    """At start: create the schema of an empty database; refuse one that is not current."""
    with _changing(engine) as connection:
        current = current_revision(connection)
        if current == head():
            return
        if current is None and _is_empty(connection):
            # Alembic's recipe for a new database: the tables as the models say, then stamp.
            SQLModel.metadata.create_all(connection)
            job_counts.install(connection)
            job_fts.install(connection)  # what the models cannot say: FTS5, GIN, triggers
            MigrationContext.configure(connection).stamp(_scripts(), "head")
            return
    raise OutdatedDatabase(_refusal(engine, current))


def _refusal(engine: Engine, current: str | None) -> str:
    where = describe(engine)
    if current is not None and current not in _known_revisions():
        return (f"{where} was upgraded by a newer Jobdeck (schema {current}; this version "
                f"knows up to {head()}). Nothing was changed. Run the newer version.")
    was = f"schema {current}" if current else "made before schema migrations"
    return (f"{where} was made by an older version of Jobdeck ({was}; this version needs "
            f"{head()}). Nothing was changed. Back it up, stop every Jobdeck process that "
            "uses it, then run: python main.py db upgrade")


def _known_revisions() -> set[str]:
    return {s.revision for s in _scripts().walk_revisions()}


def upgrade(engine: Engine) -> tuple[str, str]:
    """Bring the schema to this version's head, in one transaction. Returns (from, to):
    a revision, "empty" or "before migrations"."""
    with _changing(engine) as connection:
        current = current_revision(connection)
        if current is not None and current not in _known_revisions():
            raise OutdatedDatabase(_refusal(engine, current))
        before = current or ("empty" if _is_empty(connection) else "before migrations")
        if before == "before migrations":
            _adopt(engine, connection)
        command.upgrade(_config(connection), "head")
        job_counts.install(connection)  # SQLite's batch migrations drop a rebuilt table's
        job_fts.install(connection)     # triggers; these put them back (idempotent)
        return before, head()


def _adopt(engine: Engine, connection: Connection) -> None:
    """A database from before migrations: check it has the baseline's columns, then mark
    it as the baseline (adding the status counts, which some early versions lacked)."""
    found = inspect(connection)
    for table, columns in BASELINE_COLUMNS.items():
        have = ({c["name"] for c in found.get_columns(table)} if found.has_table(table)
                else set())
        missing = [c for c in columns if c not in have]
        if missing:
            raise OutdatedDatabase(
                f"{describe(engine)} is from a Jobdeck too old to upgrade (table {table} "
                f"lacks {', '.join(missing)}). Nothing was changed. Move it aside to start "
                "with a new one.")
    job_counts.install(connection)
    command.stamp(_config(connection), BASELINE)


# The tables of revision 0001 (Jobdeck 0.1.0) as they were, whatever the models say later.
BASELINE_COLUMNS = {
    "runbook": ("id", "name", "title", "source", "summary", "version", "created_at",
                "updated_at"),
    "schedule": ("id", "runbook_name", "params", "cron", "interval_s", "at", "timezone",
                 "enabled", "misfire_grace_s", "created_at", "updated_at", "last_fired_at",
                 "misses"),
    "schedulerlock": ("id", "holder", "expires_at"),
    "job": ("id", "runbook_id", "runbook_name", "runbook_title", "runbook_version", "source",
            "status", "trigger", "started_by", "params", "created_at", "scheduled_for",
            "queued_at", "started_at", "finished_at", "step_count", "steps_done",
            "current_step", "error_kind", "error_message", "requested_action",
            "requested_by", "rerun_of", "schedule_id", "worker_id", "lease_expires_at",
            "duration_ms", "steps_succeeded", "steps_failed", "steps_skipped", "retry_count"),
    "auditevent": ("id", "at", "actor", "action", "job_id", "comment", "status_before",
                   "status_after"),
    "jobevent": ("id", "job_id", "kind", "data", "created_at"),
    "steprun": ("id", "job_id", "ordinal", "parent_id", "iteration", "name", "action",
                "description", "status", "started_at", "finished_at", "duration_ms",
                "retries", "selector_used", "captures", "error_kind", "error_message",
                "diagnostics"),
    "artifact": ("id", "job_id", "step_run_id", "kind", "name", "path", "size", "media_type",
                 "created_at"),
}


def init_db(url: str | Path) -> Engine:
    """Open the process's database, creating its schema if it is empty.

    `url` is a database URL or the path of a SQLite file. Raises OutdatedDatabase (nothing
    changed) when the database needs `python main.py db upgrade`, DatabaseUnavailable when
    it cannot be reached.
    """
    engine = make_engine(url if isinstance(url, str) else f"sqlite:///{url}")
    try:
        prepare(engine)
    except OperationalError as exc:
        engine.dispose()
        raise unavailable(engine, exc) from None
    except BaseException:
        engine.dispose()
        raise
    return use_engine(engine)
