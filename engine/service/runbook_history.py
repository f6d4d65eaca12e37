"""Runbook history for the console (docs/console.md): how healthy each runbook is, read for
all runbooks at once, and one runbook's run grid (its last N jobs × its steps) with the
figures its charts show.

The rules, in one place: a *run* is a job that left Scheduled (queued, under way or
ended); runs are in the order they were made (job id, the Jobs list's order). A success
rate counts completed jobs against completed + failed ones (a cancelled job was stopped
by a person: it counts as neither); a median duration is of completed jobs. A day is a
UTC day.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import and_, case, func, literal, or_, select, true, union_all
from sqlmodel import col

from engine.errors import InvalidInput
from engine.service.schedules import list_schedules, next_times
from engine.service.visual import SHOWN_FROM
from engine.store.db import read_scope
from models import Job, JobStatus, Runbook, StepRun, StepStatus, utcnow

MARKS = 20  # runs shown per runbook on the Runbooks page
WINDOW_DAYS = (7, 30)  # the health windows, in days
GRID_JOBS, MAX_GRID_JOBS = 30, 200  # jobs in a runbook's run grid: by default, at most
TREND_DAYS = 30  # days in the success-rate-per-day chart
ENDED = (JobStatus.completed, JobStatus.failed, JobStatus.cancelled)


@dataclass(frozen=True)
class RunMark:
    """One run of a runbook as a mark: its job, status and when it was made."""

    job_id: int
    status: JobStatus
    created_at: datetime


@dataclass
class Window:
    """A runbook's ended jobs made in the last `days` days, by outcome, and the median
    duration of the completed ones (ms; None without any)."""

    days: int
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    median_ms: int | None = None

    @property
    def success_rate(self) -> float | None:
        """Completed / (completed + failed), 0-1; None when no job completed or failed."""
        judged = self.completed + self.failed
        return self.completed / judged if judged else None

    @property
    def failure_rate(self) -> float:
        """Failed / (completed + failed), 0-1; 0 when none completed or failed."""
        judged = self.completed + self.failed
        return self.failed / judged if judged else 0.0


@dataclass(frozen=True)
class LastFailure:
    """The runbook's newest failed job: its id, error kind (None: not recorded), when made."""

    job_id: int
    error_kind: str | None
    created_at: datetime


@dataclass
class RunbookHealth:
    """One row of the Runbooks page. `marks`: the last MARKS runs, oldest first (newest at
    the right, as in the run grid); `windows`: by days (7, 30); `next_run`: the earliest
    next fire time of its enabled schedules (aware UTC), None without one or when the
    runbook is archived (its schedules do not run it)."""

    runbook: Runbook
    marks: list[RunMark] = field(default_factory=list)
    windows: dict[int, Window] = field(default_factory=dict)
    next_run: datetime | None = None
    last_failure: LastFailure | None = None

    @property
    def failing(self) -> tuple[float, int]:
        """How it sorts under "most failing": failure rate over 7 days, then failed count."""
        week = self.windows[7]
        return week.failure_rate, week.failed


def runbook_health(*, archived: bool = False, most_failing: bool = False,
                   now: datetime | None = None) -> list[RunbookHealth]:
    """Every runbook (archived ones too when `archived`) with its health, by name, or the
    most failing first (`RunbookHealth.failing`, then by name). Two queries for all
    runbooks, whatever their number of jobs, and one for the schedules."""
    now = now or utcnow()
    with read_scope() as session:
        query = select(Runbook).order_by(col(Runbook.name))
        if not archived:
            query = query.where(col(Runbook.archived_at).is_(None))
        rows = {r.id: RunbookHealth(r, windows={d: Window(d) for d in WINDOW_DAYS})
                for r in session.scalars(query)}
        connection = session.connection()
        for runbook_id, job_id, status, made, error_kind, kind in connection.execute(
                _marks_and_failures()):
            health = rows.get(runbook_id)
            if health is None:
                continue
            if kind == "mark":
                health.marks.append(RunMark(job_id, JobStatus(status), made))
            else:
                health.last_failure = LastFailure(job_id, error_kind, made)
        for figures in connection.execute(_window_figures(now)).mappings():
            health = rows.get(figures["runbook_id"])
            if health is None:
                continue
            for days in WINDOW_DAYS:
                window = health.windows[days]
                window.completed, window.failed, window.cancelled = (
                    int(figures[f"{s.value}_{days}"] or 0) for s in ENDED)
                median = figures[f"median_{days}"]
                window.median_ms = None if median is None else round(float(median))
    for health in rows.values():
        health.marks.sort(key=lambda m: m.job_id)
    by_name = {h.runbook.name: h for h in rows.values()}
    for schedule in list_schedules():
        health = by_name.get(schedule.runbook_name)
        runs = health is not None and health.runbook.archived_at is None  # else it misses
        upcoming = next_times(schedule, 1, now) if runs and schedule.enabled else []
        if health and upcoming and (health.next_run is None or upcoming[0] < health.next_run):
            health.next_run = upcoming[0]
    listed = list(rows.values())
    if most_failing:
        listed.sort(key=lambda h: (-h.failing[0], -h.failing[1], h.runbook.name))
    return listed


