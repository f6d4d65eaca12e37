"""Take control and approvals from a link, on the job page: who is offered Take control,
what a `handover` step's request shows, the holder's banner and the others' note, and a
link with ?approve=1 that survives signing in. NiceGUI's simulated user against the real
console and a real SQLite file; jobs are put where a worker would leave them (the real
clicks and typing into a job's page: tests/e2e/test_take_control_e2e.py)."""

import pytest
from conftest import PASSWORD, sign_in

from engine.bus import events
from engine.service.jobs import create_job, get_job
from engine.service.runbooks import add_runbook
from engine.store.db import session_scope
from engine.store.transitions import transition_job
from models import JobStatus

pytestmark = pytest.mark.asyncio
MESSAGE = "Enter the code sent to the team phone"


def job_in(status: JobStatus, started_by: str | None = None, handover: bool = False,
           approval: bool = False) -> int:
    """A job moved to `status` as its worker would, with the request it would record."""
    add_runbook("version: 1\nname: hands\ntitle: Hands on\nsteps:\n"
                "  - {name: code, action: goto, url: 'http://127.0.0.1:9/'}\n")
    job = create_job("hands", started_by=started_by)
    assert job.id is not None
    with session_scope() as session:
        transition_job(session, job.id, JobStatus.running)
        if status != JobStatus.running:
            transition_job(session, job.id, status)
        if handover:
            events.record(session, events.HANDOVER_REQUESTED, job.id, step="code",
                          message=MESSAGE, timeout_s=300)
        if approval:
            events.record(session, events.APPROVAL_REQUESTED, job.id, step="code",
                          message="Go ahead?")
    return job.id


async def take_again(user) -> None:
    """Click Take control until the page says so: a redraw (the re-read after the release)
    may replace the button under the click, which NiceGUI then drops."""
    for _ in range(5):
        user.find("Take control").click()
        try:
            await user.should_see("You have control", retries=10)
            return
        except AssertionError:
            continue
    raise AssertionError("Take control did not take, five clicks")


async def test_a_handover_request_is_shown_and_control_taken_and_left(user):
    job_id = job_in(JobStatus.paused, handover=True)
    await sign_in(user, "vera", "viewer")
    await user.open(f"/jobs/{job_id}")
    await user.should_see("A person is needed")
    await user.should_see(MESSAGE)
    await user.should_see("An operator takes control here to do it.")
    await user.should_not_see("Take control")

    await sign_in(user, "olga", "operator")
    await user.open(f"/jobs/{job_id}")
    await user.should_see(MESSAGE)
    user.find("Take control").click()
    # a click runs the service off the UI loop: retries allow for a loaded machine
    await user.should_see("You have control — your clicks and typing go to the job's browser",
                          retries=30)
    assert get_job(job_id).job.control_holder == "olga"
    await user.should_not_see(MESSAGE)  # the request is answered by the one who took it
    user.find("Leave").click()
    await user.should_see("You gave control up; the job still waits", retries=30)
    # a re-read begun before the release may draw the old state once more: it converges
    await user.should_see("Take control", retries=30)
    job = get_job(job_id).job
    assert job.control_holder is None and job.status == JobStatus.paused
    await take_again(user)

    await sign_in(user, "oscar", "operator")
    await user.open(f"/jobs/{job_id}")
    await user.should_see("olga has control since")
    await user.should_not_see("Take control")
    await user.should_not_see("Hand back")


async def test_a_waiting_job_offers_take_control_to_approvers_who_did_not_start_it(user):
    job_id = job_in(JobStatus.waiting_for_approval, started_by="abe", approval=True)
    for name, role, offered in (("olga", "operator", False), ("abe", "approver", False),
                                ("ann", "approver", True)):
        await sign_in(user, name, role)
        await user.open(f"/jobs/{job_id}")
        await user.should_see("Approval needed")
        if offered:
            await user.should_see("Take control")
        else:
            await user.should_not_see("Take control")


async def test_an_approval_link_opens_the_dialog_after_signing_in(app_client):
    simulated, anonymous = app_client
    await sign_in(simulated, "admin")  # makes the admin; the link is opened without a session
    job_id = job_in(JobStatus.waiting_for_approval, started_by="otto", approval=True)
    link = f"/jobs/{job_id}?approve=1"
    sent = await anonymous.get(link)
    assert sent.status_code == 303
    form = await anonymous.get(sent.headers["location"])
    assert f'value="{link}"' in form.text  # the sign-in form keeps where to go
    signed = await anonymous.post("/login", data={
        "name": "admin", "password": PASSWORD, "next": link},
        headers={"Origin": "http://test"})
    assert signed.status_code == 303 and signed.headers["location"] == link
    await simulated.open(link)
    await simulated.should_see("Approval needed")
    await simulated.should_see("Go ahead?")
    assert simulated.find("Approve").elements  # the admin may decide: the buttons are there


async def test_an_approval_link_to_a_job_that_no_longer_waits_says_so(user):
    job_id = job_in(JobStatus.cancelled)
    await user.open(f"/jobs/{job_id}?approve=1")
    await user.should_see(f"Job {job_id} does not wait for approval now: it is cancelled")
    await user.should_not_see("Approval needed")
