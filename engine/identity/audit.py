"""The audit log: who did what, to what, when and from where. Never a secret's value.

Job actions write their row in the same transaction as the change (engine/service/job_actions.py);
everything else calls `record`.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import col, select

from engine.store.db import read_scope, session_scope
from models import AuditEvent


def record(actor: str, action: str, *, target: str | None = None, source: str | None = None,
           job_id: int | None = None, before: str | None = None, after: str | None = None,
           comment: str | None = None, session=None) -> None:
    event = AuditEvent(actor=actor, action=action, target=target, source=source, job_id=job_id,
                       status_before=before, status_after=after, comment=comment)
    if session is not None:
        session.add(event)
        return
    with session_scope() as own:
        own.add(event)


@dataclass
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    text: str | None = None  # in the target, comment, source or job id
    since: datetime | None = None


def search(where: AuditFilter, limit: int = 100, offset: int = 0) -> tuple[list[AuditEvent], int]:
    """Matching events, newest first, and how many match in all."""
    query = select(AuditEvent)
    if where.actor:
        query = query.where(AuditEvent.actor == where.actor)
    if where.action:
        query = query.where(AuditEvent.action == where.action)
    if where.since:
        query = query.where(AuditEvent.at >= where.since)
    if where.text:
        like = f"%{where.text.lower()}%"
        fields = [AuditEvent.target, AuditEvent.comment, AuditEvent.source]
        clauses: list[ColumnElement[bool]] = [func.lower(f).like(like) for f in fields]
        if where.text.strip().isdigit():
            clauses.append(col(AuditEvent.job_id) == int(where.text))
        query = query.where(or_(*clauses))
    with read_scope() as session:
        total = session.exec(select(func.count()).select_from(query.subquery())).one()
        rows = session.exec(query.order_by(col(AuditEvent.id).desc()).offset(offset).limit(limit))
        return list(rows), total


def actions_and_actors() -> tuple[list[str], list[str]]:
    """The distinct actions and actors on record, for the filters."""
    with read_scope() as session:
        actions = session.exec(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
        actors = session.exec(select(AuditEvent.actor).distinct().order_by(AuditEvent.actor))
        return list(actions), list(actors)


def failures_since(action: str, since: datetime, *, target: str | None = None,
                   source: str | None = None) -> int:
    """How many `action` events (e.g. failed sign-ins) for a name or from an address."""
    query = select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.at >= since)
    if target is not None:
        query = query.where(AuditEvent.target == target)
    if source is not None:
        query = query.where(AuditEvent.source == source)
    with read_scope() as session:
        return session.exec(query).one()
