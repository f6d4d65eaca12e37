"""The Runbooks page with each runbook's health, and the runbook page's run grid and charts,
for a runbook with 30 jobs of mixed outcomes written straight into SQLite (no browser):
what they show is checked against the database."""

import sqlite3
import statistics
from datetime import datetime, timedelta, timezone

import pytest
from history_seed import seed_history
from nicegui import ui
from waiting import eventually

from pages.ui.display import duration

pytestmark = pytest.mark.asyncio


@pytest.fixture
def seeded(runtime):
    return seed_history()


def rows_of(settings, sql: str, *args) -> list[sqlite3.Row]:
    with sqlite3.connect(settings.db_path) as db:
        db.row_factory = sqlite3.Row
        return db.execute(sql, args).fetchall()


def runs_of(settings, runbook: str) -> list[sqlite3.Row]:
    return rows_of(settings, "select j.* from job j join runbook r on r.id = j.runbook_id "
                   "where r.name = ? and j.status != 'scheduled' order by j.id", runbook)


def inside(user, marker: str) -> list[ui.element]:
    [element] = user.find(marker=marker).elements
    return list(element.descendants())


def card_order(user) -> list[str]:
    cards = sorted(user.find(ui.card).elements, key=lambda c: c.id)  # as drawn, top down
    return [c.props["data-runbook"] for c in cards if "data-runbook" in c.props]


async def test_the_runbooks_page_shows_health_and_sorts_the_most_failing_first(
        seeded, user, settings):
    await user.open("/runbooks")
    await user.should_see("Nightly report")
    runs = runs_of(settings, "nightly-report")
    marks = [e for e in inside(user, "marks-nightly-report") if "data-job" in e.props]
    assert [(m.props["data-job"], m.props["data-status"], m.props["href"]) for m in marks] == [
        (str(r["id"]), r["status"], f"/jobs/{r['id']}") for r in runs[-20:]]
    week = [r for r in runs if datetime.fromisoformat(r["created_at"]).replace(
        tzinfo=timezone.utc) > datetime.now(timezone.utc) - timedelta(days=7)]
    completed = [r["duration_ms"] for r in week if r["status"] == "completed"]
    failed = sum(r["status"] == "failed" for r in week)
    rate = len(completed) / (len(completed) + failed)
    await user.should_see(f"7 d: {rate * 100:.0f} % of {len(completed) + failed} · median "
                          f"{duration(round(statistics.median(completed)))}")
    last_failed = [r for r in runs if r["status"] == "failed"][-1]
    [kind] = [e for e in inside(user, "last-failure-nightly-report") if isinstance(e, ui.link)]
    assert (kind.text, kind.props["href"]) == (last_failed["error_kind"],
                                               f"/jobs/{last_failed['id']}")
    [next_run] = user.find(marker="next-run-nightly-report").elements
    assert next_run.text.startswith("next run in ")
    assert card_order(user) == ["nightly-report", "wobbly-login"]  # by name
    await user.should_not_see("Retired")  # archived

    def most_failing_first() -> None:  # 3 of its 4 jobs failed this week, against 2 of 7
        assert card_order(user) == ["wobbly-login", "nightly-report"]

    user.find(marker="sort").elements.pop().value = "failing"
    await eventually(most_failing_first, timeout=15)
    user.find(marker="show-archived").elements.pop().value = True
    await user.should_see("Retired", retries=30)
    assert user.find(marker="archived-retired").elements
    await user.should_see(marker="run-nightly-report")
    await user.should_not_see(marker="run-retired")  # an archived runbook does not run


async def test_the_runbook_page_grid_and_charts_show_what_the_database_holds(
        seeded, user, settings):
    await user.open("/runbooks/nightly-report")
    await user.should_see("Duration per job", retries=30)
    runs = runs_of(settings, "nightly-report")
    assert len(runs) == 30
    steps = {(r["job_id"], r["name"]): r["status"] for r in rows_of(
        settings, "select * from steprun where parent_id is null")}
    cells = [e for e in inside(user, "run-grid") if "data-step" in e.props]
    shown = {(int(c.props["data-job"]), c.props["data-step"]): c.props["data-status"]
             for c in cells}
    names = ["open", "sign-in", "export", "check", "download-old"]
    assert len(cells) == 30 * len(names)
    assert shown == {(r["id"], n): steps.get((r["id"], n), "not-run")
                     for r in runs for n in names}
    marked = {(int(c.props["data-job"]), c.props["data-step"]): c.props["data-marks"]
              for c in cells if c.props.get("data-marks")}
    assert marked == {(seeded.healed, "sign-in"): "healed",
                      (seeded.changed, "export"): "changed",
                      (seeded.restored[0], "open"): "restored"}
    rows = [e.props["data-step-row"] for e in inside(user, "run-grid")
            if "data-step-row" in e.props]
    assert rows == names  # the step only version 1 had comes last

    [chart] = user.find(marker="chart-duration").elements
    assert chart.options["xAxis"]["data"] == [f"#{r['id']}" for r in runs]  # newest right
    assert [bar["value"] for bar in chart.options["series"][0]["data"]] == [
        None if r["duration_ms"] is None else r["duration_ms"] / 1000 for r in runs]
    [chart] = user.find(marker="chart-failures").elements
    assert [s["data"] for s in chart.options["series"]] == [
        [r["steps_failed"] for r in runs], [r["retry_count"] for r in runs]]
    [chart] = user.find(marker="chart-success").elements
    by_day: dict[str, list[str]] = {}
    for r in runs:
        by_day.setdefault(r["created_at"][:10], []).append(r["status"])
    for day, ended, rate in zip(chart.options["xAxis"]["data"],
                                chart.options["series"][0]["data"],
                                chart.options["series"][1]["data"]):
        statuses = [s for s in by_day.get(day, []) if s != "running"]
        judged = statuses.count("completed") + statuses.count("failed")
        assert ended == len(statuses)
        assert rate == (round(statuses.count("completed") / judged * 100, 1) if judged
                        else None)
    assert sum(chart.options["series"][0]["data"]) == 29  # every ended job, on its day

    [table] = user.find(marker="step-times").elements
    ids = ",".join(str(r["id"]) for r in runs)
    export = [r["duration_ms"] for r in rows_of(
        settings, f"select duration_ms from steprun where job_id in ({ids}) and name = "
        "'export' and status = 'success' and restored_from is null")]
    assert table.rows[0]["step"] == "export"  # the slowest of the current steps
    assert table.rows[0]["median"] == duration(round(statistics.median(export)))
    assert table.rows[-1]["step"] == "download-old (older version)"
    await user.should_see("Slowest step: export")
