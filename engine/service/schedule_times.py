"""When a schedule fires: its trigger, the next fire time, and the next few (a preview)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from engine.errors import InvalidInput
from models import utcnow


class InvalidSchedule(InvalidInput):
    """A schedule that cannot fire: the message says what to change."""


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidSchedule(f'unknown time zone "{name}": use an IANA name such as '
                              '"Europe/Berlin" or "UTC"') from None


def make_trigger(cron: str | None, interval_s: int | None, at: datetime | None, tz: str,
                 start: datetime | None = None):
    """The APScheduler trigger for exactly one of cron, interval_s and at."""
    given = [k for k, v in (("cron", cron), ("interval_s", interval_s), ("at", at)) if v]
    if len(given) != 1:
        raise InvalidSchedule("give exactly one of cron, interval_s and at"
                              + (f" (got {', '.join(given)})" if given else ""))
    tzinfo = zone(tz)
    if cron:
        try:
            return CronTrigger.from_crontab(_cron_weekdays_as_names(cron), timezone=tzinfo)
        except ValueError as exc:
            raise InvalidSchedule(f'invalid cron expression "{cron}": {exc}; five fields: '
                                  'minute hour day-of-month month day-of-week, e.g. '
                                  '"0 6 * * 1-5"') from None
    if interval_s:
        if interval_s < 1:
            raise InvalidSchedule("interval_s must be at least 1 second")
        return IntervalTrigger(seconds=interval_s, timezone=tzinfo,
                               start_date=start or utcnow())
    assert at is not None  # exactly one of cron, interval_s and at is given
    if at.tzinfo is None:
        at = at.replace(tzinfo=tzinfo)
    return DateTrigger(run_date=at, timezone=tzinfo)


WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _cron_weekdays_as_names(cron: str) -> str:
    """Cron counts weekdays from Sunday = 0 (or 7); APScheduler from Monday = 0. Names
    mean the same to both: "0 6 * * 1-5" stays Monday to Friday."""
    fields = cron.split()
    if len(fields) != 5:
        return cron  # APScheduler explains what is wrong

    def name(token: str) -> str:
        return WEEKDAYS[int(token)] if token.isdigit() and int(token) <= 7 else token

    parts = []
    for part in fields[4].split(","):
        base, _, step = part.partition("/")
        base = "-".join(name(t) for t in base.split("-"))
        parts.append(base + (f"/{step}" if step else ""))
    return " ".join(fields[:4] + [",".join(parts)])


def next_fire_time(trigger, tz: str, previous: datetime | None, now: datetime
                   ) -> datetime | None:
    """The next fire after `previous` (or from `now`). A cron schedule never fires at the
    same local wall-clock time twice: when clocks go back, 02:30 happens twice and a daily
    02:30 fires once."""
    candidate = trigger.get_next_fire_time(previous, now)
    if not isinstance(trigger, CronTrigger):  # intervals count real time, not wall time
        return candidate
    for _ in range(1000):  # a bound, in case a trigger keeps answering the same time
        if candidate is None or previous is None or (
                candidate > previous and _wall(candidate, tz) != _wall(previous, tz)):
            return candidate
        # look from a minute later (with a previous fire time, APScheduler starts there)
        now = max(candidate, now) + timedelta(minutes=1)
        candidate = trigger.get_next_fire_time(None, now)
    return None


def _wall(moment: datetime, tz: str) -> datetime:
    return moment.astimezone(zone(tz)).replace(tzinfo=None)


def preview(trigger, tz: str, count: int = 5, now: datetime | None = None) -> list[datetime]:
    """The next `count` fire times from now."""
    times: list[datetime] = []
    previous: datetime | None = None
    now = now or utcnow()
    while len(times) < count:
        upcoming = next_fire_time(trigger, tz, previous, now)
        if upcoming is None:
            break
        times.append(upcoming)
        previous, now = upcoming, upcoming
    return times
