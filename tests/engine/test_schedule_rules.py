"""Schedules keep crontab's meaning (weekdays, steps, day-of-month or day-of-week, nicknames),
never drop or double a run when clocks change, apply their overlap rule, refuse runaway
intervals, never reuse an id, and a standby scheduler takes over from a dead one."""

import re
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from engine.background.scheduler import JobScheduler, release_lock, take_lock
from engine.service import schedule_firing, schedules
from engine.service.health import health
from engine.service.runbooks import add_runbook
from engine.service.schedule_times import InvalidSchedule, occurrences, preview
from engine.store.db import session_scope
from engine.store.transitions import transition_job
from models import Job, JobStatus, Schedule

S = JobStatus
UTC = timezone.utc
RUNBOOK = "version: 1\nname: nightly\ntitle: Nightly\nsteps: [{action: goto, url: 'http://127.0.0.1:9/'}]\n"
MONDAY = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)  # 1 Feb 2027 is a Monday


@pytest.fixture
def nightly(runtime):
    add_runbook(RUNBOOK)


def jobs_of(schedule_id: int) -> list[Job]:
    with session_scope() as session:
        return list(session.exec(select(Job).where(Job.schedule_id == schedule_id)
                                 .order_by(Job.id)))


def weekdays(cron: str, days: int = 35) -> list[str]:
    """The local days (weekday, day of month) a cron expression fires on, in UTC."""
    fires = preview(occurrences(cron, None, None, "UTC"), 60, MONDAY)
    return [f"{f:%a %d}" for f in fires if f < MONDAY + timedelta(days=days)]


@pytest.mark.parametrize("cron, expected", [
    ("0 6 * * 0-6", ["Tue 02", "Wed 03", "Thu 04", "Fri 05", "Sat 06", "Sun 07", "Mon 08"]),
    ("0 6 * * */2", ["Tue 02", "Thu 04", "Sat 06", "Sun 07", "Tue 09"]),  # 0,2,4,6
    ("0 6 * * 1-5/2", ["Wed 03", "Fri 05", "Mon 08", "Wed 10"]),  # 1,3,5
    ("0 6 * * 7", ["Sun 07", "Sun 14", "Sun 21"]),  # 7 is Sunday too
    ("0 6 * * sun", ["Sun 07", "Sun 14", "Sun 21"]),
    ("0 6 * * MON-FRI", ["Tue 02", "Wed 03", "Thu 04", "Fri 05", "Mon 08"]),
    # both day fields restricted: the 1st of the month OR a Monday (crontab(5))
    ("0 6 1 * 1", ["Mon 08", "Mon 15", "Mon 22", "Mon 01", "Mon 08"]),
    ("0 6 1 mar *", ["Mon 01"]),
    ("@weekly", ["Sun 07", "Sun 14", "Sun 21"]),
])
def test_cron_expressions_mean_what_crontab_means(cron, expected):
    assert weekdays(cron)[:len(expected)] == expected


def test_both_day_fields_fire_on_either(nightly):
    fires = weekdays("0 6 1 * 1", 60)
    # 1 March 2027 is a Monday and the 1st: once, not twice; 1 April is a Thursday
    assert [f for f in fires if f.endswith(" 01")] == ["Mon 01", "Thu 01"]
    assert len([f for f in fires if f.startswith("Mon")]) == 8


@pytest.mark.parametrize("cron, problem", [
    ("0 6 * * 8", "Bad day-of-week (allowed: 0-7 (0 and 7 are Sunday) or sun-sat"),
    ("0 25 * * *", "Bad hour (allowed: 0-23"),
    ("0 0 6 * * *", "6 fields; crontab has five fields"),
    ("@reboot", "@reboot is not supported"),
    ("0 6 * *", "4 fields"),
])
def test_unsupported_cron_is_refused_naming_the_part(cron, problem):
    with pytest.raises(InvalidSchedule, match=re.escape(f'invalid cron expression "{cron}": ')
                       + ".*" + re.escape(problem)):
        occurrences(cron, None, None, "UTC")


# The spring and autumn changes of 2027 (the local date of the change, a Sunday each).
CHANGES = {
    ("Europe/Berlin", "spring"): date(2027, 3, 28), ("Europe/Berlin", "autumn"): date(2027, 10, 31),
    ("America/New_York", "spring"): date(2027, 3, 14),
    ("America/New_York", "autumn"): date(2027, 11, 7),
    # the southern hemisphere: spring in October, autumn in April
    ("Australia/Sydney", "spring"): date(2027, 10, 3),
    ("Australia/Sydney", "autumn"): date(2027, 4, 4),
}


