"""Schedules: one job per occurrence, skips, misses and make-up runs, daylight saving,
one scheduler per database — with a controlled clock, a real SQLite file and real queue."""

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from engine.background.scheduler import JobScheduler, release_lock, take_lock
from engine.service import schedules
from engine.service.job_actions import act
from engine.service.jobs import get_job, list_jobs
from engine.service.runbooks import add_runbook
from engine.service.schedule_times import InvalidSchedule
from engine.store.db import session_scope
from models import Job, JobStatus, Trigger

S = JobStatus
UTC = timezone.utc
RUNBOOK = "version: 1\nname: nightly\ntitle: Nightly\nsteps: [{action: goto, url: 'http://127.0.0.1:9/'}]\n"
T0 = datetime(2026, 6, 1, 5, 0, tzinfo=UTC)


@pytest.fixture
def nightly(runtime):
    add_runbook(RUNBOOK)


def jobs_of(schedule_id: int) -> list[Job]:
    with session_scope() as session:
        return list(session.exec(select(Job).where(Job.schedule_id == schedule_id)
                                 .order_by(Job.scheduled_for)))


def test_a_schedule_shows_its_next_occurrence_as_a_scheduled_job(nightly):
    schedule = schedules.create_schedule("nightly", cron="0 6 * * 1-5", timezone="UTC",
                                         now=T0)  # Monday 05:00
    [pending] = jobs_of(schedule.id)
    assert (pending.status, pending.trigger, pending.scheduled_for) == (
        S.scheduled, Trigger.schedule, datetime(2026, 6, 1, 6, 0, tzinfo=UTC))
    assert list_jobs([S.scheduled])[1] == 1


def test_firing_twice_for_one_occurrence_queues_one_job(nightly):
    schedule = schedules.create_schedule("nightly", interval_s=3600, timezone="UTC", now=T0)
    [pending] = jobs_of(schedule.id)
    results, barrier = [], threading.Barrier(2)

    def fire():
        barrier.wait()
        results.append(schedules.fire(schedule.id, pending.scheduled_for))

    threads = [threading.Thread(target=fire) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r is None for r in results) == [False, True]
    statuses = [j.status for j in jobs_of(schedule.id)]
    assert statuses == [S.queued, S.scheduled]  # the fired one, and the next occurrence
    nxt = jobs_of(schedule.id)[1].scheduled_for
    assert nxt - pending.scheduled_for == timedelta(hours=1)


def test_cancel_on_the_scheduled_job_skips_only_that_occurrence(nightly):
    schedule = schedules.create_schedule("nightly", cron="0 6 * * *", timezone="UTC")
    [first] = jobs_of(schedule.id)
    act(first.id, "cancel", by="ann")
    jobs = jobs_of(schedule.id)
    assert [j.status for j in jobs] == [S.cancelled, S.scheduled]
    assert jobs[1].scheduled_for == first.scheduled_for + timedelta(days=1)
    assert schedules.fire(schedule.id, first.scheduled_for) is None  # the skipped one


def test_editing_and_deleting_update_the_pending_job(nightly):
    schedule = schedules.create_schedule("nightly", cron="0 6 * * *", timezone="UTC", now=T0)
    schedules.update_schedule(schedule.id, cron="0 7 * * *", now=T0)
    [pending] = jobs_of(schedule.id)
    assert pending.scheduled_for.hour == 7
    schedules.update_schedule(schedule.id, enabled=False, now=T0)
    assert jobs_of(schedule.id) == []
    changed = schedules.update_schedule(schedule.id, enabled=True, interval_s=600, now=T0)
    [pending] = jobs_of(schedule.id)
    assert changed.cron is None  # an interval replaces the cron expression
    # intervals count from when they were set
    assert timedelta(0) <= pending.scheduled_for - changed.created_at <= timedelta(minutes=10)
    schedules.delete_schedule(schedule.id)
    assert list_jobs([S.scheduled])[1] == 0
    assert schedules.get_schedule(schedule.id) is None


def test_down_across_several_fires_makes_up_one_run_within_the_grace(nightly):
    schedule = schedules.create_schedule("nightly", interval_s=600, timezone="UTC",
                                         misfire_grace_s=300, now=T0)
    first = jobs_of(schedule.id)[0].scheduled_for
    # the server was down for 55 minutes: five occurrences passed, the latest 2 min ago
    now = first + timedelta(minutes=42)
    queued = schedules.make_up_missed(now)
    assert len(queued) == 1  # never a burst
    jobs = jobs_of(schedule.id)
    assert [j.status for j in jobs] == [S.queued, S.scheduled]
    assert jobs[0].scheduled_for == first + timedelta(minutes=40)
    assert len(schedules.get_schedule(schedule.id).misses) == 4  # never a silent skip
    assert schedules.make_up_missed(now) == []  # starting again changes nothing


def test_down_longer_than_the_grace_records_misses_and_runs_nothing(nightly):
    schedule = schedules.create_schedule("nightly", cron="0 6 * * *", timezone="UTC",
                                         misfire_grace_s=300, now=T0)
    now = datetime(2026, 6, 3, 7, 0, tzinfo=UTC)  # missed 1, 2 and 3 June (the last by 1 h)
    assert schedules.make_up_missed(now) == []
    misses = schedules.get_schedule(schedule.id).misses
    assert [m["at"][:10] for m in misses] == ["2026-06-01", "2026-06-02", "2026-06-03"]
    assert "misfire_grace_s=300" in misses[-1]["reason"]
    [pending] = jobs_of(schedule.id)
    assert pending.scheduled_for == datetime(2026, 6, 4, 6, 0, tzinfo=UTC)


def test_invalid_schedules_are_refused_with_a_clear_message(nightly):
    with pytest.raises(InvalidSchedule, match='invalid cron expression "61 \\* \\* \\* \\*"'):
        schedules.create_schedule("nightly", cron="61 * * * *")
    with pytest.raises(InvalidSchedule, match="exactly one of cron, interval_s and at"):
        schedules.create_schedule("nightly", cron="0 6 * * *", interval_s=60)
    with pytest.raises(InvalidSchedule, match='unknown time zone "Mars/Base"'):
        schedules.create_schedule("nightly", cron="0 6 * * *", timezone="Mars/Base")
    with pytest.raises(InvalidSchedule, match='no runbook named "nope"'):
        schedules.create_schedule("nope", cron="0 6 * * *")
    assert schedules.list_schedules() == []


def test_one_scheduler_per_database(runtime):
    assert take_lock("process-a") is None
    assert take_lock("process-b") == "process-a"  # the second refuses
    release_lock("process-a")
    assert take_lock("process-b") is None
    release_lock("process-b")


def test_the_scheduler_fires_a_due_schedule_into_the_queue(nightly, settings):
    settings.min_schedule_interval_seconds = 1  # a test cannot wait a minute
    scheduler = JobScheduler()
    assert scheduler.start()
    try:
        schedule = schedules.create_schedule("nightly", interval_s=1, timezone="UTC")
        deadline = time.monotonic() + 10
        while not [j for j in jobs_of(schedule.id) if j.status == S.queued]:
            assert time.monotonic() < deadline, "the schedule did not fire"
            time.sleep(0.05)
        fired = [j for j in jobs_of(schedule.id) if j.status == S.queued][0]
        assert get_job(fired.id).job.queued_at >= fired.scheduled_for
        standby = JobScheduler()
        assert standby.start() is False  # a second scheduler waits on standby
        standby.stop()
    finally:
        scheduler.stop()
