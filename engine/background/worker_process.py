"""The console's worker process: jobs run in a child process that the console starts,
watches and stops, so a busy browser never stalls a page or an API call (with the workers
as threads of the console's own interpreter, reads took 2.7 s p50 with 200 jobs queued).

- The child is `main.py worker --supervised` (the one-file build runs itself), started
  with the console's settings in its environment, in a session of its own (a terminal's
  Ctrl+C reaches the console, which stops the child). It logs to the console's stderr,
  each line tagged `[worker <pid>]`.
- Without REDIS_URL the two share events and wake-ups over the child's stdin and stdout
  (engine/bus/process_link.py); with it they share Redis like any other processes, and
  the link only carries the child's hello.
- A child that dies is started again (after 1 s, doubling up to 30 s while it keeps
  dying), and the jobs it held fail as worker_lost at once, not when their lease ends.
- Stopping the console sends the child SIGTERM at once, as the console's own stop begins:
  its running jobs get the shutdown grace, then fail as worker_lost (engine/runtime.py).
  A child whose console is gone (killed too) reads end-of-file on its stdin and stops
  the same way.
"""

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import update
from sqlmodel import col

from engine.bus import events
from engine.bus.linked_bus import LinkedEventBus
from engine.bus.process_link import EVENT, HELLO, ProcessLink
from engine.queue.huey_queue import add_wake_listener
from engine.runner.leases import sweep_lost_jobs
from engine.settings import Settings
from engine.store.db import database_now, session_scope
from models import ACTIVE_STATUSES, Job

log = logging.getLogger(__name__)
MAIN = Path(__file__).resolve().parents[2] / "main.py"
FIRST_RESTART_S, MAX_RESTART_S = 1.0, 30.0
STEADY_S = 60.0  # a child that ran this long died by accident, not at start: restart soon
STOP_MARGIN_S = 20.0  # beyond the grace: the child closes its browser and sends its reports


def worker_command(concurrency: int) -> list[str]:
    """The child's command line: the one-file executable runs itself (sys.frozen)."""
    program = [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, str(MAIN)]
    return [*program, "worker", "--concurrency", str(concurrency), "--supervised"]


def settings_environment(settings: Settings) -> dict[str, str]:
    """This environment, with every setting as `settings` has it (command-line options such
    as --port included), so that the child runs on exactly the console's settings."""
    env = dict(os.environ)
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names = [str(n) for n in getattr(alias, "choices", [])] or [f"JOBDECK_{name.upper()}"]
        for variable in names:
            env.pop(variable, None)
        value = getattr(settings, name)
        if value is not None:
            env[names[0]] = _environment_value(value)
    return env


