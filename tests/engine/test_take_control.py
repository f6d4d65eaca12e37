"""Take control: a person drives a paused or waiting job's page, and hands back; the
`handover` step asks for it. Real Chromium, the demo site, a real SQLite file."""

import threading

import pytest
from sqlmodel import select
from support import eventually, in_browser_thread, step, viewer_browser

from engine.bus import events
from engine.errors import ActionRefused, Forbidden, InvalidInput
from engine.service import take_control as tc
from engine.service.job_actions import act, audit_trail
from engine.service.jobs import create_job, get_job
from engine.service.runbooks import add_runbook
from engine.store.db import read_scope, session_scope
from engine.store.transitions import transition_job
from models import (
    AuditEvent,
    ErrorKind,
    Job,
    JobEvent,
    JobStatus,
    Role,
    StepRun,
    StepStatus,
)

S = JobStatus
TYPED = "Grace Hopper 1906"  # what the person types: it must reach the page, not the records

HANDOVER = """
version: 1
name: NAME
title: Handover
settings: {base_url: SITE, timeout_ms: 10000, retries: 0, approval_timeout_s: TIMEOUT}
steps:
  - {name: open, action: goto, url: /form}
  - {name: code, action: handover, message: "Type the name and press Enter"}
  - {name: check, action: assert, selector: "#result dd:first-of-type", equals: "EXPECTED"}
"""
PAUSABLE = """
version: 1
name: NAME
title: Pausable
settings: {base_url: SITE, timeout_ms: 10000, retries: 0}
steps:
  - {name: open, action: goto, url: /form}
  - {name: slow, action: goto, url: "/slow?seconds=1"}
  - {name: last, action: goto, url: /form}
"""


@pytest.fixture(scope="module")
def name_field(site) -> tuple[float, float]:
    return measure_name_field(site)


def measure_name_field(site: str) -> tuple[float, float]:
    """The middle of the form's name field, as fractions of the 1280x720 page (the job's
    viewport), measured in the tests' own Chromium on the same page."""
    def measure():
        page = viewer_browser().new_page(viewport={"width": 1280, "height": 720})
        try:
            page.goto(f"{site}/form")
            box = page.locator("#name").bounding_box()
        finally:
            page.close()
        return box
    box = in_browser_thread(measure)
    return (box["x"] + box["width"] / 2) / 1280, (box["y"] + box["height"] / 2) / 720


def start(run_runbook, text: str) -> tuple[threading.Thread, dict]:
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(detail=run_runbook(text)))
    thread.start()
    return thread, result


def job_named(name: str, status: JobStatus) -> int:
    def probe():
        with read_scope() as session:
            row = session.exec(select(Job).where(Job.runbook_name == name)).first()
            return row.id if row is not None and row.status == status else None
    return eventually(probe, 30, f"job {name} {status.value}")


def recorded(job_id: int, kind: str) -> list[dict]:
    return [e.data for e in events.recorded_after(job_id) if e.kind == kind]


def everything_stored(job_id: int) -> str:
    """Every JobEvent, StepRun and audit row of the job, as text."""
    with read_scope() as session:
        rows = [*session.exec(select(JobEvent).where(JobEvent.job_id == job_id)),
                *session.exec(select(StepRun).where(StepRun.job_id == job_id)),
                *session.exec(select(AuditEvent).where(AuditEvent.job_id == job_id))]
        return "\n".join(repr(row.model_dump()) for row in rows)


def test_handover_take_control_type_and_hand_back(run_runbook, name_field):
    text = HANDOVER.replace("NAME", "handover").replace("TIMEOUT", "60") \
        .replace("EXPECTED", TYPED)
    thread, result = start(run_runbook, text)
    job_id = job_named("handover", S.paused)
    [asked] = recorded(job_id, events.HANDOVER_REQUESTED)
    assert asked == {"step": "code", "message": "Type the name and press Enter",
                     "timeout_s": 60}
    assert get_job(job_id).job.current_step == "code"

    job = tc.take_control(job_id, by="ann", role=Role.operator, source="test")
    assert tc.control_state(job)["holder"] == "ann"
    # one at a time: a second person is refused, named who holds it; nothing changes
    with pytest.raises(ActionRefused, match="ann holds control of job"):
        tc.take_control(job_id, by="bob", role=Role.admin)
    with pytest.raises(ActionRefused, match="ann holds control"):
        tc.send_input(job_id, {"type": "text", "text": "x"}, by="bob")
    with pytest.raises(ActionRefused, match="ann holds control"):
        tc.hand_back(job_id, by="bob")
    with pytest.raises(Forbidden, match="viewer"):
        tc.take_control(job_id, by="vic", role=Role.viewer)
    assert tc.control_state(get_job(job_id).job)["holder"] == "ann"

    x, y = name_field
    tc.send_input(job_id, {"type": "click", "x": x, "y": y}, by="ann")
    tc.send_input(job_id, {"type": "text", "text": TYPED}, by="ann")
    tc.send_input(job_id, {"type": "key", "key": "Enter"}, by="ann")
    tc.hand_back(job_id, by="ann")
    thread.join(60)
    detail = result["detail"]
    # the check step asserted the page received exactly the typed text
    assert detail.job.status == S.completed, detail.job.error_message
    assert step(detail, "check").status == StepStatus.success
    row = step(detail, "taken over by ann")
    assert row.status == StepStatus.success
    assert row.description.endswith(" s, 3 inputs; handed back"), row.description
    shots = [a for a in detail.artifacts if a.step_run_id == row.id]
    assert sorted(a.name for a in shots) == ["after taken over by ann",
                                             "before taken over by ann"]
    assert (detail.job.steps_succeeded, detail.job.steps_done) == (3, 3)  # a row, not a step
    assert detail.job.control_holder is None
    trail = [(a.actor, a.action) for a in audit_trail(job_id)]
    assert ("vic", "take_control_refused") in trail  # the viewer's attempt is on record
    assert [t for t in trail if t[1] != "take_control_refused"] == [
        ("ann", "took_control"), ("ann", "handed_back"), ("ann", "resume")]
    assert TYPED not in everything_stored(job_id)  # keys typed are never recorded
    assert TYPED in detail.job.source  # (the runbook's own assertion holds it: a sanity check)


