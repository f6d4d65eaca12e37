"""The database: SQLite in WAL mode with immediate write transactions, one session per use."""

from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

import models  # noqa: F401  (registers the tables)
from engine import job_counts


def make_engine(db_path: Path) -> Engine:
    """An engine on a SQLite file, tuned for several writer threads and processes."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite:///{db_path}", connect_args={"check_same_thread": False, "timeout": 30}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not the driver, open transactions so they can be IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Read-then-write in a deferred transaction fails with "database is locked";
        # plain reads (the console's) stay deferred so they never wait for a writer.
        read_only = conn.get_execution_options().get("read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    SQLModel.metadata.create_all(engine)
    check_schema(engine, db_path)
    with engine.begin() as connection:
        job_counts.install(connection)
    return engine


class OutdatedDatabase(RuntimeError):
    """The database file was made by an older Jobdeck; nothing in it was changed."""


def check_schema(engine: Engine, db_path: Path) -> None:
    """Refuse, with what to do, a database whose tables lack columns this version needs."""
    found = inspect(engine)
    for table in SQLModel.metadata.sorted_tables:
        have = {column["name"] for column in found.get_columns(table.name)}
        missing = [column.name for column in table.columns if column.name not in have]
        if missing:
            raise OutdatedDatabase(
                f"{db_path} was made by an older version of Jobdeck (table {table.name} "
                f"lacks {', '.join(missing)}). It was left as it is. Move it aside (mv "
                f"{db_path} {db_path}.old) to start with a new one; upgrading in place "
                "comes with schema migrations.")


_engine: Engine | None = None


def init_db(db_path: Path) -> Engine:
    """Open (and create if needed) the process's database."""
    global _engine
    if _engine is not None:
        _engine.dispose()
    _engine = make_engine(db_path)
    return _engine


def get_engine() -> Engine:
    if _engine is None:
        raise RuntimeError("database not initialised: call engine.db.init_db() first")
    return _engine


@contextmanager
def session_scope():
    """A session that commits on success and rolls back on error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def read_scope():
    """A session for reads only: it never takes SQLite's write lock."""
    with Session(get_engine().execution_options(read_only=True),
                 expire_on_commit=False) as session:
        yield session
