"""How many jobs have each status, kept by the database itself.

Counting a status over a million jobs takes tens of milliseconds even with an index; the
jobs list shows these counts on every refresh. Triggers keep one row per status up to date
inside the same transaction as the change, so reading the counts costs one tiny query.
"""

from sqlalchemy import text
from sqlalchemy.engine import Connection

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


def install(connection: Connection) -> None:
    """Create the counts and their triggers; count existing jobs the first time."""
    existed = connection.execute(text(
        "SELECT 1 FROM sqlite_master WHERE name = 'job_status_count'")).first()
    for statement in SQLITE_DDL:
        connection.execute(text(statement))
    if not existed:
        connection.execute(text("INSERT INTO job_status_count (status, n) "
                                "SELECT status, count(*) FROM job GROUP BY status"))


def read(connection) -> dict[str, int]:
    return dict(connection.execute(text("SELECT status, n FROM job_status_count")).all())
