"""The Storage page (admins): bytes per runbook, the settings in force, what the next sweep
frees, Sweep now; the job page's Keep toggle, and a swept job's artifacts section."""

import pytest
from conftest import sign_in
from retention_seed import files_of, runbook, seed_job
from waiting import eventually

from engine.service.jobs import get_job
from models import JobStatus

pytestmark = pytest.mark.asyncio


def _has(user, marker: str, text: str) -> None:
    found = [e.text for e in user.find(marker=marker).elements]
    assert any(text in t for t in found), found


async def test_storage_page_and_sweep_now(user, settings):
    data = settings.data_dir
    alpha = runbook("alpha")
    old = seed_job(data, alpha, "alpha", JobStatus.failed, 40)
    seed_job(data, alpha, "alpha", JobStatus.completed, 1)

    await user.open("/storage")
    await user.should_see("ended more than 30 days ago (JOBDECK_RETENTION_DAYS)")
    await user.should_see("each runbook's newest completed job (the visual-change baseline)")
    _has(user, "next-sweep", "1 job")
    _has(user, "last-sweep", "never")
    [table] = user.find(marker="storage-table").elements
    assert [(r["runbook"], r["jobs"]) for r in table.rows] == [("alpha", 2)]

    user.find(marker="sweep-now").click()
    await user.should_see("Swept: the files of 1 job deleted", retries=30)
    assert files_of(data, old) == []
    await eventually(lambda: _has(user, "next-sweep", "0 B · 0 jobs"))

    await user.open(f"/jobs/{old}")
    await user.should_see(marker="artifacts-deleted", retries=30)
    await user.should_see("Artifacts deleted by the retention sweep on")
    await user.should_see(marker="files-swept")


async def test_keep_toggle_and_refusals(user, settings):
    data = settings.data_dir
    job_id = seed_job(data, runbook("alpha"), "alpha", JobStatus.failed, 40)
    await sign_in(user, "otto", "operator")
    await user.open("/storage")
    await user.should_see(marker="forbidden")
    await user.should_see("needs the admin role")

    await user.open(f"/jobs/{job_id}")
    await user.should_see(marker="keep-job")
    user.find(marker="keep-job").click()
    await user.should_see(f"Job {job_id} is kept", retries=30)
    detail = get_job(job_id)
    assert detail is not None and detail.job.keep
    _has(user, "keep-job", "Kept")

    await sign_in(user, "vera", "viewer")
    await user.open(f"/jobs/{job_id}")
    await user.should_see(marker="job-kept")  # shown, not changeable
    await user.should_not_see(marker="keep-job")
