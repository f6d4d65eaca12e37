"""The engine's public API for runbooks: store, version, list and add them; each version
as saved (who, when, its YAML) and the diff of any two; archive and restore."""

import difflib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import update
from sqlmodel import Session, col, select

from engine.errors import Conflict, NotFound
from engine.identity import audit
from engine.identity.access import Actor, require
from engine.runbook import Runbook as RunbookSpec
from engine.runbook import RunbookInvalid, load_runbook_file
from engine.runbook.loader import check_runbook
from engine.store.db import read_scope, session_scope
from engine.store.disk import storage_guard
from models import Runbook, RunbookVersion, utcnow

log = logging.getLogger(__name__)


class RunbookArchived(Conflict):
    """The runbook is archived: it neither runs nor takes new versions until restored
    (HTTP 409, exit code 1)."""


def refuse_archived(row: Runbook, doing: str = "run it") -> None:
    """RunbookArchived when `row` is archived, saying who archived it and how to go on
    (`doing`: what restoring allows, "run it" or "save it again")."""
    if row.archived_at is not None:
        raise RunbookArchived(
            f'runbook "{row.name}" is archived (by {row.archived_by or "someone"} on '
            f'{row.archived_at:%Y-%m-%d %H:%M} UTC): restore it to {doing} (an admin, on '
            f"its page or POST /api/runbooks/{row.name}/restore)")


@dataclass
class SavedRunbook:
    runbook: Runbook
    outcome: str  # "created", "unchanged" or "new_version"


def save_runbook(spec: RunbookSpec) -> Runbook:
    """Store a validated runbook; its version rises when the source changed."""
    return store_runbook(spec).runbook


def store_runbook(spec: RunbookSpec, *, expected_version: int | None = None,
                  then: Callable[[Session, SavedRunbook], None] | None = None,
                  saved_by: str | None = None) -> SavedRunbook:
    """Store a validated runbook and say whether it was new, identical or a new version;
    a new one is kept as a RunbookVersion (`saved_by`: the person; None for a file loaded
    at start) in the same transaction. StorageFull when the data directory's disk is full;
    RunbookArchived when the runbook is archived (nothing stored, not even the same YAML).

    `expected_version`: store it only over that version (compare-and-set, in one UPDATE),
    as a new version; Conflict when the runbook is gone or has another version by now.
    `then(session, saved)` runs in the same transaction (an audit record): if it raises,
    nothing is stored."""
    with storage_guard(), session_scope() as session:
        if expected_version is not None:
            saved = _replace(session, spec, expected_version)
            _keep_version(session, saved.runbook, saved_by)
            if then is not None:
                then(session, saved)
            return saved
        row = session.exec(select(Runbook).where(Runbook.name == spec.name)).first()
        if row is not None:
            refuse_archived(row, "save it again")
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
        if outcome != "unchanged":
            session.flush()  # a new runbook's id
            _keep_version(session, row, saved_by)
        saved = SavedRunbook(row, outcome)
        if then is not None:
            then(session, saved)
    return saved


def _replace(session: Session, spec: RunbookSpec, expected_version: int) -> SavedRunbook:
    # one conditional UPDATE: whoever stored a version in between wins, this one is refused
    changed = session.exec(update(Runbook).where(
        col(Runbook.name) == spec.name, col(Runbook.version) == expected_version,
        col(Runbook.archived_at).is_(None)).values(
        version=expected_version + 1, title=spec.title, source=spec.source,
        summary=spec.summary(), updated_at=utcnow()))
    if changed.rowcount != 1:
        row = session.exec(select(Runbook).where(Runbook.name == spec.name)).first()
        if row is not None:
            refuse_archived(row, "save it again")
        raise Conflict(f'runbook "{spec.name}" changed since version {expected_version} '
                       "was read (someone stored another version): look at it again")
    row = session.exec(select(Runbook).where(Runbook.name == spec.name)).one()
    return SavedRunbook(row, "new_version")


def _keep_version(session: Session, row: Runbook, saved_by: str | None) -> None:
    assert row.id is not None  # stored and flushed
    session.add(RunbookVersion(runbook_id=row.id, version=row.version, title=row.title,
                               source=row.source, saved_by=saved_by, saved_at=row.updated_at))


def add_runbook(source: str, file_name: str = "runbook.yaml", *, by: Actor | None = None,
                expected_version: int | None = None,
                then: Callable[[Session, SavedRunbook], None] | None = None) -> SavedRunbook:
    """Validate YAML text and store it; RunbookInvalid (with every error) when it is not valid.
    A change by a person is recorded in the audit log. Checked in a thread with a time
    limit (engine/runbook/limits.py), so the console's request never waits on it long.
    `expected_version` and `then`: as store_runbook's (Conflict when the version moved).
    RunbookArchived (409) when a runbook of that name is archived: restore it first."""
    saved = store_runbook(check_runbook(source, file_name), expected_version=expected_version,
                          then=then, saved_by=by.name if by is not None else None)
    if by is not None and saved.outcome != "unchanged":
        audit.record(by.name, f"runbook_{saved.outcome}", target=f"runbook {saved.runbook.name}",
                     source=by.source, after=f"version {saved.runbook.version}")
    return saved


