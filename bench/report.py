"""The figures every benchmark reports, and the one table in docs/benchmarks.md they go into.

Each script builds a list of Figure and calls publish(): it prints the script's rows, and
(unless --quick) replaces that script's rows in the table, keeping the other scripts' rows,
and rewrites the table's header with this machine's facts.
"""

import importlib.metadata
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:begin (rewritten by make bench) -->", "<!-- bench:end -->"
# The table's row order: the order `make bench` runs the scripts in.
SCRIPTS = ("engine_overhead", "browser_cost", "network_guard", "console_live", "take_control",
           "job_actions", "job_list_scale", "schedule_lateness", "throughput_memory",
           "scale_out", "vs_prefect", "access_cost", "console_under_load", "visual_compare",
           "runbook_page_scale")
COLUMNS = ("Figure", "Target", "Median", "Min–max", "Ratio", "Verdict", "Script, run at")


@dataclass
class Figure:
    """One row: what was measured, its median (with unit) and spread, and how it compares."""
    name: str
    median: str
    spread: str = ""   # "min–max", with unit
    target: str = ""
    ratio: str = ""    # where it compares two things, e.g. "0.81 engine / raw"
    met: bool | None = None  # None: reported, no target to meet

    @property
    def verdict(self) -> str:
        return {True: "meets", False: "**misses**", None: "—"}[self.met]


def timed_ms(function, repeat: int) -> list[float]:
    """Milliseconds of each of `repeat` calls of `function`."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        times.append((time.perf_counter() - began) * 1000)
    return times


def spread(values, fmt: str = "{:.1f}", unit: str = " ms") -> str:
    return f"{fmt.format(min(values))}–{fmt.format(max(values))}{unit}"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def chromium_version() -> str:
    sys.path.insert(0, str(ROOT))
    from engine.runner.browser import BrowserNotFound, find_browser
    try:
        path = find_browser(os.environ.get("JOBDECK_BROWSER_PATH"))
    except BrowserNotFound:
        return "no Chromium"
    if path is None:
        return "Playwright's bundled Chromium"
    out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    return " ".join(out.stdout.split()[:2]) or path


def machine() -> str:
    """The header line: what the figures were measured on."""
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{len(os.sched_getaffinity(0))} CPUs ({cpu_model()}), {memory_gib:.0f} GiB; "
            f"{chromium_version()}, Playwright {importlib.metadata.version('playwright')}, "
            f"Python {sys.version.split()[0]}, {platform.system()} {platform.release()}")


def _row(cells) -> str:
    return "| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |"


def _has_table(text: str) -> bool:
    return BEGIN in text and text.find(END) > text.find(BEGIN)


def _table_rows(text: str) -> dict[str, list[str]]:
    """The table's current rows by script (the last cell starts with the script's name)."""
    rows: dict[str, list[str]] = {}
    inside = text[text.find(BEGIN):text.find(END)] if _has_table(text) else ""
    for line in inside.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells and cells[-1].split(",")[0] in SCRIPTS:
            rows.setdefault(cells[-1].split(",")[0], []).append(line)
    return rows


def publish(script: str, command: str, figures: list[Figure], quick: bool = False) -> None:
    """Print the figures; unless quick, put them into docs/benchmarks.md's table."""
    stamp = f"{script}, {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
    lines = [_row(COLUMNS), _row(["---"] * len(COLUMNS))]
    mine = [_row([f.name, f.target, f.median, f.spread, f.ratio, f.verdict, stamp])
            for f in figures]
    print(f"\n`{command}`\n\n" + "\n".join(lines + mine) + "\n", flush=True)
    if quick:
        print("(--quick: figures printed only; docs/benchmarks.md keeps the full run's)")
        return
    old = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    rows = _table_rows(old)
    rows[script] = mine
    body = "\n".join([
        BEGIN, "", f"Measured on {machine()}. Each script's rows carry the time it ran; its "
        "command is listed below the table.", "", *lines,
        *[r for name in SCRIPTS for r in rows.get(name, [])], "", END])
    commands = _commands(old)
    commands[script] = f"- `{command}`"
    body = body.replace(END, "Commands of the last full run:\n\n" + "\n".join(
        commands[name] for name in SCRIPTS if name in commands) + "\n\n" + END)
    if _has_table(old):
        new = old[:old.find(BEGIN)] + body + old[old.find(END) + len(END):]
    else:
        new = old.rstrip("\n") + "\n\n" + body + "\n"
    DOC.write_text(new, encoding="utf-8")
    print(f"written to {DOC}")


def _commands(text: str) -> dict[str, str]:
    inside = text[text.find(BEGIN):text.find(END)] if _has_table(text) else ""
    return {name: line for line in inside.splitlines() for name in SCRIPTS
            if line.startswith(f"- `python bench/{name}.py")}
