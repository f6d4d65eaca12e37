"""`GET /api/jobs/{id}/events`: a job's events as Server-Sent Events.

Recorded events carry their id: a client that reconnects with `Last-Event-ID` first gets
every recorded event after that id from the database, then the live ones, with no gap and
no duplicate. Live screenshot frames have no id (they are not recorded). The stream ends
after the job's final report (`job_finished`).

An open stream of a job that has not finished counts as a viewer of its live view: it
publishes `viewing` every VIEWING_EVERY_S, so the job's worker streams frames (and stops
within VIEWING_TTL_S of the client going away). Viewers' `viewing` events are not sent.
"""

import asyncio
import base64
import json
import time
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Path, Query
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from engine.bus import events
from engine.errors import NotFound
from engine.service import jobs
from models import ErrorDetail, JobStatus
from pages.api.access import UNSIGNED
from pages.api.limits import MAX_INT

router = APIRouter(prefix="/api", tags=["api"], responses=UNSIGNED)
MAX_QUEUED_FRAMES = 20  # a slow client drops frames, never recorded events
FINAL_GRACE_S = 5.0  # a finished job's report follows its last status at once


def _json(data: dict) -> str:
    def encode(value):
        if isinstance(value, bytes):
            return base64.b64encode(value).decode()
        raise TypeError(f"cannot encode {type(value).__name__}")

    return json.dumps(data, default=encode, ensure_ascii=False)


def _message(event: events.Event) -> dict:
    message = {"event": event.kind, "data": _json({"job_id": event.job_id, **event.data})}
    if event.id is not None:
        message["id"] = str(event.id)
    return message


@router.get("/jobs/{job_id}/events", summary="The job's events as Server-Sent Events",
            response_class=EventSourceResponse, responses={
                200: {"description": "`event:` the kind, `data:` JSON with `job_id`; `id:` "
                      "on recorded events (send it back as `Last-Event-ID`)",
                      "content": {"text/event-stream": {"schema": {
                          "type": "object", "required": ["event", "data"], "properties": {
                              "event": {"type": "string"}, "data": {"type": "string"},
                              "id": {"type": "string"}}}}}},
                404: {"model": ErrorDetail, "description": "No such job"}})
async def job_events(
        job_id: Annotated[int, Path(ge=1, le=MAX_INT, description="the job's id")],
        after: Annotated[int, Query(ge=0, le=MAX_INT, description="send the recorded events "
                                    "after this event id (as Last-Event-ID does)")] = 0,
        last_event_id: Annotated[str | None, Header(
            description="the id of the last event received: the stream goes on after it")
        ] = None) -> EventSourceResponse:
    if await run_in_threadpool(jobs.get_job, job_id) is None:
        raise NotFound(f"there is no job {job_id}")
    if last_event_id:  # empty: none, as before
        if not (last_event_id.isascii() and last_event_id.isdigit()
                and int(last_event_id) <= MAX_INT):
            raise HTTPException(422, "Last-Event-ID must be an event id from this stream")
        after = int(last_event_id)
    return EventSourceResponse(_stream(job_id, after), ping=15)


async def _stream(job_id: int, after: int):
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[events.Event] = asyncio.Queue()

    def enqueue(event: events.Event) -> None:
        if event.kind == events.SCREENSHOT and queue.qsize() >= MAX_QUEUED_FRAMES:
            return
        queue.put_nowait(event)

    def wanted(event: events.Event) -> bool:
        # what a holder types (control_input) is for the worker only, never for a stream
        return (event.job_id == job_id and event.kind not in (events.VIEWING,
                                                              events.CONTROL_INPUT)
                or event.kind == events.RESYNC)

    # Subscribe before reading the record, so nothing falls between the two.
    bus = events.get_bus()
    unsubscribe = bus.subscribe(
        lambda e: loop.call_soon_threadsafe(enqueue, e) if wanted(e) else None)
    try:
        # Ids of the events sent, not only the highest: across processes a lower id can
        # arrive after a higher one (the console's own events come at once, a worker's
        # through Redis), and must still be sent.
        sent: set[int] = set()
        batch = await run_in_threadpool(events.recorded_after, job_id, after)  # the record
        ended = caught_up = False
        next_viewing = 0.0  # time.monotonic() when this viewer says it looks again
        while True:
            for event in batch:
                if event.id is not None:
                    if event.id in sent:
                        continue
                    sent.add(event.id)
                if event.kind == events.JOB_STATUS:
                    ended = JobStatus(event.data["status"]).is_final
                yield _message(event)
                if event.kind == events.JOB_FINISHED:
                    return
            if not caught_up:  # once, after the record: then the status events say it
                caught_up = True
                detail = await run_in_threadpool(jobs.get_job, job_id)
                ended = detail is not None and detail.job.status.is_final
            if not ended and time.monotonic() >= next_viewing:
                bus.publish(events.Event(events.VIEWING, job_id))
                next_viewing = time.monotonic() + events.VIEWING_EVERY_S
            try:
                event = await asyncio.wait_for(queue.get(), FINAL_GRACE_S if ended else
                                               max(0.0, next_viewing - time.monotonic()))
            except asyncio.TimeoutError:
                if ended:
                    return  # finished long ago and its report was already sent
                batch = []  # time to say it again
                continue
            # RESYNC: other processes' events may have been missed; the record has them
            batch = (await run_in_threadpool(events.recorded_after, job_id, after)
                     if event.kind == events.RESYNC else [event])
    finally:
        unsubscribe()
