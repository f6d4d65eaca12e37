"""The database: SQLite (WAL, immediate write transactions) out of the box, PostgreSQL with
DATABASE_URL; one session per use. The schema is made and upgraded by `engine.store.schema`."""

import logging
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import event, func
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

import models  # noqa: F401  (registers the tables)
from engine.errors import Unavailable

log = logging.getLogger(__name__)


def make_engine(url: str) -> Engine:
    """An engine for `url` (sqlite:///FILE or postgresql+psycopg://…), tuned for several
    writer threads and processes."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        # pre_ping: a connection that PostgreSQL dropped (restart, failover) is replaced
        # before use instead of failing a job; UTC so timestamps never shift with the server.
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10,
                               connect_args={"options": "-c timezone=UTC",
                                             "connect_timeout": 5})
        event.listen(engine, "do_connect", _PatientConnect())
        return engine
    if parsed.database:  # SQLite (settings refuse any other DATABASE_URL)
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

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

    return engine


RECONNECT_SECONDS = 60


class _PatientConnect:
    """Connect; once this process has been connected, wait up to RECONNECT_SECONDS while
    the server is away (a restart), so the work that needed the connection continues
    instead of failing a job. At start, fail at once: a wrong DATABASE_URL says so."""

    def __init__(self) -> None:
        self.connected_before = False

    def __call__(self, dialect, _record, cargs, cparams):
        deadline = time.monotonic() + (RECONNECT_SECONDS if self.connected_before else 0)
        while True:
            try:
                connection = dialect.loaded_dbapi.connect(*cargs, **cparams)
                self.connected_before = True
                return connection
            except dialect.loaded_dbapi.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise
                log.warning("database unreachable (%s); retrying", str(exc).strip()[:200])
                time.sleep(1)


class DatabaseUnavailable(Unavailable):
    """The database cannot be reached when the process starts."""


def describe(engine: Engine) -> str:
    """The database for messages: its file, or its URL without the password."""
    url = engine.url
    # str(): an in-memory SQLite URL has no database (None), shown as before
    return str(url.database) if url.get_backend_name() == "sqlite" else url.render_as_string()


def unavailable(engine: Engine, exc: OperationalError) -> DatabaseUnavailable:
    """The one message for a database that cannot be reached (never with its password)."""
    reason = " ".join(str(exc.orig).split())
    return DatabaseUnavailable(f"cannot reach the database {describe(engine)} (check "
                               f"DATABASE_URL and that the server runs): {reason}")


@contextmanager
def one_off(url: str):
    """An engine for one command (`db upgrade`, `db current`), disposed after it; a
    database that cannot be reached is one clear DatabaseUnavailable."""
    engine = make_engine(url)
    try:
        yield engine
    except OperationalError as exc:
        raise unavailable(engine, exc) from None
    finally:
        engine.dispose()


_engine: Engine | None = None


def use_engine(engine: Engine) -> Engine:
    """Make `engine` the process's database (engine.store.schema.init_db opens it)."""
    global _engine
    if _engine is not None and _engine is not engine:
        _engine.dispose()
    _engine = engine
    return engine


def get_engine() -> Engine:
    if _engine is None:
        raise RuntimeError("database not initialised: call engine.store.schema.init_db() first")
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


def database_now():
    """Now by the database's clock on PostgreSQL, as an SQL expression evaluated inside the
    statement that uses it (leases are written by one machine and checked by another, whose
    clocks may differ); this machine's time on SQLite, which lives on one machine."""
    if get_engine().dialect.name == "postgresql":
        return func.now()
    return datetime.now(timezone.utc)


@contextmanager
def read_scope():
    """A session for reads only: it never takes SQLite's write lock."""
    with Session(get_engine().execution_options(read_only=True),
                 expire_on_commit=False) as session:
        yield session
