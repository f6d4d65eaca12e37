"""The jobs' full-text index and the indexes the list's filters use, kept by the database.

What a search (`q`) looks in: the runbook's name and title, who started the job, its error
message and its params' values. SQLite: an FTS5 table without content of its own
(`content=''`, the text stays in `job`), one row per job (rowid = job id), kept in step by
triggers in the same transaction as the change. PostgreSQL: a tsvector expression over the
same columns with a GIN index; a query names the same expression, so the index serves it.

Contentless FTS5 deletes a row by being given the text it indexed: the triggers compute it
from OLD exactly as they did from NEW. A later change of what is indexed must therefore
rebuild the index (`drop` then `install`), never change the triggers alone.
"""

from sqlalchemy import text
from sqlalchemy.engine import Connection

# the filters' indexes: each equality filter then the list's order; status last, so that a
# tab's list and the tab counts under a filter read the index alone
FILTER_INDEXES = {
    "ix_job_runbook_created": ("runbook_name", "created_at", "status"),
    "ix_job_trigger_created": ("trigger", "created_at", "status"),
    "ix_job_started_by_created": ("started_by", "created_at", "status"),
    "ix_job_error_kind_created": ("error_kind", "created_at", "status"),
}


def _sqlite_body(row: str) -> str:
    """The text a job is found by, from `row` (NEW, OLD or job)."""
    values = (f"(SELECT group_concat(value, ' ') FROM json_each({row}.params) "
              "WHERE atom IS NOT NULL)")
    return (f"coalesce({row}.runbook_name, '') || ' ' || coalesce({row}.runbook_title, '') "
            f"|| ' ' || coalesce({row}.started_by, '') || ' ' "
            f"|| coalesce({row}.error_message, '') || ' ' "
            f"|| coalesce(CASE WHEN json_valid({row}.params) THEN {values} END, '')")


_SEARCHED = "runbook_name, runbook_title, started_by, error_message, params"
SQLITE_DDL = [
    # unicode61 (FTS5's default) folds case; remove_diacritics 2: "rene" finds "René"
    "CREATE VIRTUAL TABLE IF NOT EXISTS job_fts USING fts5(body, content='', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS job_fts_insert AFTER INSERT ON job BEGIN "
    f"INSERT INTO job_fts (rowid, body) VALUES (NEW.id, {_sqlite_body('NEW')}); END",
    f"CREATE TRIGGER IF NOT EXISTS job_fts_update AFTER UPDATE OF {_SEARCHED} ON job "
    "WHEN OLD.runbook_name IS NOT NEW.runbook_name "
    "OR OLD.runbook_title IS NOT NEW.runbook_title OR OLD.started_by IS NOT NEW.started_by "
    "OR OLD.error_message IS NOT NEW.error_message OR OLD.params IS NOT NEW.params BEGIN "
    f"INSERT INTO job_fts (job_fts, rowid, body) VALUES ('delete', OLD.id, "
    f"{_sqlite_body('OLD')}); "
    f"INSERT INTO job_fts (rowid, body) VALUES (NEW.id, {_sqlite_body('NEW')}); END",
    "CREATE TRIGGER IF NOT EXISTS job_fts_delete AFTER DELETE ON job BEGIN "
    f"INSERT INTO job_fts (job_fts, rowid, body) VALUES ('delete', OLD.id, "
    f"{_sqlite_body('OLD')}); END",
]
SQLITE_FILL = f"INSERT INTO job_fts (rowid, body) SELECT job.id, {_sqlite_body('job')} FROM job"

# PostgreSQL's parser reads "example.com/x" as one host-and-path token: punctuation is made
# a space first, so that words are found as on SQLite. (Param names are searched there too:
# the text of its jsonb: the one immutable way to the values, escapes read.)
POSTGRESQL_DOCUMENT = (
    "to_tsvector('simple'::regconfig, regexp_replace(coalesce(runbook_name, '') || ' ' || "
    "coalesce(runbook_title, '') || ' ' || coalesce(started_by, '') || ' ' || "
    "coalesce(error_message, '') || ' ' || coalesce(params::jsonb::text, ''), "
    "'[^[:alnum:]]+', ' ', 'g'))")
POSTGRESQL_DDL = [
    f"CREATE INDEX IF NOT EXISTS ix_job_fts ON job USING gin (({POSTGRESQL_DOCUMENT}))"]


def install(connection: Connection) -> None:
    """Create the filters' indexes and the full-text index with its triggers (idempotent),
    filling the full-text index from the existing jobs the first time."""
    for name, columns in FILTER_INDEXES.items():
        quoted = ", ".join(f'"{c}"' for c in columns)  # "trigger" is an SQL keyword
        connection.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON job ({quoted})"))
    if connection.dialect.name == "postgresql":
        for statement in POSTGRESQL_DDL:
            connection.execute(text(statement))
        return
    existed = connection.execute(text(
        "SELECT count(*) FROM sqlite_master WHERE name = 'job_fts'")).scalar()
    for statement in SQLITE_DDL:
        connection.execute(text(statement))
    if not existed:
        connection.execute(text(SQLITE_FILL))


def drop(connection: Connection) -> None:
    """Remove everything `install` made."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("DROP INDEX IF EXISTS ix_job_fts"))
    else:
        for trigger in ("insert", "update", "delete"):
            connection.execute(text(f"DROP TRIGGER IF EXISTS job_fts_{trigger}"))
        connection.execute(text("DROP TABLE IF EXISTS job_fts"))
    for name in FILTER_INDEXES:
        connection.execute(text(f"DROP INDEX IF EXISTS {name}"))