def load_runbook_dir(directory: Path) -> dict[str, list[str]]:
    """Store every valid *.yaml runbook in a directory; returns the errors of invalid ones.
    An archived runbook's file is passed over: loading never restores it."""
    problems: dict[str, list[str]] = {}
    for path in sorted(directory.glob("*.y*ml")):
        try:
            save_runbook(load_runbook_file(path))
        except RunbookInvalid as exc:
            problems[str(path)] = exc.errors
            log.warning("runbook %s is invalid and was not loaded:\n%s", path, exc)
        except RunbookArchived as exc:
            log.info("%s was not loaded: %s", path, exc)
    return problems


def list_runbooks(archived: bool = False) -> list[Runbook]:
    """Runbooks by name; archived ones only when `archived` (then all of them)."""
    query = select(Runbook).order_by(Runbook.name)
    if not archived:
        query = query.where(col(Runbook.archived_at).is_(None))
    with read_scope() as session:
        return list(session.exec(query))


def get_runbook(name: str) -> Runbook | None:
    with read_scope() as session:
        return session.exec(select(Runbook).where(Runbook.name == name)).first()



@dataclass(frozen=True)
class VersionInfo:
    """A kept version of a runbook as a list shows it (without its YAML)."""

    version: int
    title: str
    saved_by: str | None  # a person; None: a file loaded at start, or from before 0009
    saved_at: datetime


def _runbook(session: Session, name: str) -> Runbook:
    row = session.exec(select(Runbook).where(Runbook.name == name)).first()
    if row is None:
        raise NotFound(f'there is no runbook named "{name}"')
    return row


def runbook_versions(name: str) -> list[VersionInfo]:
    """The runbook's kept versions, newest first. A version saved before Jobdeck kept
    versions is there only if a job ran it (its YAML came from that job). NotFound: no
    such runbook."""
    with read_scope() as session:
        row = _runbook(session, name)
        found = session.exec(select(RunbookVersion.version, RunbookVersion.title,
                                    RunbookVersion.saved_by, RunbookVersion.saved_at)
                             .where(RunbookVersion.runbook_id == row.id)
                             .order_by(col(RunbookVersion.version).desc())).all()
    return [VersionInfo(*values) for values in found]


def runbook_version(name: str, version: int) -> RunbookVersion:
    """One kept version with its YAML (`source`, as written). NotFound: no such runbook,
    or that version was not kept (the message says which)."""
    with read_scope() as session:
        row = _runbook(session, name)
        kept = session.exec(select(RunbookVersion).where(
            RunbookVersion.runbook_id == row.id, RunbookVersion.version == version)).first()
    if kept is None:
        raise NotFound(
            f'runbook "{name}" has no version {version} (its versions are 1 to {row.version})'
            if not 1 <= version <= row.version else
            f'version {version} of runbook "{name}" was not kept: it was saved before '
            "Jobdeck kept versions, and no job ran it")
    return kept


def diff_versions(name: str, a: int, b: int) -> str:
    """The change from version `a` to version `b` as a unified diff (`--- name v<a>`,
    `+++ name v<b>`, 3 lines of context); "" when their YAML is the same. Either may be
    older. NotFound: no such runbook or version (as runbook_version)."""
    before, after = runbook_version(name, a), runbook_version(name, b)
    # rewrite.unified_diff labels its sides "current" and "new"; these are two versions
    return "".join(difflib.unified_diff(
        before.source.splitlines(keepends=True), after.source.splitlines(keepends=True),
        fromfile=f"{name} v{a}", tofile=f"{name} v{b}"))


def archive_runbook(name: str, *, by: Actor) -> Runbook:
    """Archive a runbook: hidden from the runbook list (list_runbooks), new jobs and new
    versions refused (RunbookArchived), its schedules record a miss instead of running;
    its jobs, versions and schedules stay. Jobs already queued or running go on. Audited
    `runbook_archived` in the same transaction.

    Raises Forbidden: below the admin role ("runbooks"); NotFound: no such runbook;
    Conflict: it is archived already."""
    return _set_archived(name, by, archived=True)


def restore_runbook(name: str, *, by: Actor) -> Runbook:
    """Restore an archived runbook: listed and runnable again, its schedules fire from
    their next occurrence. Audited `runbook_restored` in the same transaction.

    Raises Forbidden: below the admin role ("runbooks"); NotFound: no such runbook;
    Conflict: it is not archived."""
    return _set_archived(name, by, archived=False)


def _set_archived(name: str, by: Actor, *, archived: bool) -> Runbook:
    require(by, "runbooks", target=f"runbook {name}")
    with session_scope() as session:
        row = _runbook(session, name)
        # compare-and-set: of two people archiving (restoring) at once, one is told it
        # already is (is not)
        was = col(Runbook.archived_at).is_(None) if archived else col(
            Runbook.archived_at).is_not(None)
        changed = session.exec(update(Runbook).where(col(Runbook.id) == row.id, was).values(
            archived_at=utcnow() if archived else None,
            archived_by=by.name if archived else None))
        session.refresh(row)
        if changed.rowcount != 1:
            raise Conflict(f'runbook "{name}" is archived already (by '
                           f'{row.archived_by or "someone"}): nothing changed' if archived
                           else f'runbook "{name}" is not archived: nothing to restore')
        audit.record(by.name, "runbook_archived" if archived else "runbook_restored",
                     target=f"runbook {name}", source=by.source,
                     after=f"version {row.version}", session=session)
    return row
