"""The jobs list's filters and full-text search on PostgreSQL (a tsvector and its GIN
index) find what they find on SQLite (tests/engine/test_job_filters.py), accents aside."""

from job_rows import add_job_rows
from sqlalchemy import text

from engine.service.job_search import parse_filter
from engine.service.jobs import count_jobs_by_status, list_jobs
from engine.store.db import get_engine
from engine.store.schema import init_db
from models import JobStatus


def test_filters_and_search_on_postgresql(pg_url):
    init_db(pg_url)
    ids = add_job_rows()

    def found(**values) -> list[int]:
        jobs, total = list_jobs(filters=parse_filter(**values))
        assert total == len(jobs)
        return [ids.index(j.id) + 1 for j in jobs]

    assert found(q="Export inv") == [5, 2, 1]
    assert found(q="zurich") == []  # no accent folding in the 'simple' configuration
    assert found(q="Zürich") == [3]
    assert found(q="2026-10") == [1]
    assert found(q="service unav") == [3]
    assert found(q="locator", error_kind="element_not_found", since="2026-11-02") == [2]
    assert found(runbook="payroll", trigger="rerun,retry", started_by="ada") == [4]
    assert found(since="2026-11-30", until="2026-11-30") == [4]
    counts = count_jobs_by_status(filters=parse_filter(q="pay"))
    assert (counts[JobStatus.completed], counts[JobStatus.failed]) == (2, 1)
    with get_engine().connect() as connection:  # the index the search is meant to use
        assert connection.execute(text(
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_job_fts'")).scalar() == 1
