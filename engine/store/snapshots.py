"""A job's browser-state snapshots, kept for Retry from step N (docs/recovery.md).

After each successful step of a runbook with `settings.resume: true` the runner writes
one snapshot: the browser's storage state (Playwright's `BrowserContext.storage_state()`:
cookies and local storage), the open tabs' URLs, the captured values and loop bindings
(never params or secrets), the collections, and where the job stood. Each is compressed
and encrypted (Fernet, with a key made once per installation) into
`artifacts/<job id>/snapshots/<seq>-<rows>.snap`, so it goes with the job's artifacts.

`seq` counts the job's snapshots from 1 in the order they were taken; `rows` is how many
step rows the job had started when it was taken. The state just before step row R
(ordinal R) is the snapshot with the largest `rows` ≤ R - 1 (`restore_point`).

A step's place is its *path*: its top-level step's name, then for each loop it is inside
the iteration (1-based) and the nested step's name: `["login"]`, `["pages", 3, "extract"]`.
"""

import base64
import hashlib
import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from engine.store.instance_secrets import instance_secret

FORMAT = 1
_NAME = re.compile(r"^(\d{5,})-(\d{5,})\.snap$")


class SnapshotUnreadable(Exception):
    """A snapshot file that cannot be decrypted or parsed (another installation's key, a
    damaged file)."""


@dataclass(frozen=True)
class SnapshotInfo:
    seq: int
    rows: int  # step rows started when it was taken
    path: Path
    size: int  # bytes on disk


def snapshot_dir(data_dir: Path, job_id: int) -> Path:
    return data_dir / "artifacts" / str(job_id) / "snapshots"


def _fernet() -> Fernet:
    key = hashlib.sha256(instance_secret("snapshot_key").encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def write_snapshot(data_dir: Path, job_id: int, seq: int, rows: int, state: dict) -> int:
    """Encrypt and write one snapshot (`state`: JSON-able dict); returns its size in bytes.
    OSError (e.g. ENOSPC) is the caller's."""
    folder = snapshot_dir(data_dir, job_id)
    folder.mkdir(parents=True, exist_ok=True)
    plain = json.dumps({"format": FORMAT, **state}, ensure_ascii=False,
                       separators=(",", ":")).encode()
    token = _fernet().encrypt(zlib.compress(plain, 6))
    path = folder / f"{seq:05d}-{rows:05d}.snap"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(token)
    tmp.replace(path)  # a reader never sees half a snapshot
    return len(token)


def list_snapshots(data_dir: Path, job_id: int) -> list[SnapshotInfo]:
    """The job's snapshots, oldest first (none: an empty list)."""
    folder = snapshot_dir(data_dir, job_id)
    found = []
    for path in folder.glob("*.snap") if folder.is_dir() else []:
        if m := _NAME.match(path.name):
            found.append(SnapshotInfo(int(m[1]), int(m[2]), path, path.stat().st_size))
    return sorted(found, key=lambda s: s.seq)


def restore_point(snapshots: list[SnapshotInfo], ordinal: int) -> SnapshotInfo | None:
    """The snapshot to restore before step row `ordinal` runs again: the last one taken
    before that row started; None when none was (then the job starts from a blank page)."""
    before = [s for s in snapshots if s.rows <= ordinal - 1]
    return before[-1] if before else None


def read_snapshot(info: SnapshotInfo) -> dict:
    """The state written by write_snapshot; SnapshotUnreadable when it cannot be read."""
    try:
        data = json.loads(zlib.decompress(_fernet().decrypt(info.path.read_bytes())))
    except (OSError, InvalidToken, zlib.error, ValueError) as exc:
        raise SnapshotUnreadable(f"snapshot {info.path.name} cannot be read: "
                                 f"{type(exc).__name__}") from None
    if data.get("format") != FORMAT:
        raise SnapshotUnreadable(f"snapshot {info.path.name} has an unknown format")
    return data


def row_path(rows_by_id: dict[int, object], row) -> list:
    """A step row's path (see above) from its parents: rows_by_id maps id -> row (any
    object with name, parent_id, iteration)."""
    path: list = [row.name]
    while row.parent_id is not None:
        path = [row.iteration, *path]
        row = rows_by_id[row.parent_id]
        path = [row.name, *path]
    return path
