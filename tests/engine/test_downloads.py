"""Downloads keep the server's file name (RFC 6266 / RFC 8187, any language) and get a
media type from the name or, for a name without one, from the content."""

import io
import zipfile
from urllib.parse import quote

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
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


async def page(request: Request) -> Response:
    links = "".join(f'<a id="{p}" href="/files/{p}" download>{p}</a> ' for p in FILES)
    return HTMLResponse(links)


async def file(request: Request) -> Response:
    body, headers = FILES[request.path_params["name"]]
    return Response(body, headers=headers)


@pytest.fixture(scope="module")
def files_site():
    port, server = serve_app(Starlette(routes=[
        Route("/", page), Route("/files/{name}", file)]))
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