def test_paused_job_refusals_lapse_and_release(run_runbook, monkeypatch):
    thread, result = start(run_runbook, PAUSABLE.replace("NAME", "pausable"))
    job_id = eventually(lambda: _running_step("slow"), 30, "the slow step")
    with pytest.raises(ActionRefused, match="is running: control can be taken only"):
        tc.take_control(job_id, by="ann", role=Role.operator)
    act(job_id, "pause", by="ann")
    job_named("pausable", S.paused)

    monkeypatch.setattr(tc, "TAKE_CONTROL_IDLE_S", 1)
    tc.take_control(job_id, by="ann", role=Role.operator)
    lapsed = eventually(lambda: _row(job_id, "taken over by ann"), 20, "the lapse")
    assert "control lapsed after 1 s without input" in lapsed.description
    assert lapsed.description.startswith(("1 s, 0 inputs", "2 s, 0 inputs"))
    job = get_job(job_id).job
    assert (job.status, job.control_holder) == (S.paused, None)  # the job still waits
    with pytest.raises(ActionRefused, match="no one holds control"):
        tc.send_input(job_id, {"type": "text", "text": "late"}, by="ann")

    monkeypatch.setattr(tc, "TAKE_CONTROL_IDLE_S", 60)
    tc.take_control(job_id, by="bob", role=Role.operator)
    tc.send_input(job_id, {"type": "wheel", "x": 0.5, "y": 0.5, "dx": 0, "dy": 200}, by="bob")
    tc.release_control(job_id, by="bob")
    given_up = eventually(lambda: _row(job_id, "taken over by bob"), 20, "bob's row")
    assert given_up.description.endswith("1 input; control given up, the job still waits")
    assert get_job(job_id).job.status == S.paused
    act(job_id, "resume", by="bob")
    thread.join(60)
    detail = result["detail"]
    assert detail.job.status == S.completed, detail.job.error_message
    actions = [a.action for a in audit_trail(job_id)]
    assert ["pause", "took_control", "control_lapsed", "took_control", "released_control",
            "resume"] == [a for a in actions if a != "take_control_refused"]


def test_handover_times_out(run_runbook):
    text = HANDOVER.replace("NAME", "handover-late").replace("TIMEOUT", "1") \
        .replace("EXPECTED", "x")
    detail = run_runbook(text)
    assert detail.job.status == S.failed
    assert detail.job.error_kind == ErrorKind.handover_timeout.value
    assert step(detail, "code").error_kind == ErrorKind.handover_timeout.value
    assert "approval_timeout_s" in step(detail, "code").error_message
    assert step(detail, "check").status == StepStatus.skipped


def test_hand_back_of_a_waiting_job_approves_it(run_runbook):
    thread, result = start(run_runbook, """
        version: 1
        name: waits-for-bob
        title: Waits
        settings: {base_url: SITE, timeout_ms: 10000, retries: 0, approval_timeout_s: 60}
        steps:
          - {name: open, action: goto, url: /form}
          - {name: send, action: click, selector: "#newsletter", approval: {message: Sure?}}
        """)
    job_id = job_named("waits-for-bob", S.waiting_for_approval)
    tc.take_control(job_id, by="bob", role=Role.approver)
    tc.send_input(job_id, {"type": "click", "x": 0.01, "y": 0.99, "clicks": 2}, by="bob")
    tc.hand_back(job_id, by="bob")
    thread.join(60)
    detail = result["detail"]
    assert detail.job.status == S.completed, detail.job.error_message
    assert step(detail, "send").status == StepStatus.success
    assert step(detail, "taken over by bob").description.endswith("1 input; handed back")
    assert [(a.actor, a.action) for a in audit_trail(job_id)] == [
        ("bob", "took_control"), ("bob", "handed_back"), ("bob", "approve")]


RUNBOOK = "version: 1\nname: held\ntitle: Held\nsteps: [{action: goto, url: 'http://127.0.0.1:9/'}]\n"


