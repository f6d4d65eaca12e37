"""The jobs list's filters through the engine's API, on jobs written to a real SQLite file:
each filter alone and combined, the full-text search (FTS5) as it follows the jobs, the
tab counts under filters, what is refused, and a database upgraded from before it."""

import sqlite3

import pytest
from job_rows import JOBS, add_job_rows

from engine.service.job_search import InvalidFilter, parse_filter
from engine.service.jobs import count_jobs_by_status, list_jobs
from engine.store import schema
from engine.store.db import make_engine, session_scope
from models import Job, JobStatus

S = JobStatus
# URL values -> the JOBS (1-based) they admit
ALONE = {
    "runbook=invoices": ({"runbook": "invoices"}, {1, 2, 5}),
    "status=failed": ({"status": "failed"}, {2, 3}),
    "trigger=schedule": ({"trigger": "schedule"}, {2}),
    "trigger=manual,api": ({"trigger": "manual,api"}, {1, 3}),
    "trigger=retry": ({"trigger": "retry"}, {6}),
    "started_by=ada": ({"started_by": "ada"}, {1, 4}),
    "since a date": ({"since": "2026-11-15"}, {3, 4, 5, 6}),
    "since a time": ({"since": "2026-11-15T12:00:01Z"}, {4, 5, 6}),
    "until a date: to its end": ({"until": "2026-11-30"}, {1, 2, 3, 4}),
    "until a time with an offset": ({"until": "2026-12-01T01:00:00+01:00"}, {1, 2, 3, 4}),
    "error_kind": ({"error_kind": "http_error"}, {3}),
}
SEARCHES = {
    "invoices": {1, 2, 5},  # the runbook's name
    "export inv": {1, 2, 5},  # its title, the last word a prefix
    "pay": {3, 4, 6},  # a prefix of a name
    "locator": {2},  # the error message
    "service unav": {3},
    "ZURICH": {3},  # a param's value, case and accents aside
    "2026-10": {1},  # "2026-10" is the phrase "2026 10", not 2026-11's "2026"
    "rene": {5},  # who started it
    "xport": set(),  # full-text finds words and their starts, not any substring
    "!!!": set(),
}
COMBINED = {
    "runbook, started_by and since": (
        {"runbook": "payroll", "started_by": "bob", "since": "2026-12-01"}, {6}),
    "status and q": ({"status": "failed", "q": "timeout"}, {2}),
    "trigger, error_kind and q": ({"trigger": "api", "error_kind": "http_error",
                                   "q": "503"}, {3}),
    "since and until: one day": ({"since": "2026-11-30", "until": "2026-11-30"}, {4}),
    "all at once, nothing fits": ({"runbook": "invoices", "trigger": "rerun", "q": "ada"},
                                  set()),
}


def found(ids: list[int], values: dict) -> set[int]:
    """The JOBS' numbers a filter lists, checking its total and its order on the way."""
    jobs, total = list_jobs(filters=parse_filter(**values))
    assert total == len(jobs)
    assert [j.created_at for j in jobs] == sorted((j.created_at for j in jobs), reverse=True)
    return {ids.index(j.id) + 1 for j in jobs}


def test_each_filter_alone_and_combined(runtime):
    ids = add_job_rows()
    for name, (values, expected) in {**ALONE, **COMBINED}.items():
        assert found(ids, values) == expected, name
    for q, expected in SEARCHES.items():
        assert found(ids, {"q": q}) == expected, q


def test_tab_counts_under_filters_count_what_the_list_shows(runtime):
    add_job_rows()
    counts = count_jobs_by_status(filters=parse_filter(runbook="invoices"))
    assert (counts[S.completed], counts[S.failed], counts[S.running], counts[S.queued]) == (
        1, 1, 1, 0)
    assert count_jobs_by_status(filters=parse_filter(q="bob"))[S.completed] == 1
    failed_only = parse_filter(status="failed", q="pay")  # a tab's status is not a filter
    assert sum(count_jobs_by_status(filters=failed_only).values()) == 3
    unfiltered = count_jobs_by_status()  # the counts table
    assert sum(unfiltered.values()) == len(JOBS) and unfiltered[S.completed] == 3


def test_the_search_follows_changes_and_deletions(runtime):
    ids = add_job_rows()
    with session_scope() as session:
        job = session.get(Job, ids[4])
        job.status, job.error_kind = S.failed, "worker_lost"
        job.error_message = "The worker stopped renewing its lease"
        session.delete(session.get(Job, ids[0]))
    assert found(ids, {"q": "lease"}) == {5}
    assert found(ids, {"q": "2026-10"}) == set()  # job 1 is gone, and so is its text
    assert found(ids, {"q": "invoices"}) == {2, 5}
    with session_scope() as session:
        session.get(Job, ids[4]).error_message = "Something else"
    assert found(ids, {"q": "lease"}) == set()


@pytest.mark.parametrize("values, says", [
    ({"trigger": "cron"}, "unknown trigger cron: use one of manual, schedule, api, rerun, "
                          "retry, cli (several: comma-separated)"),
    ({"status": "done"}, "unknown status done"),
    ({"error_kind": "oops"}, "unknown error_kind oops: use one of element_not_found"),
    ({"error_kind": "http_error,worker_lost"}, "error_kind takes one kind, not a list"),
    ({"since": "yesterday"}, 'since "yesterday" is not an ISO 8601 date or date and time: '
                             "write 2026-12-01 or 2026-12-01T08:30 (UTC)"),
    ({"until": "2026-13-01"}, 'until "2026-13-01" is not an ISO 8601 date'),
    ({"since": "2026-12-02", "until": "2026-12-01"},
     "since (2026-12-02) is not before until (2026-12-01): swap them"),
    ({"q": "x" * 201}, "q is longer than 200 characters"),
])
def test_an_unusable_value_is_refused_saying_what_to_write(values, says):
    with pytest.raises(InvalidFilter) as refused:
        parse_filter(**values)
    assert says in str(refused.value)


def test_an_upgraded_database_indexes_its_existing_jobs(runtime, settings):
    ids = add_job_rows()
    with sqlite3.connect(settings.db_path) as db:  # as revision 0009 left it
        for trigger in ("insert", "update", "delete"):
            db.execute(f"DROP TRIGGER job_fts_{trigger}")
        db.execute("DROP TABLE job_fts")
        db.execute("DROP INDEX ix_job_runbook_created")
        db.execute("UPDATE alembic_version SET version_num = '0009'")
    engine = make_engine(settings.db_url)
    assert schema.upgrade(engine) == ("0009", schema.head())
    with engine.connect() as connection:
        indexes = {row[0] for row in connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index'")}
    engine.dispose()
    assert "ix_job_runbook_created" in indexes
    assert found(ids, {"q": "locator"}) == {2}
    assert found(ids, {"q": "pay", "runbook": "payroll", "since": "2026-12-01"}) == {6}
