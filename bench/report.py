"""Writing a benchmark's section into docs/benchmarks.md, and the facts every run states."""

import os
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on "
            f"{len(os.sched_getaffinity(0))} CPUs, {memory_gib:.0f} GiB, "
            f"Python {sys.version.split()[0]}")


def write_section(section: str, text: str) -> Path:
    """Put the section into docs/benchmarks.md, replacing an earlier run's, keeping others."""
    path = ROOT / "docs" / "benchmarks.md"
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = old.find(section)
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = old.find("\n## ", start + len(section))
        new = old[:start] + text + ("" if end < 0 else "\n" + old[end + 1:])
    path.parent.mkdir(exist_ok=True)
    path.write_text(new, encoding="utf-8")
    return path