def _job_in(*path: JobStatus, started_by: str | None = None) -> int:
    job = create_job("held", started_by=started_by)
    assert job.id is not None
    with session_scope() as session:
        for target in path:
            transition_job(session, job.id, target)
    return job.id


def test_who_may_take_control_of_a_waiting_job(runtime):
    add_runbook(RUNBOOK)
    job_id = _job_in(S.running, S.waiting_for_approval, started_by="ann")
    with pytest.raises(Forbidden, match="needs the approver role"):
        tc.take_control(job_id, by="olga", role=Role.operator)
    with pytest.raises(Forbidden, match="four-eyes"):
        tc.take_control(job_id, by="ann", role=Role.approver)
    refused = [a for a in audit_trail(job_id) if a.action == "take_control_refused"]
    assert [a.actor for a in refused] == ["olga", "ann"]
    assert get_job(job_id).job.control_holder is None  # nothing changed
    job = tc.take_control(job_id, by="bob", role=Role.approver)
    assert (job.control_holder, tc.control_state(job)["lapsed"]) == ("bob", False)
    assert tc.take_control(job_id, by="bob", role=Role.approver).control_since == \
        job.control_since  # taking it again keeps it
    tc.release_control(job_id, by="bob")
    act(job_id, "cancel", by="carl")  # for the worker: pending on the row
    with pytest.raises(ActionRefused, match="pending cancel"):
        tc.take_control(job_id, by="bob", role=Role.approver)


@pytest.mark.parametrize("data,problem", [
    ({"type": "click", "x": 1.5, "y": 0.5}, "x must be a fraction"),
    ({"type": "click", "x": 0.5, "y": 0.5, "button": "side"}, "button must be one of"),
    ({"type": "click", "x": 0.5, "y": 0.5, "clicks": 3}, "clicks must be 1 or 2"),
    ({"type": "wheel", "x": 0.5, "y": 0.5, "dy": "far"}, "dy must be a number"),
    ({"type": "text", "text": "a" * 1001}, "1 to 1000 characters"),
    ({"type": "key", "key": "F5"}, "key must be one of Enter"),
    ({"type": "key", "key": "Enter", "modifiers": ["Hyper"]}, "modifiers must be"),
    ({"type": "paste"}, "type must be one of click"),
])
def test_inputs_of_the_wrong_shape_are_refused_with_what_is_wrong(data, problem):
    with pytest.raises(InvalidInput, match=problem):
        tc.validate_input(data)


def _running_step(name: str) -> int | None:
    with read_scope() as session:
        row = session.exec(select(StepRun).where(StepRun.name == name,
                                                 StepRun.status == StepStatus.running)).first()
        return row.job_id if row else None


def _row(job_id: int, name: str) -> StepRun | None:
    with read_scope() as session:
        return session.exec(select(StepRun).where(StepRun.job_id == job_id,
                                                  StepRun.name == name)).first()


POINTER = """
version: 1
name: pointer
title: Pointer
settings: {base_url: SITE, timeout_ms: 10000, retries: 0, approval_timeout_s: 60}
steps:
  - {name: open, action: goto, url: /pointer}
  - {name: by-hand, action: handover, message: "Drag the slider to the end, double-click"}
  - {name: slid, action: assert, selector: "#level", value: "100"}
  - {name: opened, action: assert, selector: "#twice", text: double-clicked}
"""


def test_a_drag_and_a_double_click_reach_the_page(run_runbook, site):
    """A drag (a slider, a CAPTCHA's handle) needs the button held while the mouse moves,
    and a double click a second press that says so: both as the person made them."""
    def measure():
        page = viewer_browser().new_page(viewport={"width": 1280, "height": 720})
        try:
            page.goto(f"{site}/pointer")
            return page.locator("#level").bounding_box(), page.locator("#twice").bounding_box()
        finally:
            page.close()
    slider, box = in_browser_thread(measure)
    thread, result = start(run_runbook, POINTER)
    job_id = job_named("pointer", S.paused)
    tc.take_control(job_id, by="ann", role=Role.operator)
    y = (slider["y"] + slider["height"] / 2) / 720
    at = [(slider["x"] + slider["width"] * share) / 1280 for share in (0.0, 0.5, 1.0, 1.2)]
    tc.send_input(job_id, {"type": "mousedown", "x": at[0], "y": y}, by="ann")
    for x in at[1:]:
        tc.send_input(job_id, {"type": "mousemove", "x": x, "y": y}, by="ann")
    tc.send_input(job_id, {"type": "mouseup", "x": at[-1], "y": y}, by="ann")
    middle = ((box["x"] + box["width"] / 2) / 1280, (box["y"] + box["height"] / 2) / 720)
    tc.send_input(job_id, {"type": "click", "x": middle[0], "y": middle[1], "clicks": 2},
                  by="ann")
    tc.hand_back(job_id, by="ann")
    thread.join(60)
    detail = result["detail"]
    assert detail.job.status == S.completed, detail.job.error_message
    assert step(detail, "taken over by ann").description.endswith(" s, 2 inputs; handed back")

