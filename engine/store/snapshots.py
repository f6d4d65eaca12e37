"""A job's browser-state snapshots, kept for Retry from step N (docs/recovery.md).

After each successful step of a runbook with `settings.resume: true` the runner writes
one snapshot: the browser's storage state (Playwright's `BrowserContext.storage_state()`:
cookies and local storage), the open tabs' URLs, the captured values and loop bindings
(never params or secrets), the collections, and where the job stood. Each is compressed
and encrypted (Fernet, with a key made once per installation) into
`artifacts/<job id>/snapshots/<seq>-<rows>.snap`, so it goes with the job's artifacts.

A snapshot holds what changed since the job's previous one, so that its size does not
grow with the job: per collection the records from index `from` on (`{name: {"from": n,
"records": [...]}}`: records are appended, so `from` is the length the previous snapshot
saw; 0 when the list was replaced), and the local storage of the origins whose storage
changed (an emptied one as []). A job's first snapshot is a whole one (`"whole": true`).
`read_state` replays snapshots 1..k into the whole state.

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
import weakref
import zlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Engine

from engine.store.db import get_engine
from engine.store.instance_secrets import instance_secret

FORMAT = 2
KEYS = ("rows", "after_ordinal", "step", "path", "url", "tabs", "current",
        "storage_state", "values", "collections")  # what every snapshot has
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


# by database engine (a test's, a process's): read once, not once per step
_keys: weakref.WeakKeyDictionary[Engine, Fernet] = weakref.WeakKeyDictionary()


def _fernet() -> Fernet:
    """The installation's snapshot key (a Fernet key derived from an instance secret)."""
    engine = get_engine()
    if engine not in _keys:
        key = hashlib.sha256(instance_secret("snapshot_key").encode()).digest()
        _keys[engine] = Fernet(base64.urlsafe_b64encode(key))
    return _keys[engine]


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
    """One snapshot as written by write_snapshot (what changed since the previous one:
    see read_state); SnapshotUnreadable when it cannot be read or lacks a part."""
    try:
        data = json.loads(zlib.decompress(_fernet().decrypt(info.path.read_bytes())))
    except (OSError, InvalidToken, zlib.error, ValueError) as exc:
        raise SnapshotUnreadable(f"snapshot {info.path.name} cannot be read: "
                                 f"{type(exc).__name__}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SnapshotUnreadable(f"snapshot {info.path.name} has an unknown format")
    if missing := [k for k in KEYS if k not in data]:
        raise SnapshotUnreadable(f"snapshot {info.path.name} lacks {', '.join(missing)}")
    return data


def read_state(snapshots: list[SnapshotInfo], upto: int) -> dict:
    """The whole state as of snapshot `upto` (its seq): snapshots 1..upto of one job
    (`snapshots`: list_snapshots' answer) replayed, `collections` as {name: [records]} and
    `storage_state` in Playwright's form. SnapshotUnreadable when one of them is missing
    (the job's artifacts were deleted), cannot be read, or lacks a part."""
    by_seq = {s.seq: s for s in snapshots}
    collections: dict[str, list] = {}
    origins: dict[str, list] = {}
    data: dict = {}
    for seq in range(1, upto + 1):
        if seq not in by_seq:
            raise SnapshotUnreadable(f"snapshot {seq} is gone (the job's artifacts were "
                                     "deleted)")
        data = read_snapshot(by_seq[seq])
        if data.get("whole"):  # a retried job's first state, or one restored from its old job
            collections, origins = {}, {}
        try:
            for name, added in data["collections"].items():
                collections[name] = collections.get(name, [])[:added["from"]] + added[
                    "records"]
            for origin in data["storage_state"]["origins"]:
                origins[origin["origin"]] = origin["localStorage"]
        except (KeyError, TypeError, AttributeError) as exc:
            raise SnapshotUnreadable(f"snapshot {by_seq[seq].path.name} lacks a part "
                                     f"({exc!r})") from None
    return {**data, "collections": collections, "storage_state": {
        "cookies": data["storage_state"]["cookies"],
        "origins": [{"origin": o, "localStorage": pairs}
                    for o, pairs in origins.items() if pairs]}}


def ancestry(rows_by_id: dict, row) -> list:
    """The rows a step row is nested in, outermost first (rows_by_id maps id -> row: any
    object with parent_id; [] for a top-level row)."""
    found: list = []
    while row.parent_id is not None:
        row = rows_by_id[row.parent_id]
        found.insert(0, row)
    return found


def row_path(rows_by_id: dict, row) -> list:
    """A step row's path (see above) from its parents: rows_by_id maps id -> row (any
    object with name, parent_id, iteration)."""
    chain = [*ancestry(rows_by_id, row), row]
    path: list = [chain[0].name]
    for inner in chain[1:]:
        path += [inner.iteration, inner.name]
    return path
