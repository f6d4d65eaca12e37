"""Take control: how a takeover ends when it is not simply handed back (a refused hand
back, a Resume or Cancel by someone else, a lapse taken over, inputs arriving late). Real
Chromium, the demo site, a real SQLite file; the helpers are test_take_control.py's."""

import queue
import threading
import time

import pytest
from support import eventually, step
from test_take_control import (
    HANDOVER,
    PAUSABLE,
    RUNBOOK,
    TYPED,
    _job_in,
    _running_step,
    job_named,
    measure_name_field,
    start,
)

from engine.bus import events
from engine.errors import ActionRefused
from engine.service import take_control as tc
from engine.service.job_actions import act, audit_trail
from engine.service.jobs import get_job
from engine.service.runbooks import add_runbook
from engine.store.db import session_scope
from models import Job, JobStatus, Role, StepStatus

S = JobStatus


def test_hand_back_refused_keeps_control(runtime):
    """A hand back that cannot resume or approve changes nothing: the holder keeps
    control (it is cleared and the approve requested in one compare-and-set)."""
    add_runbook(RUNBOOK)
    job_id = _job_in(S.running, S.waiting_for_approval, started_by="ann")
    tc.take_control(job_id, by="bob", role=Role.approver)
    act(job_id, "cancel", by="carl")  # no worker runs it: the cancel stays pending
    with pytest.raises(ActionRefused, match="pending cancel"):
        tc.hand_back(job_id, by="bob")
    job = get_job(job_id).job
    assert (job.control_holder, job.requested_action) == ("bob", "cancel")
    assert "handed_back" not in [a.action for a in audit_trail(job_id)]


def test_a_resume_or_cancel_by_someone_else_ends_control(run_runbook):
    """A plain Resume (Cancel) by someone else while a person holds control ends the
    takeover: control is off the job's row, the audit log says control_ended, the row
    says how it ended. A Resume when no one took control says so on the step."""
    text = PAUSABLE.replace("NAME", "taken-from")
    thread, result = start(run_runbook, text)
    job_id = eventually(lambda: _running_step("slow"), 30, "the slow step")
    act(job_id, "pause", by="ann")
    job_named("taken-from", S.paused)
    tc.take_control(job_id, by="ann", role=Role.operator)
    tc.send_input(job_id, {"type": "wheel", "x": 0.5, "y": 0.5, "dx": 0, "dy": 100}, by="ann")
    act(job_id, "resume", by="bob")
    thread.join(60)
    detail = result["detail"]
    assert detail.job.status == S.completed, detail.job.error_message
    assert detail.job.control_holder is None
    assert step(detail, "taken over by ann").description.endswith(
        "1 input; the job was resumed by bob")
    ended = [a for a in audit_trail(job_id) if a.action == "control_ended"]
    assert [(a.actor, a.comment) for a in ended] == [
        ("ann", "the job was resumed by bob; 1 input")]

    text = HANDOVER.replace("NAME", "cancelled-from").replace("TIMEOUT", "60") \
        .replace("EXPECTED", "x")
    thread, result = start(run_runbook, text)
    job_id = job_named("cancelled-from", S.paused)
    tc.take_control(job_id, by="ann", role=Role.operator)
    act(job_id, "cancel", by="carl")
    thread.join(60)
    detail = result["detail"]
    assert detail.job.status == S.cancelled
    assert detail.job.control_holder is None
    assert step(detail, "code").status == StepStatus.cancelled
    assert step(detail, "taken over by ann").description.endswith(
        "0 inputs; the job was cancelled by carl")
    assert [(a.actor, a.action) for a in audit_trail(job_id)][-2:] == [
        ("carl", "cancel"), ("ann", "control_ended")]

    text = HANDOVER.replace("NAME", "just-resumed").replace("TIMEOUT", "60") \
        .replace("EXPECTED", "")
    thread, result = start(run_runbook, text.replace(
        '  - {name: check, action: assert, selector: "#result dd:first-of-type", '
        'equals: ""}\n', ""))
    job_id = job_named("just-resumed", S.paused)
    act(job_id, "resume", by="bob")
    thread.join(60)
    detail = result["detail"]
    assert detail.job.status == S.completed, detail.job.error_message
    assert step(detail, "code").description == "resumed by bob without taking control"


class LateBus:
    """The process's bus, with ann's inputs and hand back (and the resume it asks for)
    delivered late, as Redis may deliver them after the worker read the resume on the
    job's row (its poll)."""

    def __init__(self, bus, seconds: float):
        self.bus, self.seconds = bus, seconds
        # one thread delivers them, in the order sent, as Redis does (a timer per event
        # could deliver the text before the click that focuses its field)
        self.late: queue.Queue = queue.Queue()
        threading.Thread(target=self._deliver, daemon=True).start()

    def publish(self, event: events.Event) -> None:
        late = event.kind == events.CONTROL_INPUT or (
            event.kind == events.CONTROL and event.data.get("by") == "ann"
            and event.data.get("action") != "take_control")
        if late:
            self.late.put((time.monotonic() + self.seconds, event))
        else:
            self.bus.publish(event)

    def _deliver(self) -> None:
        while True:
            due, event = self.late.get()
            time.sleep(max(0.0, due - time.monotonic()))
            self.bus.publish(event)

    def subscribe(self, callback):
        return self.bus.subscribe(callback)


def test_inputs_arriving_after_the_hand_back_still_reach_the_page(run_runbook, site,
                                                                   monkeypatch):
    """The hand back carries how many inputs were sent; the worker waits for them before
    the job goes on, so the last keys typed are not lost."""
    x, y = measure_name_field(site)  # first: the job will hold the tests' browser thread
    monkeypatch.setattr(events, "_bus", LateBus(events.get_bus(), 2.0))
    text = HANDOVER.replace("NAME", "late-keys").replace("TIMEOUT", "60") \
        .replace("EXPECTED", TYPED)
    thread, result = start(run_runbook, text)
    job_id = job_named("late-keys", S.paused)
    tc.take_control(job_id, by="ann", role=Role.operator)
    tc.send_input(job_id, {"type": "click", "x": x, "y": y}, by="ann")
    tc.send_input(job_id, {"type": "text", "text": TYPED}, by="ann")
    tc.send_input(job_id, {"type": "key", "key": "Enter"}, by="ann")
    tc.hand_back(job_id, by="ann")  # the worker finds the resume on the row within 1 s
    thread.join(60)
    detail = result["detail"]
    assert detail.job.status == S.completed, detail.job.error_message
    assert step(detail, "check").status == StepStatus.success
    assert step(detail, "taken over by ann").description.endswith("3 inputs; handed back")


def test_a_lapsed_holder_is_replaced_and_audited(runtime):
    add_runbook(RUNBOOK)
    job_id = _job_in(S.running, S.paused)
    tc.take_control(job_id, by="bob", role=Role.operator)
    with session_scope() as session:  # bob's last input was long ago
        job = session.get(Job, job_id)
        job.control_seen_at = job.control_since = job.control_seen_at.replace(year=2020)
        session.add(job)
    job = tc.take_control(job_id, by="carl", role=Role.operator)
    assert job.control_holder == "carl"
    assert [(a.actor, a.action, a.comment) for a in audit_trail(job_id)] == [
        ("bob", "took_control", None),
        ("bob", "control_lapsed", "no input for 60 s; carl took control"),
        ("carl", "took_control", None)]
    with pytest.raises(ActionRefused, match="carl holds control"):
        tc.hand_back(job_id, by="bob")
