"""A worker process (`main.py worker`): takes jobs from the queue and runs them until it is
told to stop, then stops gracefully (no new job, the running ones get the shutdown grace,
then fail as worker_lost).

Supervised by a console (`--supervised`, engine/background/worker_process.py), it also
talks to the console over its stdin and stdout, and stops when the console is gone.
"""

import logging
import os
import signal
import sys
import threading

from engine.bus import events
from engine.bus.linked_bus import LinkedEventBus
from engine.bus.process_link import EVENT, WAKE, ProcessLink
from engine.queue.huey_queue import wake_workers
from engine.runner.leases import WORKER_ID
from engine.runtime import Runtime
from engine.settings import Settings

log = logging.getLogger("jobdeck")


def serve_worker(settings: Settings, concurrency: int, *, supervised: bool = False) -> None:
    """Run `concurrency` jobs at once until SIGINT or SIGTERM (or, supervised, until the
    console is gone); call from the main thread."""
    stopping = threading.Event()
    link = take_link() if supervised else None
    if link is not None and not settings.redis_url:  # events cross the link, not Redis
        events.set_bus(LinkedEventBus(link=link))
    runtime = Runtime(settings)
    if link is not None:
        link.send_hello(worker_id=WORKER_ID, pid=os.getpid())
        threading.Thread(target=listen, args=(link, stopping), name="jobdeck-link-listen",
                         daemon=True).start()
    else:
        runtime.start_sweeper()  # the console sweeps for its own worker process
    runtime.start_workers(concurrency)
    # Huey's own handlers stop at once on SIGTERM; here both signals stop gracefully: no new
    # job, the running ones get the shutdown grace, then fail as worker_lost.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    log.info("worker with %d job(s) at once; Ctrl+C or SIGTERM stops it", concurrency)
    while not stopping.wait(1.0):
        pass
    runtime.stop()  # closes a linked bus after its last events went out
    if link is not None:
        link.close()


def take_link() -> ProcessLink:
    """The link to the console on this process's stdin and stdout, which then point
    elsewhere (stdin: nothing, stdout: the log), so no stray print can corrupt the link."""
    link = ProcessLink.from_fds(os.dup(0), os.dup(1))
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    return link


def listen(link: ProcessLink, stopping: threading.Event) -> None:
    """The console's events and wake-ups, until its end closes: then stop."""
    for kind, message in link.receive():
        bus = events.get_bus()
        if kind == EVENT and isinstance(bus, LinkedEventBus):
            bus.deliver(message)
        elif kind == WAKE:
            wake_workers()
    if not stopping.is_set():
        log.warning("the console that started this worker process is gone: stopping")
        stopping.set()
