"""Artifacts are served from their own job's directory only, and what a website produced
(HTML, SVG, XML) is a download that cannot run in the console's origin."""

import pytest
from conftest import sign_in

from engine.identity import audit
from engine.runbook import load_runbook
from engine.service.jobs import create_job
from engine.service.runbooks import save_runbook
from engine.store.db import session_scope
from models import Artifact, ArtifactKind

pytestmark = pytest.mark.asyncio

RUNBOOK = """
version: 1
name: files
title: Files
steps:
  - {name: open, action: goto, url: "http://127.0.0.1:9/"}
"""


def a_job(settings) -> int:
    save_runbook(load_runbook(RUNBOOK, "files.yaml"))
    job = create_job("files", started_by="someone")
    (settings.data_dir / "artifacts" / str(job.id)).mkdir(parents=True, exist_ok=True)
    return job.id


def stored(job_id: int, path: str, media_type: str, name: str = "file") -> int:
    with session_scope() as session:
        row = Artifact(job_id=job_id, kind=ArtifactKind.download, name=name, path=path,
                       size=1, media_type=media_type)
        session.add(row)
        session.flush()
        return row.id


async def test_stored_paths_never_leave_the_jobs_directory(app_client, settings):
    simulated, _ = app_client
    await sign_in(simulated, "admin")
    job_id, other = a_job(settings), a_job(settings)
    data = settings.data_dir
    (data / "outside.txt").write_text("the data directory's own file")
    (data.parent / "outside.txt").write_text("a file beside the data directory")
    for sibling in (f"{job_id}0", f"{job_id}-old"):  # folders whose names start alike
        (data / "artifacts" / sibling).mkdir()
        (data / "artifacts" / sibling / "f.txt").write_text("not this job's")
    (data / "artifacts" / str(job_id) / "sub").symlink_to("/etc")
    (data.parent / "data-sibling").mkdir()
    (data.parent / "data-sibling" / "f.txt").write_text("a sibling folder with the same prefix")
    (data / "artifacts" / str(other) / "theirs.txt").write_text("another job's file")
    (data / "artifacts" / str(job_id) / "link.txt").symlink_to(data / "outside.txt")
    (data / "artifacts" / str(job_id) / "ok.txt").write_text("mine")
    attempts = [
        "../outside.txt", f"artifacts/{job_id}/../../outside.txt",
        f"artifacts/{job_id}/%2e%2e%2f%2e%2e%2foutside.txt",
        f"artifacts/{job_id}/..\\..\\outside.txt",
        str(data / "outside.txt"), "/etc/passwd", f"artifacts/{job_id}/link.txt",
        "../data-sibling/f.txt", f"artifacts/{other}/theirs.txt", f"artifacts/{job_id}",
        f"artifacts/{job_id}0/f.txt", f"artifacts/{job_id}-old/f.txt",
        f"artifacts/{job_id}/sub/passwd",
    ]
    for path in attempts:
        artifact_id = stored(job_id, path, "text/plain")
        response = await simulated.http_client.get(f"/api/artifacts/{artifact_id}")
        assert response.status_code == 404, (path, response.text)
    mine = stored(job_id, f"artifacts/{job_id}/ok.txt", "text/plain")
    assert (await simulated.http_client.get(f"/api/artifacts/{mine}")).text == "mine"
    # the URL itself cannot walk anywhere: it takes an id, nothing else
    for url in ("/api/artifacts/..%2f..%2fetc%2fpasswd", "/api/artifacts/%2e%2e",
                "/api/artifacts/1%2f..%2f..%2fjobdeck.db"):
        assert (await simulated.http_client.get(url)).status_code in (404, 422)


@pytest.mark.parametrize("media_type, ext", [("text/html", "html"), ("image/svg+xml", "svg"),
                                             ("application/xml", "xml"), ("text/xml", "xml")])
async def test_markup_from_a_website_is_a_sandboxed_download(app_client, settings,
                                                             media_type, ext):
    simulated, _ = app_client
    await sign_in(simulated, "admin")
    job_id = a_job(settings)
    (settings.data_dir / "artifacts" / str(job_id) / f"page.{ext}").write_text(
        "<script>alert(document.cookie)</script>")
    artifact_id = stored(job_id, f"artifacts/{job_id}/page.{ext}", media_type,
                         name='bad"; name=\r\nX-Injected: 1; ../../é.exe')
    response = await simulated.http_client.get(f"/api/artifacts/{artifact_id}")
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]
    assert "x-injected" not in response.headers
    # RFC 6266: one quoted, plain filename; no quote, path or line break from the name
    filename = disposition.split("filename=", 1)[1]
    assert filename.startswith('"') and filename.endswith(f'.{ext}"')
    assert '"' not in filename[1:-1] and "/" not in filename and "\r" not in filename


async def test_a_download_is_served_under_its_own_name_in_any_language(app_client, settings):
    simulated, _ = app_client
    await sign_in(simulated, "admin")
    job_id = a_job(settings)
    (settings.data_dir / "artifacts" / str(job_id) / "001-rechnung.pdf").write_bytes(b"%PDF")
    artifact_id = stored(job_id, f"artifacts/{job_id}/001-rechnung.pdf", "application/pdf",
                         name="Rechnung März 2026.pdf")
    response = await simulated.http_client.get(f"/api/artifacts/{artifact_id}")
    disposition = response.headers["content-disposition"]
    assert response.headers["content-type"] == "application/pdf"
    # RFC 8187 for the real name, an ASCII fallback for old clients (RFC 6266)
    assert (f"filename*=UTF-8''job-{job_id}-Rechnung%20M%C3%A4rz%202026.pdf"
            in disposition), disposition
    assert f'filename="job-{job_id}-Rechnung M_rz 2026.pdf"' in disposition


async def test_screenshots_show_in_place_and_downloads_are_audited(app_client, settings):
    simulated, _ = app_client
    await sign_in(simulated, "admin")
    job_id = a_job(settings)
    folder = settings.data_dir / "artifacts" / str(job_id)
    (folder / "shot.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / "rows.csv").write_text("a,b\n")
    shot = stored(job_id, f"artifacts/{job_id}/shot.png", "image/png", "shot")
    rows = stored(job_id, f"artifacts/{job_id}/rows.csv", "text/csv", "rows.csv")
    inline = await simulated.http_client.get(f"/api/artifacts/{shot}")
    assert inline.headers["content-disposition"].startswith("inline;")
    download = await simulated.http_client.get(f"/api/artifacts/{rows}")
    assert download.headers["content-disposition"].startswith("attachment;")
    events, _ = audit.search(audit.AuditFilter(action="artifact_downloaded"))
    assert [(e.actor, e.target, e.job_id) for e in events] == [
        ("admin", "artifact rows.csv", job_id)]  # a screenshot on a page is not a download
