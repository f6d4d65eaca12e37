"""The trace page (/jobs/{id}/trace) and the viewer's files: what a user sees with a trace,
without one, without the viewer's files and where the browser cannot run the viewer; and
the files behind the sign-in, inside the viewer's own directory only. The viewer itself,
opened in Chromium, is tests/e2e/test_trace_viewer.py."""

import re
from urllib.parse import quote

import pytest
from conftest import sign_in

from engine.runbook import load_runbook
from engine.service.jobs import create_job
from engine.service.runbooks import save_runbook
from engine.store.db import session_scope
from models import Artifact, ArtifactKind, Job, JobStatus
from pages.trace_viewer import viewer_dir
from pages.ui import trace_page

pytestmark = pytest.mark.asyncio

RUNBOOK = """
version: 1
name: traced
title: Traced chore
settings: {trace: true}
steps:
  - {name: open, action: goto, url: "http://127.0.0.1:9/"}
"""
CAN_RUN = re.compile(re.escape(trace_page.CAN_RUN_VIEWER))


def a_job(settings, with_trace: bool) -> tuple[int, int | None]:
    """A job (ended as cancelled) and, `with_trace`, its trace.zip's artifact id."""
    save_runbook(load_runbook(RUNBOOK, "traced.yaml"))
    job = create_job("traced", started_by="someone")
    with session_scope() as session:
        row = session.get(Job, job.id)
        row.status = JobStatus.cancelled  # an ended job, seeded: the browser is not tested
        artifact_id = None
        if with_trace:
            folder = settings.data_dir / "artifacts" / str(job.id)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "001-trace.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
            artifact = Artifact(job_id=job.id, kind=ArtifactKind.trace, name="trace.zip",
                                path=f"artifacts/{job.id}/001-trace.zip", size=22,
                                media_type="application/zip")
            session.add(artifact)
            session.flush()
            artifact_id = artifact.id
    return job.id, artifact_id


async def test_a_trace_opens_in_the_viewer_inside_the_console(user, settings):
    job_id, artifact_id = a_job(settings, with_trace=True)
    user.javascript_rules[CAN_RUN] = lambda _: True
    await user.open(f"/jobs/{job_id}/trace")
    await user.should_see("Trace · Traced chore")
    await user.should_see(marker="trace-viewer", retries=30)
    src = user.find(marker="trace-viewer").elements.pop().props["src"]
    assert src == f"/trace/index.html?trace={quote(f'/api/artifacts/{artifact_id}', safe='')}"
    await user.should_see("Download trace.zip")
    await user.should_not_see(marker="trace-unavailable")


async def test_the_job_page_links_its_trace(user, settings):
    job_id, _ = a_job(settings, with_trace=True)
    await user.open(f"/jobs/{job_id}")
    await user.should_see("Open trace", retries=30)
    button = user.find("Open trace").elements.pop()
    assert button.props["href"] == f"/jobs/{job_id}/trace"


async def test_over_plain_http_elsewhere_the_page_says_why_and_offers_the_download(
        user, settings):
    job_id, _ = a_job(settings, with_trace=True)
    user.javascript_rules[CAN_RUN] = lambda _: False  # not a secure context
    await user.open(f"/jobs/{job_id}/trace")
    await user.should_see(marker="trace-unavailable", retries=30)
    await user.should_see("HTTPS")
    await user.should_see("Download trace.zip")
    await user.should_not_see(marker="trace-viewer")


async def test_without_the_viewers_files_the_page_says_so(user, settings, monkeypatch):
    monkeypatch.setattr(trace_page, "viewer_available", lambda: False)
    job_id, _ = a_job(settings, with_trace=True)
    await user.open(f"/jobs/{job_id}/trace")
    await user.should_see(marker="trace-unavailable")
    await user.should_see("not available in this installation")
    await user.should_see("Download trace.zip")
    await user.should_not_see(marker="trace-viewer")


async def test_a_job_without_a_trace_says_how_to_record_one(user, settings):
    job_id, _ = a_job(settings, with_trace=False)
    await user.open(f"/jobs/{job_id}/trace")
    await user.should_see("did not record a trace")
    await user.should_not_see("Download trace.zip")
    await user.open("/jobs/999999/trace")
    await user.should_see("There is no job 999999.")


async def test_the_viewers_files_are_served_from_its_directory_only(app_client, settings):
    simulated, anonymous = app_client
    job_id, artifact_id = a_job(settings, with_trace=True)
    for url in ("/trace/index.html", "/trace/sw.bundle.js", f"/api/artifacts/{artifact_id}"):
        response = await anonymous.get(url)
        assert response.status_code == 401, url  # behind the sign-in, like any route
    page = await anonymous.get(f"/jobs/{job_id}/trace")
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    await sign_in(simulated, "admin")
    client = simulated.http_client
    worker = await client.get("/trace/sw.bundle.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.content == (viewer_dir() / "sw.bundle.js").read_bytes()
    index = await client.get("/trace/index.html")
    assert index.status_code == 200 and "Playwright Trace Viewer" in index.text
    assert "frame-ancestors 'self'" in index.headers["content-security-policy"]
    # show-trace's `file?path=` reads local files: the console hands out artifacts by id only
    for url in ("/trace/file?path=/etc/passwd", "/trace/..%2f..%2f..%2f__init__.py",
                "/trace/%2e%2e/%2e%2e/%2e%2e/__init__.py", "/trace/assets", "/trace/nothing.js"):
        assert (await client.get(url)).status_code == 404, url
