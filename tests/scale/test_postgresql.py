"""The records on PostgreSQL behave as on SQLite: status counts kept by triggers under
concurrent writers, searches, and the lease arithmetic the deployment guide promises."""

import threading

from sqlalchemy import text

from engine.bus import events
from engine.service.jobs import count_jobs_by_status, create_job, list_jobs
from engine.service.runbooks import add_runbook
from engine.settings import Settings
from engine.store.db import get_engine, session_scope
from engine.store.schema import init_db
from engine.store.transitions import transition_job
from models import JobStatus

S = JobStatus
RUNBOOK = ("version: 1\nname: invoices\ntitle: Export Invoices\nsteps:\n"
           "  - {action: goto, url: 'https://example.com/'}\n")
# A job's life with the moves that go both ways between two statuses.
LIFE = [S.running, S.waiting_for_approval, S.running, S.paused, S.running, S.completed]


def test_counts_stay_exact_with_many_writers_moving_jobs_both_ways(pg_url):
    init_db(pg_url)
    add_runbook(RUNBOOK)
    jobs = [create_job("invoices").id for _ in range(48)]
    errors: list[BaseException] = []

    def move(mine: list[int]) -> None:
        try:
            for status in LIFE:
                for job_id in mine:
                    with session_scope() as session:
                        transition_job(session, job_id, status)
        except BaseException as exc:  # a deadlock would land here
            errors.append(exc)

    threads = [threading.Thread(target=move, args=(jobs[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    with get_engine().connect() as connection:
        actual = dict(connection.execute(text(
            "SELECT status, count(*) FROM job GROUP BY status")).all())
    counts = count_jobs_by_status()
    assert counts[S.completed] == actual["completed"] == 48
    assert all(counts[s] == 0 for s in S if s != S.completed)


def test_the_job_search_ignores_case_as_on_sqlite(pg_url):
    init_db(pg_url)
    add_runbook(RUNBOOK)
    job = create_job("invoices")
    for search in ("INVOICES", "export inv", "invoi"):
        found, total = list_jobs(search=search)
        assert total == 1 and found[0].id == job.id, search
    assert list_jobs(search="payroll")[1] == 0


def test_a_killed_workers_job_is_failed_within_75_seconds_by_default():
    """docs/deploy.md: the last renewal is at most lease/3 old when a worker dies; the lease
    then runs out, and the next sweep finds it."""
    lease, sweep = (Settings.model_fields[name].default
                    for name in ("lease_seconds", "sweep_interval_seconds"))
    worst = lease / 3 + lease + sweep
    assert worst <= 75


def test_leases_follow_the_database_clock_not_a_skewed_machine(pg_url, monkeypatch, tmp_path):
    """A worker whose clock is 5 minutes behind still writes a lease the others see as
    live, and a sweeper whose clock is 5 minutes ahead does not fail that job."""
    from datetime import datetime, timedelta

    from engine.runner import leases

    init_db(pg_url)
    add_runbook(RUNBOOK)
    job = create_job("invoices")
    skew = {"by": timedelta(minutes=-5)}

    class SkewedClock(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + skew["by"]

    monkeypatch.setattr("engine.store.db.datetime", SkewedClock)  # only a SQLite install uses it
    monkeypatch.setattr("models.common.datetime", SkewedClock)
    with session_scope() as session:  # claimed by the slow machine
        transition_job(session, job.id, S.running, lease_expires_at=leases.Heartbeat(30)
                       .expiry(), worker_id="slow-machine:1:aa")
    skew["by"] = timedelta(minutes=5)  # swept by the fast one
    assert leases.sweep_lost_jobs(events.get_bus(), tmp_path) == []
    assert count_jobs_by_status()[S.running] == 1
