"""How many jobs have each status, kept by the database itself.

Counting a status over a million jobs takes tens of milliseconds even with an index; the
jobs list shows these counts on every refresh. Triggers keep one row per status up to date
inside the same transaction as the change, so reading the counts costs one tiny query.
"""

from sqlalchemy import text
from sqlalchemy.engine import Connection

from models import JobStatus

SQLITE_DDL = [
    "CREATE TABLE IF NOT EXISTS job_status_count "
    "(status TEXT PRIMARY KEY, n INTEGER NOT NULL)",
    "CREATE TRIGGER IF NOT EXISTS job_count_insert AFTER INSERT ON job BEGIN "
    "INSERT INTO job_status_count (status, n) VALUES (NEW.status, 1) "
    "ON CONFLICT (status) DO UPDATE SET n = n + 1; END",
    "CREATE TRIGGER IF NOT EXISTS job_count_update AFTER UPDATE OF status ON job "
    "WHEN OLD.status IS NOT NEW.status BEGIN "
    "UPDATE job_status_count SET n = n - 1 WHERE status = OLD.status; "
    "INSERT INTO job_status_count (status, n) VALUES (NEW.status, 1) "
    "ON CONFLICT (status) DO UPDATE SET n = n + 1; END",
    "CREATE TRIGGER IF NOT EXISTS job_count_delete AFTER DELETE ON job BEGIN "
    "UPDATE job_status_count SET n = n - 1 WHERE status = OLD.status; END",
]

# PostgreSQL runs writers in parallel, so the two count rows a status change touches are
# locked in name order: two jobs moving in opposite directions (running <-> waiting) must
# not deadlock on them.
POSTGRESQL_DDL = [
    "CREATE TABLE IF NOT EXISTS job_status_count "
    "(status TEXT PRIMARY KEY, n INTEGER NOT NULL)",
    """CREATE OR REPLACE FUNCTION job_status_count_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND OLD.status::text > NEW.status::text THEN
        PERFORM job_status_count_add(NEW.status::text, 1);
        PERFORM job_status_count_add(OLD.status::text, -1);
      ELSE
        IF TG_OP <> 'INSERT' THEN PERFORM job_status_count_add(OLD.status::text, -1); END IF;
        IF TG_OP <> 'DELETE' THEN PERFORM job_status_count_add(NEW.status::text, 1); END IF;
      END IF;
      RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION job_status_count_add(s text, d integer) RETURNS void
    LANGUAGE sql AS $$
      INSERT INTO job_status_count (status, n) VALUES (s, d)
      ON CONFLICT (status) DO UPDATE SET n = job_status_count.n + d
    $$""",
    # (DROP + CREATE, not CREATE OR REPLACE TRIGGER: that needs PostgreSQL 14)
    "DROP TRIGGER IF EXISTS job_count_insert ON job",
    "CREATE TRIGGER job_count_insert AFTER INSERT ON job FOR EACH ROW "
    "EXECUTE FUNCTION job_status_count_change()",
    "DROP TRIGGER IF EXISTS job_count_update ON job",
    "CREATE TRIGGER job_count_update AFTER UPDATE OF status ON job FOR EACH ROW "
    "WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION job_status_count_change()",
    "DROP TRIGGER IF EXISTS job_count_delete ON job",
    "CREATE TRIGGER job_count_delete AFTER DELETE ON job FOR EACH ROW "
    "EXECUTE FUNCTION job_status_count_change()",
]


def install(connection: Connection) -> None:
    """Create the counts and their triggers; count existing jobs the first time."""
    postgres = connection.dialect.name == "postgresql"
    existed = connection.execute(text(
        "SELECT to_regclass('job_status_count') IS NOT NULL" if postgres else
        "SELECT count(*) FROM sqlite_master WHERE name = 'job_status_count'")).scalar()
    # the function job_status_count_change calls is created after it: plpgsql binds late
    for statement in POSTGRESQL_DDL if postgres else SQLITE_DDL:
        connection.execute(text(statement))
    if not existed:
        connection.execute(text("INSERT INTO job_status_count (status, n) "
                                "SELECT CAST(status AS TEXT), count(*) FROM job GROUP BY status"))
    for status in JobStatus:  # every row exists from the start: no insert races later
        connection.execute(text("INSERT INTO job_status_count (status, n) VALUES (:s, 0) "
                                "ON CONFLICT (status) DO NOTHING"), {"s": status.value})


def lock(connection: Connection, statuses: list[str]) -> None:
    """PostgreSQL: lock these count rows now, in name order, for a transaction that moves a
    job more than once (each single move locks its own two in that order)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT 1 FROM job_status_count WHERE status = ANY(:s) "
                                "ORDER BY status FOR UPDATE"), {"s": sorted(statuses)})


def read(connection) -> dict[str, int]:
    return dict(connection.execute(text("SELECT status, n FROM job_status_count")).all())