def _environment_value(value: Any) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Path):
        return str(value.resolve())
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def fail_jobs_of(worker_id: str, data_dir: Path) -> list[int]:
    """Fail the active jobs of a worker that died, now (worker_lost): their leases are
    ended, then swept as the sweeper would once they ran out. Returns their ids."""
    with session_scope() as session:
        session.exec(update(Job).where(col(Job.worker_id) == worker_id,
                                       col(Job.status).in_(ACTIVE_STATUSES))
                     .values(lease_expires_at=database_now() - timedelta(seconds=1)))
    return sweep_lost_jobs(events.get_bus(), data_dir)


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class WorkerProcess:
    """Starts the worker child, starts it again when it dies, and stops it with the console."""

    def __init__(self, settings: Settings, concurrency: int, bus: LinkedEventBus | None):
        self.settings = settings
        self.concurrency = concurrency
        self.bus = bus  # None with REDIS_URL: events go through Redis
        self.child: subprocess.Popen | None = None
        self.worker_id: str | None = None  # the child's, from its hello
        self._link: ProcessLink | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name="jobdeck-worker-process",
                                        daemon=True)
        self._remove_wake = lambda: None

    def start(self) -> None:
        """Start the child and watch it (call from the main thread: it also hooks the
        console's stop signals, so the child's grace begins with the console's)."""
        if self.bus is not None:
            self._remove_wake = add_wake_listener(self.wake)
        self._chain_stop_signals()
        self._thread.start()

    def wake(self) -> None:
        """A job was queued here: the child's idle workers look at the queue now."""
        link = self._link
        if link is not None:
            link.send_wake()

    def begin_stop(self) -> None:
        """No restart from now on; SIGTERM to the child, which stops gracefully. Safe in a
        signal handler."""
        self._stopping.set()
        child = self.child
        if child is not None and child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGTERM)

    def stop(self) -> None:
        """Stop the child: its running jobs get the shutdown grace, then fail as
        worker_lost. A child that does not stop in time is killed (with its browser), and
        its jobs are failed here."""
        self.begin_stop()
        self._remove_wake()
        if self._thread.is_alive():
            self._thread.join(self.settings.shutdown_grace_seconds + STOP_MARGIN_S)
        child = self.child
        if self._thread.is_alive() and child is not None:
            log.warning("the worker process %s did not stop in time: killing it", child.pid)
            with contextlib.suppress(ProcessLookupError):  # its session: Chromium too
                os.killpg(child.pid, signal.SIGKILL)
            self._thread.join(10)

    def _chain_stop_signals(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(signum)
            if not callable(previous):
                continue  # the console's web server installs handlers; none here: no chain

            def handler(number, frame, previous=previous):
                self.begin_stop()
                previous(number, frame)

            try:
                signal.signal(signum, handler)
            except ValueError:  # not the main thread (a test): stop() still stops the child
                return

    def _supervise(self) -> None:
        delay = FIRST_RESTART_S
        while not self._stopping.is_set():
            began = time.monotonic()
            try:
                self._run_child()
            except Exception:
                log.exception("the worker process could not be run")
            if self._stopping.is_set():
                return
            delay = FIRST_RESTART_S if time.monotonic() - began > STEADY_S else delay
            log.warning("starting the worker process again in %.0f s", delay)
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, MAX_RESTART_S)

    def _run_child(self) -> None:
        """One child, from its start to its end (and its jobs failed if it died)."""
        to_child, from_child = os.pipe(), os.pipe()
        try:
            child = subprocess.Popen(worker_command(self.concurrency), stdin=to_child[0],
                                     stdout=from_child[1], env=settings_environment(self.settings),
                                     start_new_session=True)
        except OSError:
            os.close(to_child[1])
            os.close(from_child[0])
            raise
        finally:
            os.close(to_child[0])
            os.close(from_child[1])
        link = ProcessLink.from_fds(from_child[0], to_child[1])
        self.child, self.worker_id, self._link = child, None, link
        if self._stopping.is_set():  # the console began stopping while this one started
            self.begin_stop()
        if self.bus is not None:
            self.bus.link = link
        try:
            for kind, message in link.receive():  # until the child's end closes
                if kind == EVENT and self.bus is not None:
                    self.bus.deliver(message)
                elif kind == HELLO:
                    self.worker_id = message.get("worker_id")
                    log.info("worker process %s runs up to %d job(s) at once (worker %s)",
                             message.get("pid"), self.concurrency, self.worker_id)
        finally:
            self._link = None
            if self.bus is not None:
                self.bus.link = None
            link.close(0)  # a child that outlives its end (a launcher killed) reads EOF
        try:
            code = child.wait(self.settings.shutdown_grace_seconds + STOP_MARGIN_S)
        except subprocess.TimeoutExpired:  # it closed its end but does not exit
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            code = child.wait()
        self._ended(child.pid, code)

    def _ended(self, pid: int, code: int) -> None:
        stopping = self._stopping.is_set()
        lost = fail_jobs_of(self.worker_id, self.settings.data_dir) if self.worker_id else []
        if self.bus is not None:  # its last events may not have crossed: pages re-read
            self.bus.deliver(events.Event(events.RESYNC, 0))
        if stopping and code in (0, -signal.SIGTERM) and not lost:
            log.info("the worker process %s stopped", pid)
            return
        jobs = f"; job(s) {', '.join(map(str, lost))} failed as worker_lost" if lost else ""
        log.error("the worker process %s %s%s", pid, describe_exit(code), jobs)
