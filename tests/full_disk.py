"""A small disk of a test's own to fill: a 20 MB tmpfs (root only; skipped with the reason
where mounting is not allowed), unmounted afterwards; and a big file that fills it."""

import errno
import os
import subprocess
from pathlib import Path

import pytest

from engine.settings import Settings


@pytest.fixture
def disk(tmp_path):
    """A 20 MB tmpfs mounted at tmp_path/disk for this test."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root: run as root to test a full disk")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not allowed here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def settings(disk, site_port) -> Settings:
    """As conftest's, with the data directory on the small tmpfs."""
    return Settings(data_dir=disk / "data", allow_private_hosts=f"127.0.0.1:{site_port}",
                    workers=1, lease_seconds=30, sweep_interval_seconds=3600,
                    database_url=None, redis_url=None)


def fill(directory: Path) -> Path:
    """Fill the disk of `directory` with one big file, to the last block; returns it."""
    filler = directory / "filler.bin"
    with filler.open("wb", buffering=0) as out:
        for chunk in (2**20, 4096, 512):
            try:
                while True:
                    out.write(b"\0" * chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    return filler
