"""The Redis queue. Whoever can write to it cannot make a worker run code: messages are
signed JSON job ids, and a pickle (Huey's default format) is refused before it is
unpickled. A job queued while Redis is away is kept and sent when it is back."""

import pickle

import pytest
from huey.registry import Message
from services import REDIS

from engine.queue.huey_queue import (
    enqueue_job,
    get_huey,
    init_queue,
    requeue_stranded,
    waiting_job_ids,
)
from engine.queue.messages import RefusedMessage
from engine.service.jobs import get_job, start_job
from engine.service.runbooks import add_runbook
from engine.store.schema import init_db
from models import JobStatus

ran: list[int] = []


class Trap:
    """Unpickling this would create a file: the proof that a pickle was executed."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


@pytest.fixture
def queue(settings, redis_prefix):
    settings.redis_url, settings.redis_prefix = REDIS, redis_prefix
    init_db(settings.db_url)
    huey = init_queue(settings, ran.append)
    yield huey
    huey.storage.flush_queue()


def test_a_signed_job_id_goes_through(queue):
    enqueue_job(41)
    task = get_huey().dequeue()
    assert task.args == (41,)
    get_huey().execute(task)
    assert ran[-1] == 41


def test_a_pickle_on_the_queue_is_refused_unopened(queue, tmp_path):
    trap = tmp_path / "pickle-ran"
    queue.storage.enqueue(pickle.dumps(Trap(trap)))
    with pytest.raises(RefusedMessage):
        queue.dequeue()
    assert not trap.exists()


def test_a_message_signed_with_another_key_is_refused(queue):
    enqueue_job(7)
    raw = queue.storage.dequeue()
    signature, _, body = raw.partition(b".")
    queue.storage.enqueue(b"0" * len(signature) + b"." + body)
    queue.storage.enqueue(signature + b"." + body.replace(b'"job_id": 7', b'"job_id": 8'))
    for _ in range(2):
        with pytest.raises(RefusedMessage):
            queue.dequeue()


def test_the_queue_carries_nothing_but_job_ids(queue):
    message = Message("x", "engine.runtime.run_job", None, 0, 0, None, ("rm -rf /",), {})
    with pytest.raises(TypeError, match="only job ids"):
        queue.serializer.serialize(message)


def test_a_job_queued_while_redis_is_away_is_kept_and_sent_later(settings, redis_prefix):
    settings.redis_url, settings.redis_prefix = "redis://127.0.0.1:1/0", redis_prefix  # away
    init_db(settings.db_url)
    init_queue(settings, ran.append)
    add_runbook("version: 1\nname: kept\ntitle: Kept\nsteps:\n"
                "  - {action: goto, url: 'https://example.com/'}\n")
    job = start_job("kept")  # no error for the person who pressed Run
    assert get_job(job.id).job.status == JobStatus.queued

    settings.redis_url = REDIS  # Redis is back
    huey = init_queue(settings, ran.append)
    try:
        assert requeue_stranded(older_than_s=0) == [job.id]
        assert waiting_job_ids() == {job.id}
        assert requeue_stranded(older_than_s=0) == []  # already waiting: not sent twice
        assert requeue_stranded(older_than_s=60) == []  # and never a job queued just now
    finally:
        huey.storage.flush_queue()
