"""When a schedule fires: crontab(5) expressions (planned by cronsim), intervals, one time.

APScheduler only keeps time (engine/background/scheduler.py); which moment is next is
decided here, once, for the scheduler, the preview and the make-up of missed runs.
cronsim (the library Healthchecks.io uses) gives crontab's meaning as Debian's cron does,
daylight saving included: a wall-clock time that does not exist that day fires at the
first valid moment after it; one that exists twice fires once, at the first.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from engine.errors import InvalidInput
from engine.settings import current_settings
from models import utcnow


class InvalidSchedule(InvalidInput):
    """A schedule that cannot fire: the message says what to change."""


# crontab(5)'s nicknames; @reboot has no time and so no meaning for a job console.
NICKNAMES = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
             "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
             "@hourly": "0 * * * *"}
RANGES = {"minute": "0-59", "hour": "0-23", "day-of-month": "1-31",
          "month": "1-12 or jan-dec", "day-of-week": "0-7 (0 and 7 are Sunday) or sun-sat"}
FIELDS = "five fields: minute hour day-of-month month day-of-week, e.g. \"0 6 * * 1-5\""


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; InvalidSchedule when there is none of that name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidSchedule(f'unknown time zone "{name}": use an IANA name such as '
                              '"Europe/Berlin" or "UTC"') from None


def crontab(expression: str) -> str:
    """`expression` as five crontab(5) fields (nicknames such as @daily spelled out).
    Raises InvalidSchedule naming the unsupported or wrong part."""
    text = " ".join(expression.split())
    if text.startswith("@"):
        if text.lower() not in NICKNAMES:
            raise InvalidSchedule(f'invalid cron expression "{expression}": {text} is not '
                                  f'supported; use {", ".join(NICKNAMES)} or {FIELDS}')
        return NICKNAMES[text.lower()]
    fields = text.split(" ")
    if len(fields) != 5:
        raise InvalidSchedule(f'invalid cron expression "{expression}": {len(fields)} '
                              f'field{"s" if len(fields) != 1 else ""}; crontab has {FIELDS}')
    try:
        CronSim(text, datetime(2000, 1, 1))
    except CronSimError as exc:
        field = str(exc).removeprefix("Bad ")
        allowed = f" (allowed: {RANGES[field]}, with * , - /)" if field in RANGES else ""
        raise InvalidSchedule(f'invalid cron expression "{expression}": {exc}{allowed}; '
                              f"crontab has {FIELDS}") from None
    return text


@dataclass(frozen=True)
class Occurrences:
    """When a schedule fires: exactly one of `cron`, `interval_s` (counted in real time
    from `start`) and `at`, with wall-clock times read in `timezone`."""

    cron: str | None
    interval_s: int | None
    at: datetime | None
    timezone: str
    start: datetime

    def after(self, moment: datetime) -> datetime | None:
        """The first fire time strictly after `moment` (aware, UTC), None when none is left."""
        tzinfo = zone(self.timezone)
        if self.cron:
            try:
                local = next(CronSim(crontab(self.cron), moment.astimezone(tzinfo)))
            except StopIteration:  # cronsim looks 50 years ahead
                return None
            return local.astimezone(ZoneInfo("UTC"))
        if self.interval_s:
            passed = max(0, (moment - self.start) // timedelta(seconds=self.interval_s) + 1)
            return self.start + passed * timedelta(seconds=self.interval_s)
        assert self.at is not None  # exactly one of the three is set
        at = self.at if self.at.tzinfo else self.at.replace(tzinfo=tzinfo)
        return at if at > moment else None


def occurrences(cron: str | None, interval_s: int | None, at: datetime | None, tz: str,
                start: datetime | None = None, *, new: bool = True) -> Occurrences:
    """The fire times of exactly one of cron, interval_s and at. Raises InvalidSchedule
    (an unknown zone, a wrong cron expression; when `new`, an interval under
    JOBDECK_MIN_SCHEDULE_INTERVAL_SECONDS or an `at` that has passed)."""
    given = [k for k, v in (("cron", cron), ("interval_s", interval_s), ("at", at))
             if v is not None and v != ""]
    if len(given) != 1:
        raise InvalidSchedule("give exactly one of cron, interval_s and at"
                              + (f" (got {', '.join(given)})" if given else ""))
    zone(tz)
    if cron:
        crontab(cron)
    if interval_s is not None and new:
        shortest = current_settings().min_schedule_interval_seconds
        if interval_s < shortest:
            raise InvalidSchedule(
                f"interval_s={interval_s} is shorter than the minimum of {shortest} s "
                "(JOBDECK_MIN_SCHEDULE_INTERVAL_SECONDS): runs that close together pile up")
    if at is not None and new and (at if at.tzinfo else at.replace(tzinfo=zone(tz))
                                   ) <= utcnow():
        raise InvalidSchedule(f"at={at.isoformat()} has passed: give a time in the future")
    return Occurrences(cron or None, interval_s, at, tz, start or utcnow())


def preview(when: Occurrences, count: int = 5, now: datetime | None = None
            ) -> list[datetime]:
    """The next `count` fire times after `now`, as the scheduler will plan them."""
    times: list[datetime] = []
    moment = now or utcnow()
    while len(times) < count:
        upcoming = when.after(moment)
        if upcoming is None:
            break
        times.append(upcoming)
        moment = upcoming
    return times


def of_schedule(schedule) -> Occurrences:
    """A stored Schedule's fire times (intervals count from when they were set)."""
    return occurrences(schedule.cron, schedule.interval_s, schedule.at, schedule.timezone,
                       start=schedule.interval_from or schedule.created_at, new=False)
