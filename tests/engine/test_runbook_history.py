"""Runbook history: every runbook's health and one runbook's run grid, checked against what
the database holds (the expected figures are read back with plain SQL and Python)."""

import sqlite3
import statistics
import threading
from datetime import datetime, time, timedelta, timezone

import pytest
from history_seed import Seeded, seed_history
from sqlalchemy import event

from engine.errors import InvalidInput
from engine.service.runbook_history import run_history, runbook_health
from engine.store.db import get_engine
from models import JobStatus


@pytest.fixture
def seeded(runtime) -> Seeded:
    return seed_history()


def jobs_of(settings, runbook: str) -> list[sqlite3.Row]:
    with sqlite3.connect(settings.db_path) as db:
        db.row_factory = sqlite3.Row
        return db.execute("select j.* from job j join runbook r on r.id = j.runbook_id "
                          "where r.name = ? order by j.id", (runbook,)).fetchall()


def made(row: sqlite3.Row) -> datetime:
    return datetime.fromisoformat(row["created_at"]).replace(tzinfo=timezone.utc)


def expected_window(rows, days: int, now: datetime) -> tuple[int, int, int, float | None]:
    within = [r for r in rows if made(r) >= now - timedelta(days=days)]
    count = {s: sum(r["status"] == s for r in within) for s in ("completed", "failed",
                                                                 "cancelled")}
    durations = [r["duration_ms"] for r in within if r["status"] == "completed"]
    return (count["completed"], count["failed"], count["cancelled"],
            statistics.median(durations) if durations else None)


def test_each_runbook_shows_its_last_runs_rates_medians_schedule_and_last_failure(
        seeded, settings):
    statements: list[str] = []
    me = threading.get_ident()

    def record(_conn, _cursor, statement, *_args) -> None:
        if threading.get_ident() == me:  # not the runtime's own threads
            statements.append(statement)

    event.listen(get_engine(), "before_cursor_execute", record)
    now = datetime.now(timezone.utc)
    listed = runbook_health(now=now)
    event.remove(get_engine(), "before_cursor_execute", record)
    assert [h.runbook.name for h in listed] == ["nightly-report", "wobbly-login"]  # not retired
    # one query for the runbooks, one for the marks and last failures, one for the
    # figures, one for the schedules: not one per runbook
    assert len([s for s in statements if " job" in s or "FROM job" in s]) == 2, statements
    health = listed[0]
    rows = jobs_of(settings, "nightly-report")
    runs = [r for r in rows if r["status"] != "scheduled"]
    assert [m.job_id for m in health.marks] == [r["id"] for r in runs[-20:]]
    assert [m.status.value for m in health.marks] == [r["status"] for r in runs[-20:]]
    assert seeded.scheduled_id not in [m.job_id for m in health.marks]  # not a run
    assert health.marks[-1].status == JobStatus.running
    for days in (7, 30):
        window = health.windows[days]
        assert (window.completed, window.failed, window.cancelled, window.median_ms) == \
            pytest.approx(expected_window(rows, days, now), abs=0.5)
    assert health.windows[7].success_rate == pytest.approx(5 / 7)
    failed = [r for r in rows if r["status"] == "failed"][-1]
    assert health.last_failure is not None
    assert (health.last_failure.job_id, health.last_failure.error_kind) == (
        failed["id"], failed["error_kind"])
    tomorrow_3 = datetime.combine(now.date(), time(3), tzinfo=timezone.utc)
    assert health.next_run == (tomorrow_3 if tomorrow_3 > now
                               else tomorrow_3 + timedelta(days=1))


def test_most_failing_first_and_archived_runbooks_on_request(seeded):
    failing = runbook_health(most_failing=True)
    assert [h.runbook.name for h in failing] == ["wobbly-login", "nightly-report"]
    assert failing[0].failing == (0.75, 3)
    everything = runbook_health(archived=True)
    assert [h.runbook.name for h in everything] == ["nightly-report", "retired", "wobbly-login"]
    retired = everything[1]
    assert retired.marks == [] and retired.last_failure is None and retired.next_run is None
    assert retired.windows[30].success_rate is None


