"""Four eyes on a one-person installation: the starter is told that nobody else may
approve and how to fix it, instead of waiting for an approval that cannot come."""

import pytest

from engine.bus import events
from engine.identity import accounts
from engine.service.jobs import create_job
from engine.service.runbooks import add_runbook
from engine.store.db import session_scope
from engine.store.transitions import transition_job
from models import JobStatus

pytestmark = pytest.mark.asyncio


def waiting_job(started_by: str) -> int:
    add_runbook("version: 1\nname: ask\ntitle: Ask first\nsteps:\n"
                "  - {name: go, action: goto, url: 'http://127.0.0.1:9/', "
                "approval: {message: Go ahead?}}\n")
    job = create_job("ask", started_by=started_by)
    with session_scope() as session:
        transition_job(session, job.id, JobStatus.running)
        transition_job(session, job.id, JobStatus.waiting_for_approval)
        asked = events.record(session, events.APPROVAL_REQUESTED, job.id, step="go",
                              message="Go ahead?")
    events.get_bus().publish(asked)
    return job.id


async def test_a_lone_admin_is_told_how_an_approval_can_be_finished(user):
    job_id = waiting_job("admin")
    await user.open(f"/jobs/{job_id}")
    await user.should_see("Go ahead?")
    await user.should_see("no other active user may approve it")
    await user.should_see("JOBDECK_FOUR_EYES=false.")
    await user.should_see("Users")  # the link to add an approver

    accounts.create_user("bob", "approver", "a-password-for-tests", by="tests")
    accounts.create_user("old", "approver", "a-password-for-tests", by="tests")
    accounts.set_disabled("old", True, by="tests")
    await user.open(f"/jobs/{job_id}")
    await user.should_see("another approver decides on this step (bob).")  # not "old"
    await user.should_not_see("JOBDECK_FOUR_EYES=false.")
