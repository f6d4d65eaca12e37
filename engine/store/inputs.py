"""A job's input files: what the person or program starting a job gave for each param of
`type: file`, kept as <data>/artifacts/<job id>/inputs/<param>/<file name>, one file per
param, each recorded as an artifact of kind `input` (no step)."""

import re
import shutil
from pathlib import Path
from typing import BinaryIO

from sqlmodel import Session

from engine.store.artifacts import ArtifactStore
from models import Artifact, ArtifactKind

# A file's content: bytes, or a binary file object read from where it stands
InputData = bytes | BinaryIO
NAME_MAX_BYTES = 255  # the longest file name Linux file systems take (NAME_MAX), in UTF-8
# The names the loader allows for file params (engine/runbook/model.py's FILE_PARAM_RE; not
# imported: the runner imports this module while engine.runbook is still loading)
_PARAM_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")
# Control characters (NUL included) never belong in a name a person gave a file
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_filename(name: str) -> str:
    """The file name to keep: the original, any language's letters included, without any
    directory part (`/` or `\\`), control characters or NUL, cut to 255 bytes of UTF-8 with
    its extension kept; "file" when nothing usable is left (``, `.`, `..`)."""
    base = re.split(r"[/\\]", _CONTROL.sub("", name))[-1].strip()
    if base in ("", ".", ".."):
        return "file"
    if len(base.encode("utf-8")) > NAME_MAX_BYTES:
        stem, dot, ext = base.rpartition(".")
        ext = f".{ext}" if dot and stem and len(ext) <= 16 else ""
        keep = stem if ext else base
        while len((keep + ext).encode("utf-8")) > NAME_MAX_BYTES:
            keep = keep[:-1]
        base = keep + ext
    return base


def data_size(data: InputData) -> int:
    """The content's size in bytes; a file object is left at its start."""
    if isinstance(data, bytes):
        return len(data)
    data.seek(0, 2)
    size = data.tell()
    data.seek(0)
    return size


def input_dir(data_dir: Path, job_id: int, param: str) -> Path:
    """Where the file of `param` lives; ValueError for a name that is not a plain word
    (the loader allows only such names for file params)."""
    if not _PARAM_RE.match(param):
        raise ValueError(f"not a file param's name: {param!r}")
    return data_dir.resolve() / "artifacts" / str(job_id) / "inputs" / param


def save_input(data_dir: Path, job_id: int, param: str, filename: str, data: InputData, *,
               session: Session | None = None) -> Artifact:
    """Write the file given for `param` (replacing one given before) and record it as an
    artifact of kind `input` named by its safe file name (`safe_filename`).

    `session`: record the row in the caller's transaction (so a job and its inputs are
    committed together); without one the row is committed at once. Raises OSError when
    the file cannot be written (nothing of it is left then) and ValueError for a param
    name that is not a plain word."""
    folder = input_dir(data_dir, job_id, param)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    name = safe_filename(filename)
    path = folder / name
    try:
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            data.seek(0)
            with path.open("wb") as out:
                shutil.copyfileobj(data, out, 1024 * 1024)
        return ArtifactStore(data_dir, job_id).record(ArtifactKind.input, name, path, None,
                                                      session=session)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def input_file(data_dir: Path, job_id: int, param: str) -> Path | None:
    """The one file stored for `param` of job `job_id`, or None when there is none (or the
    name is not a file param's). A symlink, or anything outside that folder, is never
    answered."""
    try:
        folder = input_dir(data_dir, job_id, param)
    except ValueError:
        return None
    if not folder.is_dir() or folder.is_symlink():
        return None
    files = [p for p in folder.iterdir() if p.is_file() and not p.is_symlink()]
    return files[0] if len(files) == 1 else None


def remove_inputs(data_dir: Path, job_id: int) -> None:
    """Delete every input file of a job (a job whose start failed keeps none)."""
    shutil.rmtree(data_dir.resolve() / "artifacts" / str(job_id) / "inputs", ignore_errors=True)