def _marks_and_failures():
    """(runbook id, job id, status, created_at, error kind, "mark" | "failure") rows: each
    runbook's last MARKS runs and its newest failed job. Per runbook, the id of its
    MARKS-th newest run is found through the job table's runbook index (a bounded read
    whatever the number of jobs), then the runs from that id on are read."""
    first_mark = (select(Job.id).where(Job.runbook_id == Runbook.id,
                                       Job.status != JobStatus.scheduled)
                  .order_by(col(Job.id).desc()).limit(1).offset(MARKS - 1)
                  .correlate(Runbook).scalar_subquery())
    last_failed = (select(Job.id).where(Job.runbook_id == Runbook.id,
                                        Job.status == JobStatus.failed)
                   .order_by(col(Job.id).desc()).limit(1).correlate(Runbook).scalar_subquery())
    cut = select(col(Runbook.id).label("runbook_id"),
                 func.coalesce(first_mark, 0).label("first_id"),
                 last_failed.label("failed_id")).cte("cut")
    fields = (Job.runbook_id, Job.id, Job.status, Job.created_at, Job.error_kind)
    marks = select(*fields, literal("mark").label("kind")).join(
        cut, and_(Job.runbook_id == cut.c.runbook_id, col(Job.id) >= cut.c.first_id)).where(
        Job.status != JobStatus.scheduled)
    failures = select(*fields, literal("failure").label("kind")).join(
        cut, Job.id == cut.c.failed_id)
    return union_all(marks, failures)


