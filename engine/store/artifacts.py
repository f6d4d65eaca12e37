"""Artifact files under <data>/artifacts/<job id>/ with server-made names, each a row."""

import mimetypes
import re
from pathlib import Path

import filetype
from sqlmodel import Session, col, select

from engine.errors import StorageFull
from engine.store.db import session_scope
from engine.store.disk import release_reserve, storage_guard
from models import Artifact, ArtifactKind, StepRun


def _slug(text: str) -> str:
    """A file-name part from any text: letters of any language and digits kept."""
    return re.sub(r"[\W_]+", "-", text.lower()).strip("-")[:40] or "file"


def media_type_of(path: Path) -> str:
    """By the file's extension (the standard library's table), else by its content's
    magic numbers (the `filetype` library), else application/octet-stream."""
    by_name, _ = mimetypes.guess_type(path.name)
    if by_name:
        return by_name
    sniffed = filetype.guess(str(path))
    return sniffed.mime if sniffed else "application/octet-stream"


def sniffed_extension(path: Path) -> str | None:
    """The extension a file's content calls for (`xlsx`, `pdf`, …), if it says."""
    sniffed = filetype.guess(str(path))
    return sniffed.extension if sniffed else None


class ArtifactStore:
    """Writes a job's files and records them; one store per job run."""

    def __init__(self, data_dir: Path, job_id: int):
        self.data_dir = data_dir.resolve()
        self.job_id = job_id
        self.dir = self.data_dir / "artifacts" / str(job_id)
        self._count = 0

    def new_path(self, label: str, ext: str) -> Path:
        """A fresh file path; the name comes from the server, never from the page."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self._count += 1
        ext = re.sub(r"[^a-z0-9]", "", ext.lower())[:8] or "bin"
        return self.dir / f"{self._count:03d}-{_slug(label)}.{ext}"

    def record(self, kind: ArtifactKind, name: str, path: Path, step_run_id: int | None,
               media_type: str | None = None, *, session: Session | None = None) -> Artifact:
        """Add a row for a file already written to `path`; in `session` (flushed, committed
        by its owner) when given, else in a transaction of its own."""
        artifact = Artifact(
            job_id=self.job_id, step_run_id=step_run_id, kind=kind, name=name,
            path=str(path.resolve().relative_to(self.data_dir)), size=path.stat().st_size,
            media_type=media_type or media_type_of(path))
        if session is not None:
            session.add(artifact)
            session.flush()
            return artifact
        with session_scope() as own:
            own.add(artifact)
        return artifact

    def save(self, kind: ArtifactKind, name: str, data: bytes, ext: str,
             step_run_id: int | None) -> Artifact:
        """Write and record a file; StorageFull (naming the data directory) when the disk is
        full, after which the disk reserve is released so the job's end can be recorded."""
        path = None
        try:
            with storage_guard(self.data_dir):
                path = self.new_path(name, ext)
                path.write_bytes(data)
                return self.record(kind, name, path, step_run_id)
        except StorageFull:
            if path is not None:
                path.unlink(missing_ok=True)  # a partial or unrecorded file helps nobody
            release_reserve(self.data_dir)
            raise


# A step's diff image against the last completed job's screenshot (engine/runner/visual.py):
# "change after <step> (<place>)"; its "after <step>" screenshot stays the step's picture.
DIFF_PREFIX = "change after "


def is_diff_image(artifact: Artifact) -> bool:
    return artifact.kind == ArtifactKind.screenshot and artifact.name.startswith(DIFF_PREFIX)


def artifact_file(data_dir: Path, artifact: Artifact) -> Path | None:
    """The artifact's file if it is a file inside its own job's artifact directory (after
    following any symlink), else None: a stored path never reaches another file."""
    job_dir = (data_dir / "artifacts" / str(artifact.job_id)).resolve()
    path = (job_dir.parent.parent / artifact.path).resolve()
    if not path.is_relative_to(job_dir) or not path.is_file():
        return None
    return path


def list_artifacts(job_id: int) -> list[Artifact]:
    with session_scope() as session:
        return list(session.exec(select(Artifact).where(Artifact.job_id == job_id)
                                 .order_by(col(Artifact.id))))


def artifact_named(data_dir: Path, job_id: int, ref: str) -> tuple[str, Path] | None:
    """(name, file) of the job's newest artifact called `ref`, or else the file made by
    the step called `ref` (a download, an export; its "after" screenshot only when there is
    no other); None when there is none (or its file is gone)."""
    with session_scope() as session:
        rows = session.exec(
            select(Artifact, StepRun.name).join(StepRun, isouter=True,
                                                onclause=col(Artifact.step_run_id) == StepRun.id)
            .where(Artifact.job_id == job_id).order_by(col(Artifact.id).desc())).all()
    # By a step's name, the file the step made: its screenshot only for a screenshot step.
    found = next((a for a, _ in rows if a.name == ref), None) or next(
        (a for a, step in rows if step == ref and a.kind != ArtifactKind.screenshot), None
    ) or next((a for a, step in rows if step == ref and not is_diff_image(a)), None)
    path = artifact_file(data_dir, found) if found else None
    return (found.name, path) if found and path else None
