"""The data directory's disk: a full disk becomes one StorageFull wherever Jobdeck writes,
and a small reserve file keeps room to record a job's end when its files filled the disk."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.errors import StorageFull, is_storage_full
from engine.settings import current_settings

log = logging.getLogger(__name__)

RESERVE_NAME = ".disk-reserve"
RESERVE_BYTES = 2 * 2**20  # a job's last rows (steps skipped, its end) fit in 2 MiB of WAL


@contextmanager
def storage_guard(data_dir: Path | None = None) -> Iterator[None]:
    """Writes in this block that find the disk full raise StorageFull (naming `data_dir`,
    by default the settings' one) instead of an OSError or SQLite's "disk is full"."""
    try:
        yield
    except Exception as exc:
        if not is_storage_full(exc):
            raise
        raise StorageFull(data_dir or current_settings().data_dir) from exc


def keep_reserve(data_dir: Path) -> None:
    """Make the reserve file unless it is there; without room for it, try again next time."""
    path = data_dir / RESERVE_NAME
    if path.exists():
        return
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            out.write(b"\0" * RESERVE_BYTES)  # written, not sparse: the blocks are taken
    except OSError as exc:  # never keeps a job from running: the reserve is a courtesy
        path.unlink(missing_ok=True)
        if not is_storage_full(exc):
            log.warning("cannot make the disk reserve %s: %s", path, exc)


def release_reserve(data_dir: Path) -> bool:
    """Delete the reserve so that a job's end can still be recorded on a full disk; True
    when it freed space. It is made again before a later job, once there is room."""
    path = data_dir / RESERVE_NAME
    if not path.exists():
        return False
    path.unlink(missing_ok=True)
    log.warning("the data directory %s is full: its reserve of %d MiB was released to record "
                "the jobs' ends", data_dir.resolve(), RESERVE_BYTES // 2**20)
    return True