def test_the_run_grid_holds_every_steps_status_and_marks(seeded, settings):
    history = run_history("nightly-report")
    assert history is not None
    runs = [r for r in jobs_of(settings, "nightly-report") if r["status"] != "scheduled"]
    assert [j.id for j in history.jobs] == [r["id"] for r in runs[-30:]]  # newest last
    assert [(j.duration_ms, j.steps_failed, j.retry_count) for j in history.jobs] == [
        (r["duration_ms"], r["steps_failed"], r["retry_count"]) for r in runs[-30:]]
    assert history.jobs[-1].duration_ms is None  # it still runs
    # the current version's steps in order, then the one only version 1 had
    assert [(r.step, r.current) for r in history.rows] == [
        ("open", True), ("sign-in", True), ("export", True), ("check", True),
        ("download-old", False)]
    with sqlite3.connect(settings.db_path) as db:
        steps = {(job, name): status for job, name, status in db.execute(
            "select job_id, name, status from steprun where parent_id is null")}
    for row in history.rows:
        for job in history.jobs:
            cell = row.cells.get(job.id)
            assert (cell.status if cell else None) == steps.get((job.id, row.step))
    by_step = {r.step: r for r in history.rows}
    healed = [j for j, c in by_step["sign-in"].cells.items() if c.healed]
    assert healed == [seeded.healed]
    changed = {j: c.changed for r in history.rows for j, c in r.cells.items() if c.changed}
    assert changed == {seeded.changed: 0.25}  # 0.4 % is below what is shown
    restored = {j: c.restored_from for j, c in by_step["open"].cells.items()
                if c.restored_from}
    assert restored == {seeded.restored[0]: seeded.restored[1]}


def test_step_medians_put_the_slowest_step_first(seeded, settings):
    history = run_history("nightly-report", last=10)
    assert history is not None and len(history.jobs) == 10
    ids = ",".join(str(j.id) for j in history.jobs)
    with sqlite3.connect(settings.db_path) as db:
        ran = db.execute(f"select name, duration_ms from steprun where job_id in ({ids}) "
                         "and status = 'success' and restored_from is null").fetchall()
    medians = {name: statistics.median(d for n, d in ran if n == name) for name, _ in ran}
    slowest = max(medians, key=lambda n: medians[n])
    assert history.step_times[0].step == slowest == "export"
    for step_time in history.step_times:
        if step_time.step in medians:
            assert step_time.median_ms == pytest.approx(medians[step_time.step], abs=0.5)
    # a step only an older version had shows only where one of these jobs ran it
    assert "download-old" not in [t.step for t in history.step_times]
    assert run_history("nightly-report").step_times[-1].step == "download-old"


def test_success_per_day_counts_each_utc_day(seeded, settings):
    now = datetime.now(timezone.utc)
    history = run_history("nightly-report", days=30, now=now)
    assert history is not None and len(history.days) == 30
    assert history.days[-1].day == now.date()
    expected: dict = {}
    for row in jobs_of(settings, "nightly-report"):
        if row["status"] in ("completed", "failed", "cancelled"):
            expected.setdefault(made(row).date(), []).append(row["status"])
    for day in history.days:
        statuses = expected.get(day.day, [])
        assert (day.completed, day.failed, day.cancelled) == (
            statuses.count("completed"), statuses.count("failed"), statuses.count("cancelled"))
    assert sum(d.completed + d.failed + d.cancelled for d in history.days) == 29


def test_bad_grid_sizes_are_refused_and_unknown_runbooks_are_none(seeded):
    with pytest.raises(InvalidInput, match="1 to 200 jobs, not 0"):
        run_history("nightly-report", last=0)
    with pytest.raises(InvalidInput, match="1 to 366 days"):
        run_history("nightly-report", days=400)
    assert run_history("no-such-runbook") is None