def chain(schedule_id: int, fires: int) -> list[datetime]:
    """Fire the schedule's pending job `fires` times as the scheduler does, each at its
    own time; the occurrences it ran, in order."""
    ran = []
    for _ in range(fires):
        pending = schedules.pending_job(schedule_id)
        job = schedule_firing.fire(schedule_id, pending.scheduled_for, now=pending.scheduled_for)
        assert job is not None and job.status == S.queued
        ran.append(job.scheduled_for)
    return ran


@pytest.mark.parametrize("tz, season", list(CHANGES))
def test_daylight_saving_never_drops_or_doubles_a_run(nightly, tz, season):
    zone, day = ZoneInfo(tz), CHANGES[(tz, season)]
    for hour, minute in [(0, 0), (1, 30), (2, 30), (3, 0)]:
        start = datetime(day.year, day.month, day.day, tzinfo=zone) - timedelta(days=3)
        daily = schedules.create_schedule("nightly", cron=f"{minute} {hour} * * *",
                                          timezone=tz, overlap="allow",
                                          now=start.astimezone(UTC))
        weekly = schedules.create_schedule("nightly", cron=f"{minute} {hour} * * 0",
                                           timezone=tz, overlap="allow",
                                           now=(start - timedelta(days=14)).astimezone(UTC))
        for schedule, fires, step in ((daily, 7, 1), (weekly, 5, 7)):
            local = [t.astimezone(zone) for t in chain(schedule.id, fires)]
            dates = [t.date() for t in local]
            # one run per day (or week): consecutive, none missing, none twice
            assert [(b - a).days for a, b in zip(dates, dates[1:])] == [step] * (fires - 1), (
                schedule.cron, tz, local)
            assert day in dates
            for moment in local:
                wall = moment.replace(tzinfo=None)
                wanted = wall.replace(hour=hour, minute=minute)
                if _exists(wanted, zone):
                    assert (wall.hour, wall.minute) == (hour, minute), (schedule.cron, local)
                else:  # the first valid moment after the missing time
                    assert wall > wanted and not _exists(wall - timedelta(minutes=1), zone)


def _exists(wall: datetime, zone: ZoneInfo) -> bool:
    aware = wall.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


def test_an_interval_under_the_minimum_is_refused(nightly, settings):
    with pytest.raises(InvalidSchedule, match="interval_s=30 is shorter than the minimum of "
                       "60 s \\(JOBDECK_MIN_SCHEDULE_INTERVAL_SECONDS\\)"):
        schedules.create_schedule("nightly", interval_s=30)
    assert schedules.list_schedules() == []
    settings.min_schedule_interval_seconds = 10
    assert schedules.create_schedule("nightly", interval_s=30).interval_s == 30


def test_overlap_skip_records_a_miss_instead_of_piling_up(nightly):
    schedule = schedules.create_schedule("nightly", interval_s=600, timezone="UTC")
    first = schedules.pending_job(schedule.id)
    running = schedule_firing.fire(schedule.id, first.scheduled_for, now=first.scheduled_for)
    with session_scope() as session:  # its job runs longer than the interval
        transition_job(session, running.id, S.running)
    second = schedules.pending_job(schedule.id).scheduled_for
    assert schedule_firing.fire(schedule.id, second, now=second) is None
    jobs = jobs_of(schedule.id)
    assert [j.status for j in jobs] == [S.running, S.scheduled]  # no pile-up
    assert jobs[1].scheduled_for == second + timedelta(seconds=600)  # the next one waits
    [miss] = schedules.get_schedule(schedule.id).misses
    assert miss["at"] == second.isoformat()
    assert miss["reason"] == f"job {running.id} of this schedule was still running " \
                             "(overlap: skip)"


