"""The API keeps its own contract: schemathesis generates requests from /openapi.json (valid
ones, invalid ones, and sequences that use what earlier answers returned) against a
running console, and every answer must be documented, fit its documented schema, and
none may be a server error. Plus the hostile inputs that once gave bare 500s."""

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from support import start_console

pytestmark = pytest.mark.slow
RUNBOOK = """
version: 1
name: contract
title: Contract
settings: {base_url: "http://127.0.0.1:SITE_PORT", timeout_ms: 2000, retries: 0}
params:
  note: {default: none}
steps:
  - {name: open, action: goto, url: /}
"""
# Every check about the contract and HTTP's rules. Left out: positive_data_acceptance,
# which expects every schema-valid body to succeed, while the engine rightly refuses some
# with a message (a schedule needs exactly one of cron, interval_s and at; a runbook a
# known name).
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_headers_conformance,response_schema_conformance,negative_data_rejection,"
          "missing_required_header,unsupported_method,allow_header_conformance,"
          "ignored_auth,use_after_free,ensure_resource_availability")


@pytest.fixture(scope="module")
def console(tmp_path_factory, site_port):
    """A console of this module's own: schemathesis creates and deletes what it likes."""
    process, url = start_console(tmp_path_factory.mktemp("contract") / "data", site_port,
                                 JOBDECK_WORKERS="0")
    added = httpx.post(f"{url}/api/runbooks", content=RUNBOOK.replace(
        "SITE_PORT", str(site_port)), headers={"Content-Type": "application/x-yaml",
                                               **url.headers})
    assert added.status_code == 201, added.text
    yield url
    process.terminate()
    process.wait(30)


def test_the_api_keeps_its_contract(console, tmp_path):
    ran = subprocess.run(
        [str(Path(sys.executable).parent / "st"), "run", f"{console}/openapi.json",
         "--header", f"Authorization: Bearer {console.token}", "--checks", CHECKS,
         "--max-examples", "3", "--seed", "1", "--no-color",
         # a job that has not finished streams its events until the client leaves
         "--request-timeout", "3",
         "--report", "junit", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stdout[-20000:] + ran.stderr[-3000:]


def test_hostile_inputs_get_4xx_answers_not_500(console):
    with console.client(timeout=60) as api:
        huge = 2**63
        assert api.get(f"/api/jobs/{huge}").status_code == 422
        assert api.get("/api/jobs", params={"offset": huge}).status_code == 422
        assert api.get(f"/api/schedules/{huge}").status_code == 422
        assert api.get(f"/api/artifacts/{huge}").status_code == 422
        too_often = {"runbook": "contract", "interval_s": 10**15}
        assert api.post("/api/schedules", json=too_often).status_code == 422
        late = {"runbook": "contract", "cron": "0 6 * * *", "misfire_grace_s": 10**15}
        assert api.post("/api/schedules", json=late).status_code == 422
        digits = '{"params": {"note": ' + "9" * 5000 + "}}"
        assert api.post("/api/runbooks/contract/jobs", content=digits,
                        headers={"Content-Type": "application/json"}).status_code == 422
        nested = "x:\n" + "".join("  " * i + "- \n" for i in range(3000))
        assert api.post("/api/runbooks", content=nested, headers={
            "Content-Type": "application/x-yaml"}).status_code == 422
        for yaml in ("[" * 5000 + "]" * 5000, "version: 1\nname: nul\x00\n"):
            assert api.post("/api/runbooks", content=yaml, headers={
                "Content-Type": "application/x-yaml"}).status_code == 422
        for bad in ("a\x00b", "a\x01b"):
            started = api.post("/api/runbooks/contract/jobs", json={"params": {"note": bad}})
            assert started.status_code == 422 and "control character" in started.text
            assert api.get("/api/jobs", params={"q": bad}).status_code == 422
        form = api.post("/api/runbooks/contract/jobs", data={"params": '{"note": "a\\u0000"}'},
                        files={"unused": ("x.txt", b"\x00binary is fine in a file")})
        assert form.status_code == 422
        signed = httpx.post(f"{console}/login", data={"name": "adm\x00in", "password": "x"},
                            headers={"Origin": str(console)})
        assert signed.status_code == 422
        big = api.post("/api/runbooks/contract/jobs", content=_chunks(60 * 1024 * 1024),
                       headers={"Content-Type": "application/json"})
        assert big.status_code == 413
        form_head = b'--b\r\nContent-Disposition: form-data; name="f"; filename="f"\r\n\r\n'
        big_form = api.post("/api/runbooks/contract/jobs",
                            content=_chunks(60 * 1024 * 1024, head=form_head),
                            headers={"Content-Type": "multipart/form-data; boundary=b"})
        assert big_form.status_code == 413
    assert "Traceback" not in (Path(console.env["JOBDECK_DATA_DIR"]).parent /
                               "console.log").read_text()


def _chunks(total: int, size: int = 1024 * 1024, head: bytes = b""):
    """A body streamed without Content-Length (chunked), so only counting can stop it."""
    yield head
    sent = 0
    while sent < total:
        yield b" " * size
        sent += size
