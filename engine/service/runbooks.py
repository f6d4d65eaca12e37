"""The engine's public API for runbooks: store, version, list and add them."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import update
from sqlmodel import Session, col, select

from engine.errors import Conflict
from engine.identity import audit
from engine.identity.access import Actor
from engine.runbook import Runbook as RunbookSpec
from engine.runbook import RunbookInvalid, load_runbook_file
from engine.runbook.loader import check_runbook
from engine.store.db import read_scope, session_scope
from engine.store.disk import storage_guard
from models import Runbook, utcnow

log = logging.getLogger(__name__)


@dataclass
class SavedRunbook:
    runbook: Runbook
    outcome: str  # "created", "unchanged" or "new_version"


def save_runbook(spec: RunbookSpec) -> Runbook:
    """Store a validated runbook; its version rises when the source changed."""
    return store_runbook(spec).runbook


def store_runbook(spec: RunbookSpec, *, expected_version: int | None = None,
                  then: Callable[[Session, SavedRunbook], None] | None = None) -> SavedRunbook:
    """Store a validated runbook and say whether it was new, identical or a new version;
    StorageFull when the data directory's disk is full.

    `expected_version`: store it only over that version (compare-and-set, in one UPDATE),
    as a new version; Conflict when the runbook is gone or has another version by now.
    `then(session, saved)` runs in the same transaction (an audit record): if it raises,
    nothing is stored."""
    with storage_guard(), session_scope() as session:
        if expected_version is not None:
            saved = _replace(session, spec, expected_version)
            if then is not None:
                then(session, saved)
            return saved
        row = session.exec(select(Runbook).where(Runbook.name == spec.name)).first()
        if row is None:
            outcome = "created"
            row = Runbook(name=spec.name, title=spec.title, source=spec.source,
                          summary=spec.summary())
        elif row.source != spec.source:
            outcome = "new_version"
            row.version += 1
            row.title, row.source, row.summary = spec.title, spec.source, spec.summary()
            row.updated_at = utcnow()
        else:
            outcome = "unchanged"
        session.add(row)
        saved = SavedRunbook(row, outcome)
        if then is not None:
            then(session, saved)
    return saved


def _replace(session: Session, spec: RunbookSpec, expected_version: int) -> SavedRunbook:
    # one conditional UPDATE: whoever stored a version in between wins, this one is refused
    changed = session.exec(update(Runbook).where(
        col(Runbook.name) == spec.name, col(Runbook.version) == expected_version).values(
        version=expected_version + 1, title=spec.title, source=spec.source,
        summary=spec.summary(), updated_at=utcnow()))
    if changed.rowcount != 1:
        raise Conflict(f'runbook "{spec.name}" changed since version {expected_version} '
                       "was read (someone stored another version): look at it again")
    row = session.exec(select(Runbook).where(Runbook.name == spec.name)).one()
    return SavedRunbook(row, "new_version")


def add_runbook(source: str, file_name: str = "runbook.yaml", *, by: Actor | None = None,
                expected_version: int | None = None,
                then: Callable[[Session, SavedRunbook], None] | None = None) -> SavedRunbook:
    """Validate YAML text and store it; RunbookInvalid (with every error) when it is not valid.
    A change by a person is recorded in the audit log. Checked in a thread with a time
    limit (engine/runbook/limits.py), so the console's request never waits on it long.
    `expected_version` and `then`: as store_runbook's (Conflict when the version moved)."""
    saved = store_runbook(check_runbook(source, file_name), expected_version=expected_version,
                          then=then)
    if by is not None and saved.outcome != "unchanged":
        audit.record(by.name, f"runbook_{saved.outcome}", target=f"runbook {saved.runbook.name}",
                     source=by.source, after=f"version {saved.runbook.version}")
    return saved


def load_runbook_dir(directory: Path) -> dict[str, list[str]]:
    """Store every valid *.yaml runbook in a directory; returns the errors of invalid ones."""
    problems: dict[str, list[str]] = {}
    for path in sorted(directory.glob("*.y*ml")):
        try:
            save_runbook(load_runbook_file(path))
        except RunbookInvalid as exc:
            problems[str(path)] = exc.errors
            log.warning("runbook %s is invalid and was not loaded:\n%s", path, exc)
    return problems


def list_runbooks() -> list[Runbook]:
    with read_scope() as session:
        return list(session.exec(select(Runbook).order_by(Runbook.name)))


def get_runbook(name: str) -> Runbook | None:
    with read_scope() as session:
        return session.exec(select(Runbook).where(Runbook.name == name)).first()

