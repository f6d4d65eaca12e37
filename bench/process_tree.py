"""A process and all its live descendants: their anonymous memory and their CPU time, by
kind of process (Python, Playwright's driver, Chromium's browser, renderer, other).

Two ways of counting that look right and are not, which is why this module exists:
- PSS moves when other processes map the same binaries (another bench's Chromium, a test
  run's): memory is counted here as `Anonymous:` from /proc/<pid>/smaps_rollup, which only
  this tree's own allocations change.
- cutime/rusage misses most of Chromium's helpers (a child's time reaches its parent's
  cutime only when that parent reaps it, and a process still alive is in nobody's cutime):
  CPU is utime + stime from /proc/<pid>/stat of every process of the tree, sampled every
  50-100 ms, keeping the last value of each process that exits.
"""

import os
import threading
import time
from pathlib import Path

KINDS = ("python", "driver", "browser", "renderer", "other")
TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, int, int] | None:
    """(ppid, start time, utime + stime in ticks) of a process, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[19]), int(fields[11]) + int(fields[12])


def descendants(root: int | None = None) -> list[int]:
    """`root` (default: this process) and all its live descendants."""
    root = os.getpid() if root is None else root
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None:
                children.setdefault(stat[0], []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def kind(pid: int, root: int) -> str | None:
    """Which kind of process `pid` is (None: gone). Chromium rewrites its helpers' command
    lines into one string, so the flags are looked for in the whole line."""
    if pid == root:
        return "python"
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return None
    if not cmd.split():  # a zombie
        return None
    program = Path(cmd.split()[0].decode(errors="replace")).name
    if program == "node":
        return "driver"
    if b"chrom" not in cmd:
        return "other"  # e.g. the shell of a wrapper script
    return ("renderer" if b"--type=renderer" in cmd else "other" if b"--type=" in cmd
            else "browser")


def anon_mb(pids: list[int]) -> float:
    """Anonymous memory of these processes, MB."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Anonymous:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def anon_by_kind(root: int | None = None) -> dict[str, float]:
    """Anonymous memory (MB) of the tree under `root` (default: this process) by kind."""
    root = os.getpid() if root is None else root
    kinds = dict.fromkeys(KINDS, 0.0)
    for pid in descendants(root):
        which = kind(pid, root)
        if which is not None:
            kinds[which] += anon_mb([pid])
    return kinds


class CpuSampler:
    """CPU seconds of a process tree by kind, from a thread that samples every `interval`.

    Every process ever seen in the tree stays counted with its last value after it exits
    (or is reparented to init). `totals()` samples once more and returns the seconds each
    kind used since the sampler started; subtract two of them for a window.
    """

    def __init__(self, root: int | None = None, interval: float = 0.05):
        self.root = os.getpid() if root is None else root
        self.interval = interval
        self._lock = threading.Lock()
        self._ours: dict[int, tuple[int, str, int, int]] = {}  # pid: start, kind, base, last
        self._young: dict[int, float] = {}  # pid: when first seen (its kind is read again)
        self._seen: set[int] = set()  # every pid looked at once (ours or not)
        self._started = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)

    def start(self) -> "CpuSampler":
        self.sample()
        self._started = True
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        with self._lock:
            new: dict[int, tuple[int, int, int]] = {}
            for entry in os.listdir("/proc"):
                if entry.isdigit() and int(entry) not in self._seen:
                    stat = _stat(int(entry))
                    if stat is not None:
                        new[int(entry)] = stat
            self._seen.update(new)
            # a new process is ours when its parent is (parents may be new themselves)
            grew = True
            while grew:
                grew = False
                for pid, (ppid, start, ticks) in list(new.items()):
                    if pid == self.root or ppid in self._ours:
                        which = kind(pid, self.root) or "other"
                        base = ticks if not self._started else 0  # born in the window
                        self._ours[pid] = (start, which, base, ticks)
                        self._young[pid] = time.monotonic()
                        del new[pid]
                        grew = True
            now = time.monotonic()
            for pid, (start, which, base, last) in list(self._ours.items()):
                stat = _stat(pid)
                if stat is None or stat[1] != start:
                    self._young.pop(pid, None)
                    continue
                if pid in self._young:  # just forked: it may not have its own name yet
                    which = kind(pid, self.root) or which
                    if now - self._young[pid] > 1.0:
                        del self._young[pid]
                self._ours[pid] = (start, which, base, stat[2])

    def totals(self) -> dict[str, float]:
        """CPU seconds by kind (and "total") since the sampler started, sampled now."""
        self.sample()
        with self._lock:
            kinds = dict.fromkeys(KINDS, 0.0)
            for _start, which, base, last in self._ours.values():
                kinds[which] += (last - base) / TICK
        kinds["total"] = sum(kinds.values())
        return kinds


def minus(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before.get(k, 0.0) for k in after}


def wait_quiet(sampler: CpuSampler, below: float = 0.05, step: float = 0.5,
               longest: float = 5.0) -> None:
    """Until the tree uses less than `below` of a core over `step` s (or `longest` s)."""
    deadline = time.monotonic() + longest
    before = sampler.totals()["total"]
    while time.monotonic() < deadline:
        time.sleep(step)
        now = sampler.totals()["total"]
        if now - before < below * step:
            return
        before = now
