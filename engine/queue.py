"""The Huey queue: it carries only job ids, signed (engine/queue_messages.py).

Out of the box it is a SQLite file: its consumer wakes at once for jobs enqueued in this
process and polls (up to JOBDECK_QUEUE_POLL_SECONDS) for jobs from others. With REDIS_URL
it is a Redis list that idle workers block on, so any process's enqueue starts a job at once.
"""

import threading

from huey import Huey, RedisHuey, SqliteHuey
from huey.consumer import Consumer, Worker

from engine.instance_secrets import instance_secret
from engine.queue_messages import JobMessages
from engine.redis_link import redis_pool
from engine.settings import Settings

_wake = threading.Condition()
_wakes = 0  # counts enqueues, so a wake between an empty dequeue and the wait is not lost
_huey: Huey | None = None
_run_job = None  # the Huey task, bound to the current instance


def wake_workers() -> None:
    global _wakes
    with _wake:
        _wakes += 1
        _wake.notify_all()


class WakeableWorker(Worker):
    """Sleeps on a condition instead of a plain timer, so an enqueue wakes it (~1 ms)."""

    seen_wakes = 0

    def loop(self, now=None):
        self.seen_wakes = _wakes  # before the dequeue: later enqueues will be noticed
        super().loop(now)

    def sleep(self) -> None:
        if self.delay > self.max_delay:
            self.delay = self.max_delay
        with _wake:
            if _wakes == self.seen_wakes:
                _wake.wait(self.delay)
        self.delay *= self.backoff


class WakeableConsumer(Consumer):
    worker_class = WakeableWorker


def init_queue(settings: Settings, run_job) -> Huey:
    """Create the process's queue (needs the database) and register the job task."""
    global _huey, _run_job
    messages = JobMessages(instance_secret("queue_signing_key").encode())
    if settings.redis_url:
        pool = redis_pool(settings.redis_url, settings.redis_prefix)
        _huey = RedisHuey(f"{settings.redis_prefix}-queue", connection_pool=pool,
                          blocking=True, read_timeout=1, results=False, serializer=messages)
    else:
        settings.queue_path.parent.mkdir(parents=True, exist_ok=True)
        _huey = SqliteHuey("jobdeck", filename=str(settings.queue_path), results=False,
                           serializer=messages)
    _run_job = _huey.task(name="run_job")(run_job)
    messages.task_name = _huey._registry.task_to_string(_run_job.task_class)
    return _huey


def get_huey() -> Huey:
    if _huey is None:
        raise RuntimeError("queue not initialised: call engine.queue.init_queue() first")
    return _huey


def enqueue_job(job_id: int) -> None:
    """Put a job id on the queue and wake this process's idle workers."""
    if _run_job is None:
        raise RuntimeError("queue not initialised: call engine.queue.init_queue() first")
    _run_job(job_id)
    wake_workers()


def create_consumer(workers: int, poll_seconds: float) -> WakeableConsumer:
    """A thread consumer; start it with .start() (never .run() outside the main thread)."""
    return WakeableConsumer(get_huey(), workers=workers, worker_type="thread",
                            initial_delay=0.05, backoff=1.5, max_delay=poll_seconds,
                            periodic=False, check_worker_health=True)
