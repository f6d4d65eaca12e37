"""Which jobs a list shows: the filters of the jobs list and of `GET /api/jobs`, checked
once here, and the SQL they make (the full-text search through engine/store/job_fts.py).
"""

import re
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Integer, column, literal_column, table, text
from sqlmodel import col, select

from engine.errors import InvalidInput
from engine.store.job_fts import POSTGRESQL_DOCUMENT
from models import ErrorKind, Job, JobStatus, Trigger

MAX_TEXT = 200  # characters of a filter's text: longer is a pasted mistake, not a name
# a word as SQLite's unicode61 tokenizer and the PostgreSQL document (punctuation made
# spaces) both cut it: letters and digits; "nightly-export" is the phrase "nightly export"
_TOKEN = re.compile(r"[^\W_]+")


# SQLite's full-text index (engine/store/job_fts.py): rowid is the job's id
JOB_FTS = table("job_fts", column("rowid", Integer))


class InvalidFilter(InvalidInput):
    """A filter value that cannot be used; the message says which and what is accepted."""


@dataclass(frozen=True)
class JobFilter:
    """What a list of jobs is narrowed to; None or empty: not narrowed by it.

    `since`/`until` are UTC instants over the job's `created_at` (when it was queued or its
    schedule made it): since <= created_at < until. `q` is full-text: every word must occur
    in the runbook's name or title, who started it, its error message or its params'
    values; the last word also as a prefix ("invoi" finds "invoices"). A search lists
    newest first by job id (the order jobs were created in): the full-text index hands
    its matches over in that order, so a page of them costs the same however many match."""

    runbook: str | None = None
    statuses: tuple[JobStatus, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    started_by: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    error_kind: str | None = None
    q: str | None = None

    @property
    def narrows(self) -> bool:
        """Narrowed by more than status (the status counts table answers status alone)."""
        return any(v for k, v in asdict(self).items() if k != "statuses")

    def with_statuses(self, statuses: list[JobStatus] | tuple[JobStatus, ...]) -> "JobFilter":
        return replace(self, statuses=tuple(statuses))


def parse_filter(*, runbook: str | None = None, status: str | None = None,
                 trigger: str | None = None, started_by: str | None = None,
                 since: str | None = None, until: str | None = None,
                 error_kind: str | None = None, q: str | None = None) -> JobFilter:
    """A JobFilter from text as a URL gives it (blank: not given). `status`, `trigger`:
    one or more values, comma-separated; `since`, `until`: an ISO 8601 date (`until`: to
    the end of that day) or date and time (UTC unless it names an offset).

    Raises InvalidFilter naming every value that is wrong and what is accepted."""
    problems: list[str] = []
    found = JobFilter(
        runbook=_text("runbook", runbook, problems),
        statuses=tuple(_choices("status", status, JobStatus, problems)),
        triggers=tuple(_choices("trigger", trigger, Trigger, problems)),
        started_by=_text("started_by", started_by, problems),
        since=_instant("since", since, problems, end_of_day=False),
        until=_instant("until", until, problems, end_of_day=True),
        error_kind=(_choices("error_kind", error_kind, ErrorKind, problems, many=False)
                    or [None])[0],
        q=_text("q", q, problems))
    if "," in (error_kind or ""):
        problems.append("error_kind takes one kind, not a list")
    if found.since and found.until and found.since >= found.until:
        problems.append(f"since ({since}) is not before until ({until}): swap them")
    if problems:
        raise InvalidFilter("; ".join(problems))
    return found


def _text(name: str, value: str | None, problems: list[str]) -> str | None:
    value = (value or "").strip()
    if len(value) > MAX_TEXT:
        problems.append(f"{name} is longer than {MAX_TEXT} characters")
    return value or None


def _choices(name: str, value: str | None, enum, problems: list[str],
             many: bool = True) -> list:
    wanted = [v.strip() for v in (value or "").split(",") if v.strip()]
    unknown = [v for v in wanted if v not in enum.__members__]
    if unknown:
        problems.append(f"unknown {name} {', '.join(unknown)}: use one of "
                        f"{', '.join(enum.__members__)}"
                        + (" (several: comma-separated)" if many else ""))
        return []
    return [enum(v) for v in dict.fromkeys(wanted)]


def _instant(name: str, value: str | None, problems: list[str], *,
             end_of_day: bool) -> datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        if len(value) == 10:  # a date: its day in UTC, `until` to the end of it
            day = date.fromisoformat(value) + timedelta(days=1 if end_of_day else 0)
            return datetime.combine(day, time(), tzinfo=timezone.utc)
        at = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        problems.append(f'{name} "{value[:40]}" is not an ISO 8601 date or date and time: '
                        "write 2026-12-01 or 2026-12-01T08:30 (UTC) or 2026-12-01T08:30+01:00")
        return None
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def search_terms(q: str) -> list[list[str]]:
    """The words of a search, each as its tokens: "nightly-export inv" ->
    [["nightly", "export"], ["inv"]]; a word with no letter or digit is dropped."""
    words = [_TOKEN.findall(word.lower()) for word in q.split()]
    return [tokens for tokens in words if tokens]


def _sqlite_match(terms: list[list[str]]) -> str:
    # FTS5: a quoted phrase a word, the last one a prefix ("... inv"*); tokens are letters
    # and digits only, so nothing in them is FTS5 syntax
    phrases = [f'"{" ".join(tokens)}"' for tokens in terms]
    phrases[-1] += "*"
    return " ".join(phrases)


def _postgresql_query(terms: list[list[str]]) -> str:
    phrases = [" <-> ".join(tokens) for tokens in terms]
    phrases[-1] += ":*"
    return " & ".join(f"({p})" for p in phrases)


def where(query, found: JobFilter, dialect: str):
    """`query` (a select over Job) narrowed to the jobs `found` admits."""
    if found.statuses:
        query = query.where(col(Job.status).in_(found.statuses))
    if found.runbook:
        query = query.where(Job.runbook_name == found.runbook)
    if found.triggers:
        query = query.where(col(Job.trigger).in_(found.triggers))
    if found.started_by:
        query = query.where(Job.started_by == found.started_by)
    if found.error_kind:
        query = query.where(Job.error_kind == found.error_kind)
    if found.since:
        query = query.where(col(Job.created_at) >= found.since)
    if found.until:
        query = query.where(col(Job.created_at) < found.until)
    if found.q:
        terms = search_terms(found.q)
        if not terms:  # punctuation only: nothing can match a word
            return query.where(literal_column("1") == 0)
        if dialect == "postgresql":
            query = query.where(text(f"{POSTGRESQL_DOCUMENT} @@ to_tsquery('simple', :tsq)")
                                .bindparams(tsq=_postgresql_query(terms)))
        else:  # the index drives: a join, not IN (...), which would read every match
            query = query.join(JOB_FTS, JOB_FTS.c.rowid == col(Job.id)).where(
                text("job_fts MATCH :fts").bindparams(fts=_sqlite_match(terms)))
    return query


def jobs_query(found: JobFilter, dialect: str):
    """Job rows `found` admits, newest first: by created_at (then id), a search by id."""
    query = where(select(Job), found, dialect)
    if found.q and search_terms(found.q):
        return query.order_by((JOB_FTS.c.rowid if dialect == "sqlite" else col(Job.id)).desc())
    return query.order_by(col(Job.created_at).desc(), col(Job.id).desc())
