"""Downloads keep the server's file name (RFC 6266 / RFC 8187, any language) and get a
media type from the name or, for a name without one, from the content."""

import io
import zipfile
from urllib.parse import quote

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route
from support import serve_app, step

from models import ArtifactKind, JobStatus


def _xlsx() -> bytes:
    """The smallest zip an Office reader recognises as a workbook."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    return out.getvalue()


FILES = {  # path -> (body, headers)
    "invoice": (b"%PDF-1.7\n%fake invoice\n", {
        "content-type": "application/pdf",
        "content-disposition": "attachment; filename=\"Rechnung_M_rz_2026.pdf\"; "
                               f"filename*=UTF-8''{quote('Rechnung März 2026.pdf')}"}),
    "umlaut": (b"a;b\n1;2\n", {"content-type": "text/csv; charset=utf-8",
                               "content-disposition": "attachment; filename*=UTF-8''"
                                                      + quote("ü.csv")}),
    "raw": (_xlsx(), {"content-type": "application/octet-stream"}),
}


MB = bytes(range(256)) * 4096  # 1 MiB of a known pattern
sent: dict[int, int] = {}  # size in MiB asked for -> bytes the server got to send


async def page(request: Request) -> Response:
    links = "".join(f'<a id="{p}" href="/files/{p}" download>{p}</a> ' for p in FILES)
    return HTMLResponse(links + '<a id="big150" href="/big?mb=150" download>150</a>'
                        '<a id="big60" href="/big?mb=60" download>60</a>')


async def big(request: Request) -> Response:
    """A large file, streamed (never whole in the server's memory either)."""
    mb = int(request.query_params["mb"])
    sent[mb] = 0

    async def chunks():
        for _ in range(mb):
            if await request.is_disconnected():  # the reader hung up: stop counting
                return
            sent[mb] += len(MB)
            yield MB

    return StreamingResponse(chunks(), media_type="application/octet-stream", headers={
        "content-length": str(mb * len(MB)),
        "content-disposition": f'attachment; filename="big-{mb}.bin"'})


async def file(request: Request) -> Response:
    body, headers = FILES[request.path_params["name"]]
    return Response(body, headers=headers)


@pytest.fixture(scope="module")
def files_site():
    port, server = serve_app(Starlette(routes=[
        Route("/", page), Route("/files/{name}", file), Route("/big", big)]))
    yield f"127.0.0.1:{port}"
    server.should_exit = True


@pytest.fixture
def downloaded(run_runbook, settings, site_port, files_site, runtime):
    settings.allow_private_hosts = f"127.0.0.1:{site_port},{files_site}"
    detail = run_runbook(f"""
        version: 1
        name: downloads
        title: Downloads
        settings: {{timeout_ms: 10000, retries: 0, screenshots: "off"}}
        steps:
          - {{name: open, action: goto, url: "http://{files_site}/"}}
          - {{name: invoice, action: download, selector: "#invoice"}}
          - {{name: umlaut, action: download, selector: "#umlaut"}}
          - {{name: raw, action: download, selector: "#raw"}}
        """)
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    return detail


def _artifact(detail, step_name: str):
    run = step(detail, step_name)
    return next(a for a in detail.artifacts
                if a.kind == ArtifactKind.download and a.step_run_id == run.id)


@pytest.mark.parametrize("step_name, name, media_type", [
    ("invoice", "Rechnung März 2026.pdf", "application/pdf"),
    ("umlaut", "ü.csv", "text/csv"),
    ("raw", "raw", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
])
def test_a_download_keeps_its_name_and_type(downloaded, settings, step_name, name,
                                            media_type):
    artifact = _artifact(downloaded, step_name)
    assert artifact.name == name
    assert artifact.media_type == media_type
    kept = (settings.data_dir / artifact.path).read_bytes()
    assert kept == FILES[step_name][0]  # byte for byte


def _download(run_runbook, files_site: str, link: str):
    return run_runbook(f"""
        version: 1
        name: big-download
        title: Big download
        settings: {{timeout_ms: 60000, retries: 0, screenshots: "off"}}
        steps:
          - {{name: open, action: goto, url: "http://{files_site}/"}}
          - {{name: get, action: download, selector: "#{link}"}}
        """)


def test_a_large_download_is_kept_whole(run_runbook, settings, site_port, files_site):
    settings.allow_private_hosts = f"127.0.0.1:{site_port},{files_site}"
    settings.max_download_mb = 200
    detail = _download(run_runbook, files_site, "big150")
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    artifact = _artifact(detail, "get")
    kept = settings.data_dir / artifact.path
    assert kept.stat().st_size == 150 * len(MB)
    with kept.open("rb") as f:  # byte for byte, a MiB at a time
        assert all(f.read(len(MB)) == MB for _ in range(150))


def test_a_download_over_the_limit_is_cut_off_early(run_runbook, settings, site_port,
                                                    files_site):
    settings.allow_private_hosts = f"127.0.0.1:{site_port},{files_site}"
    settings.max_download_mb = 5
    detail = _download(run_runbook, files_site, "big60")
    got = step(detail, "get")
    assert detail.job.status == JobStatus.failed
    assert "over the limit" in got.error_message and "JOBDECK_MAX_DOWNLOAD_MB" in got.error_message
    # the server was cut off soon after 5 MiB (socket buffers hold a few more)
    assert sent[60] < 25 * len(MB), f"{sent[60] / len(MB):.0f} MiB were sent"
    assert not [a for a in detail.artifacts if a.kind == ArtifactKind.download]
    assert not list((settings.data_dir / "artifacts").rglob("*.bin"))