def _window_figures(now: datetime):
    """One row per runbook with jobs ended in the window: `<status>_<days>` counts and
    `median_<days>` (ms) for each of WINDOW_DAYS. The medians are the middle row (or the
    mean of the middle two) by ROW_NUMBER() over each runbook's durations."""
    since = {days: now - timedelta(days=days) for days in WINDOW_DAYS}
    newest = min(WINDOW_DAYS)
    ended = select(col(Job.runbook_id), col(Job.status), col(Job.duration_ms),
                   case((col(Job.created_at) >= since[newest], 1), else_=0).label("recent")
                   ).where(col(Job.created_at) >= since[max(WINDOW_DAYS)],
                           col(Job.status).in_(ENDED)).cte("ended")

    def within(days: int):
        return ended.c.recent == 1 if days == newest else true()

    counts = select(ended.c.runbook_id, *(
        func.sum(case((and_(ended.c.status == status, within(days)), 1), else_=0)).label(
            f"{status.value}_{days}") for days in WINDOW_DAYS for status in ENDED)).group_by(
        ended.c.runbook_id).subquery()
    query = select(counts)
    for days in WINDOW_DAYS:
        durations = select(
            ended.c.runbook_id, ended.c.duration_ms,
            func.row_number().over(partition_by=ended.c.runbook_id,
                                   order_by=ended.c.duration_ms).label("rn"),
            func.count().over(partition_by=ended.c.runbook_id).label("n")).where(
            ended.c.status == JobStatus.completed, ended.c.duration_ms.is_not(None),
            within(days)).subquery()
        median = select(durations.c.runbook_id,
                        func.avg(durations.c.duration_ms).label(f"median_{days}")).where(
            or_(durations.c.rn == (durations.c.n + 1) // 2,
                durations.c.rn == (durations.c.n + 2) // 2)).group_by(
            durations.c.runbook_id).subquery()
        query = query.add_columns(median.c[f"median_{days}"]).outerjoin(
            median, median.c.runbook_id == counts.c.runbook_id)
    return query


@dataclass(frozen=True)
class GridJob:
    """One column of the run grid: a run, with the figures its charts show (`duration_ms`
    None while it runs, `steps_failed` and `retry_count` as the job counts them)."""

    id: int
    status: JobStatus
    created_at: datetime
    duration_ms: int | None
    steps_failed: int
    retry_count: int
    version: int


@dataclass(frozen=True)
class GridCell:
    """One step of one run: its status (a StepStatus value) and the recovery marks
    (docs/recovery.md): `healed` (a later selector candidate won), `changed` (the share
    of its screenshot that changed, when at least SHOWN_FROM), `restored_from` (the job
    whose result a retry copied)."""

    job_id: int
    status: str
    duration_ms: int | None
    retries: int
    error_kind: str | None
    healed: bool
    changed: float | None
    restored_from: int | None


@dataclass
class GridRow:
    """One step's row: `current` False for a step the current version no longer has;
    `cells` by job id (a run that never reached the step has none)."""

    step: str
    current: bool
    cells: dict[int, GridCell] = field(default_factory=dict)


@dataclass(frozen=True)
class StepTime:
    """How long a step takes over the grid's runs: the median and the slowest of its
    successful runs that ran (ms; restored ones did not run), how many, how many failed."""

    step: str
    current: bool
    median_ms: int | None
    slowest_ms: int | None
    runs: int
    failed: int


@dataclass(frozen=True)
class Day:
    """One UTC day's ended runs of a runbook."""

    day: date
    completed: int
    failed: int
    cancelled: int

    @property
    def success_rate(self) -> float | None:
        """Completed / (completed + failed), 0-1; None on a day with neither."""
        judged = self.completed + self.failed
        return self.completed / judged if judged else None


@dataclass
class RunHistory:
    """A runbook's run grid and trends. `jobs`: its last runs, oldest first (newest at the
    right); `rows`: the current version's top-level steps in order, then steps only older
    versions had, in the order they ran; `step_times`: the current steps' slowest median
    first, then older versions' steps; `days`: each day asked for, oldest first, today
    (UTC) last."""

    runbook: Runbook
    jobs: list[GridJob]
    rows: list[GridRow]
    step_times: list[StepTime]
    days: list[Day]


def run_history(name: str, last: int = GRID_JOBS, days: int = TREND_DAYS,
                now: datetime | None = None) -> RunHistory | None:
    """The run grid of runbook `name` (archived or not) over its `last` runs, and its
    success per day over `days` days; None when there is no such runbook. InvalidInput
    when `last` is not 1-MAX_GRID_JOBS or `days` not 1-366. Four indexed queries."""
    if not 1 <= last <= MAX_GRID_JOBS:
        raise InvalidInput(f"the run grid shows 1 to {MAX_GRID_JOBS} jobs, not {last}: "
                           "ask for fewer")
    if not 1 <= days <= 366:
        raise InvalidInput(f"success per day covers 1 to 366 days, not {days}")
    with read_scope() as session:
        runbook = session.scalars(select(Runbook).where(col(Runbook.name) == name)).first()
        if runbook is None:
            return None
        connection = session.connection()
        jobs = [GridJob(*row) for row in connection.execute(
            select(col(Job.id), col(Job.status), col(Job.created_at), col(Job.duration_ms),
                   col(Job.steps_failed), col(Job.retry_count), col(Job.runbook_version))
            .where(col(Job.runbook_id) == runbook.id, col(Job.status) != JobStatus.scheduled)
            .order_by(col(Job.id).desc()).limit(last))][::-1]
        steps = connection.execute(
            select(*(col(c) for c in (
                StepRun.job_id, StepRun.name, StepRun.status, StepRun.duration_ms,
                StepRun.retries, StepRun.error_kind, StepRun.candidate,
                StepRun.visual_change, StepRun.restored_from)))
            .where(col(StepRun.job_id).in_([j.id for j in jobs]),
                   col(StepRun.parent_id).is_(None))
            .order_by(col(StepRun.job_id), col(StepRun.ordinal))).all() if jobs else []
        counted = _days(connection, runbook.id, days, now or utcnow())
    rows = _rows(runbook, steps)
    return RunHistory(runbook, jobs, rows, _step_times(rows), counted)


def _rows(runbook: Runbook, steps) -> list[GridRow]:
    rows = {s["name"]: GridRow(s["name"], True) for s in runbook.summary.get("steps", [])}
    for (job_id, name, status, duration_ms, retries, error_kind, candidate, change,
         restored_from) in steps:
        row = rows.setdefault(name, GridRow(name, False))  # a step of an older version
        row.cells[job_id] = GridCell(
            job_id, StepStatus(status).value, duration_ms, retries, error_kind,
            healed=(candidate or 0) > 0,
            changed=change if change is not None and change >= SHOWN_FROM else None,
            restored_from=restored_from)
    return list(rows.values())  # the current steps first: they were put in first


def _step_times(rows: list[GridRow]) -> list[StepTime]:
    times = []
    for row in rows:
        ran = sorted(c.duration_ms for c in row.cells.values() if c.status == "success"
                     and c.restored_from is None and c.duration_ms is not None)
        middle = len(ran) // 2
        median = None if not ran else ran[middle] if len(ran) % 2 else round(
            (ran[middle - 1] + ran[middle]) / 2)
        times.append(StepTime(row.step, row.current, median, ran[-1] if ran else None,
                              len(ran), sum(c.status == "failed" for c in row.cells.values())))
    # the current steps first (what can be made faster), each part the slowest first
    return sorted(times, key=lambda t: (not t.current, -1 if t.median_ms is None
                                        else -t.median_ms))


def _days(connection, runbook_id: int | None, days: int, now: datetime) -> list[Day]:
    first = now.astimezone(timezone.utc).date() - timedelta(days=days - 1)
    since = datetime.combine(first, time(), tzinfo=timezone.utc)
    day = func.date(Job.created_at)
    counts: dict[date, dict[JobStatus, int]] = {}
    for made, status, number in connection.execute(
            select(day, col(Job.status), func.count()).where(
                col(Job.runbook_id) == runbook_id, col(Job.created_at) >= since,
                col(Job.status).in_(ENDED)).group_by(day, Job.status)):
        made = made if isinstance(made, date) else date.fromisoformat(str(made)[:10])
        counts.setdefault(made, {})[JobStatus(status)] = number
    return [Day(d, *(counts.get(d, {}).get(s, 0) for s in ENDED))
            for d in (first + timedelta(days=n) for n in range(days))]