def test_overlap_queue_waits_for_the_previous_run(nightly):
    schedule = schedules.create_schedule("nightly", interval_s=600, timezone="UTC",
                                         overlap="queue")
    first = schedules.pending_job(schedule.id)
    running = schedule_firing.fire(schedule.id, first.scheduled_for, now=first.scheduled_for)
    second = schedules.pending_job(schedule.id).scheduled_for
    late = second + timedelta(seconds=1300)  # two more occurrences pass while it waits
    assert schedule_firing.fire(schedule.id, second, now=second) is None
    assert schedule_firing.waiting_for(schedule.id, now=late) == running.id
    with session_scope() as session:
        transition_job(session, running.id, S.running)
        transition_job(session, running.id, S.completed)
    assert schedule_firing.waiting_for(schedule.id, now=late) is None
    queued = schedule_firing.fire(schedule.id, second, now=late)
    assert queued is not None and queued.scheduled_for == second  # it ran, late
    jobs = jobs_of(schedule.id)
    assert [j.status for j in jobs] == [S.completed, S.queued, S.scheduled]  # one waited
    assert jobs[2].scheduled_for == second + timedelta(seconds=1800)
    misses = schedules.get_schedule(schedule.id).misses
    assert [m["at"] for m in misses] == [(second + timedelta(seconds=s)).isoformat()
                                         for s in (600, 1200)]
    assert misses[0]["reason"].endswith("already waited for the one before it (overlap: queue)")


def test_overlap_allow_runs_beside_the_previous(nightly):
    schedule = schedules.create_schedule("nightly", interval_s=600, timezone="UTC",
                                         overlap="allow")
    for _ in range(2):
        pending = schedules.pending_job(schedule.id)
        assert schedule_firing.fire(schedule.id, pending.scheduled_for,
                                    now=pending.scheduled_for) is not None
    assert [j.status for j in jobs_of(schedule.id)] == [S.queued, S.queued, S.scheduled]


def test_an_edit_keeps_the_pending_job_and_a_new_interval_counts_from_the_edit(nightly,
                                                                              settings):
    schedule = schedules.create_schedule("nightly", interval_s=3600, timezone="UTC")
    first = schedules.pending_job(schedule.id)
    with session_scope() as session:  # made 40 minutes ago
        row = session.get(Schedule, schedule.id)
        row.created_at -= timedelta(minutes=40)
        session.add(row)
    edited = schedules.update_schedule(schedule.id, interval_s=7200, params={})
    pending = schedules.pending_job(schedule.id)
    assert pending.id == first.id  # a page open on it shows the new time, not another job
    assert pending.scheduled_for - edited.interval_from == timedelta(hours=2)
    assert abs(edited.interval_from - datetime.now(UTC)) < timedelta(minutes=1)
    settings.min_schedule_interval_seconds = 3 * 3600  # the minimum was raised since
    schedules.update_schedule(schedule.id, interval_s=7200, enabled=True)  # unchanged: kept
    with pytest.raises(InvalidSchedule, match="shorter than the minimum of 10800 s"):
        schedules.update_schedule(schedule.id, interval_s=7000)


def test_deleted_schedule_ids_are_never_reused(nightly):
    first = schedules.create_schedule("nightly", cron="0 6 * * *")
    schedules.delete_schedule(first.id)
    second = schedules.create_schedule("nightly", cron="0 7 * * *")
    assert second.id != first.id
    assert schedules.get_schedule(first.id) is None
    assert [s.id for s in schedules.list_schedules()] == [second.id]
    with pytest.raises(LookupError, match=f"there is no schedule {first.id} "
                                          "\\(it was deleted\\)"):
        schedules.update_schedule(first.id, enabled=True)


def test_a_standby_scheduler_takes_over_when_the_holder_stops_renewing(nightly, settings):
    settings.scheduler_lease_seconds = 1.5  # renewed every 0.5 s
    first, standby = JobScheduler(), JobScheduler()
    try:
        assert first.start() is True
        assert standby.start() is False
        assert health()["scheduler"]["holder"] == first.holder
        first.aps.shutdown(wait=False)  # as if killed: it stops renewing, keeps the row
        deadline = time.monotonic() + 10
        while not standby.active:
            assert time.monotonic() < deadline, "the standby scheduler never took over"
            time.sleep(0.1)
        status = health()
        assert status["status"] == "ok" and status["scheduler"]["holder"] == standby.holder
    finally:
        standby.stop()
        first.stop()
    status = health()
    assert status["status"] == "degraded" and not status["scheduler"]["running"]
    assert "no scheduler is running" in status["warnings"][0]


def test_the_lock_says_since_when_it_is_held(runtime):
    assert take_lock("process-a") is None
    since = health()["scheduler"]["since"]
    time.sleep(0.01)
    assert take_lock("process-a") is None  # a renewal keeps the start
    assert health()["scheduler"]["since"] == since
    release_lock("process-a")
