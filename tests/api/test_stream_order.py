"""The event stream across processes: a worker's events may arrive (through Redis) after
the console's own later ones, or be missed while the link was down; none is lost or sent
twice."""

import asyncio
import json

import pytest

from engine.bus import events
from engine.service.jobs import create_job
from engine.service.runbooks import add_runbook
from engine.store.db import session_scope
from pages.api.events import _stream

RUNBOOK = ("version: 1\nname: streamed\ntitle: Streamed\nsteps:\n"
           "  - {action: goto, url: 'https://example.com/'}\n")


def record(job_id: int, kind: str, **data) -> events.Event:
    with session_scope() as session:
        return events.record(session, kind, job_id, **data)


async def next_ids(stream, count: int) -> list[int]:
    return [int((await asyncio.wait_for(anext(stream), 5))["id"]) for _ in range(count)]


@pytest.mark.asyncio
async def test_a_late_lower_id_is_sent_and_a_resync_fills_the_gap(runtime):
    add_runbook(RUNBOOK)
    job = create_job("streamed")
    so_far = [e.id for e in events.recorded_after(job.id)]  # its "queued"
    stream = _stream(job.id, 0)
    assert await next_ids(stream, len(so_far)) == so_far

    worker_step = record(job.id, events.STEP_STARTED, name="open")  # still "in Redis"
    console_action = record(job.id, events.CONTROL, action="pause", by="ada")
    bus = events.get_bus()
    bus.publish(console_action)  # the console's own event comes first
    bus.publish(worker_step)  # the worker's, with the lower id, after it
    bus.publish(console_action)  # and nothing twice
    missed = record(job.id, events.STEP_FINISHED, name="open", status="success")
    bus.publish(events.Event(events.RESYNC, 0))  # the link was down: `missed` never came
    finished = record(job.id, events.JOB_FINISHED, status="completed")
    bus.publish(finished)
    sent = [message async for message in stream]
    assert [int(m["id"]) for m in sent] == [console_action.id, worker_step.id, missed.id,
                                            finished.id]
    assert json.loads(sent[2]["data"])["name"] == "open"
