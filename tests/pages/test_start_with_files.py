"""A runbook with a file param: the Run dialog's file picker (no job without a file), and
the API's refusal of a file over JOBDECK_MAX_UPLOAD_MB. The console in-process, on a real
SQLite file."""

import pytest
from nicegui.elements.upload_files import SmallFileUpload
from waiting import eventually

from engine.service import jobs, runbooks
from models import ArtifactKind

pytestmark = pytest.mark.asyncio

RUNBOOK = """version: 1
name: send-invoice
title: Send an invoice
params:
  invoice: {type: file, description: The invoice as PDF}
steps:
  - {name: open, action: goto, url: "http://127.0.0.1:9/"}
"""


def _one_job():
    found, total = jobs.list_jobs()
    assert total == 1
    return found[0]


async def test_the_run_dialog_needs_a_file_then_starts_the_job_with_it(user, settings):
    runbooks.add_runbook(RUNBOOK)
    await user.open("/runbooks")
    user.find(marker="run-send-invoice").click()
    await user.should_see("The invoice as PDF")
    user.find(marker="start-job").click()
    await user.should_see('"invoice" needs a file: choose one above')
    assert jobs.list_jobs()[1] == 0

    picker = user.find(marker="file-invoice").elements.pop()
    await picker.handle_uploads([SmallFileUpload("Rechnung März.pdf", "application/pdf",
                                                 _data=b"%PDF-1.7 test")])
    user.find(marker="start-job").click()
    job = await eventually(_one_job)
    assert job.params == {"invoice": "Rechnung März.pdf"}
    [given] = jobs.get_job(job.id).artifacts
    assert given.kind == ArtifactKind.input
    assert (settings.data_dir / given.path).read_bytes() == b"%PDF-1.7 test"


async def test_a_file_over_the_upload_limit_starts_no_job(user, settings):
    runbooks.add_runbook(RUNBOOK)
    settings.max_upload_mb = 1
    for size in (1_500_000, 3_000_000):  # over by its own size, and by the request's length
        refused = await user.http_client.post(
            "/api/runbooks/send-invoice/jobs", headers={"Origin": "http://test"},
            files={"invoice": ("big.pdf", b"x" * size, "application/pdf")})
        assert refused.status_code == 422, refused.text
        assert "1 MB" in refused.json()["detail"]
        assert "JOBDECK_MAX_UPLOAD_MB" in refused.json()["detail"]
    assert jobs.list_jobs()[1] == 0
