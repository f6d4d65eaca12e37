"""Starting a job with files over the API (multipart/form-data) against a running console:
the file is kept byte for byte under its own name, and a missing one starts nothing."""

import time

import pytest

pytestmark = pytest.mark.slow

RUNBOOK = """
version: 1
name: api-upload
title: Send an invoice
settings: {base_url: SITE, timeout_ms: 2000, retries: 0, screenshots: off}
params:
  invoice: {type: file}
  note: {default: ""}
steps:
  - {name: open, action: goto, url: /}
"""
CONTENT = bytes(range(256)) * 40  # binary, every byte value


@pytest.fixture
def api(console, site):
    with console.client(timeout=30) as client:
        added = client.post("/api/runbooks", content=RUNBOOK.replace("SITE", site),
                            headers={"Content-Type": "application/x-yaml"})
        assert added.status_code in (200, 201), added.text
        yield client


def jobs_of(api) -> int:
    return api.get("/api/jobs", params={"runbook": "api-upload"}).json()["total"]


def test_a_multipart_start_keeps_the_file_and_its_name(api, console):
    started = api.post("/api/runbooks/api-upload/jobs", data={"params": '{"note": "hi"}'},
                       files={"invoice": ("Rechnung März.pdf", CONTENT, "application/pdf")})
    assert started.status_code == 201, started.text
    job = api.get(f"/api/jobs/{started.json()['id']}").json()
    assert job["params"] == {"invoice": "Rechnung März.pdf", "note": "hi"}
    [given] = [a for a in job["artifacts"] if a["kind"] == "input"]
    assert given["name"] == "Rechnung März.pdf" and given["step_run_id"] is None
    fetched = api.get(given["url"])
    assert fetched.status_code == 200 and fetched.content == CONTENT
    assert "Rechnung%20M%C3%A4rz.pdf" in fetched.headers["content-disposition"]
    # a viewer may read jobs, so their input files too; no one else may
    viewer = console.user_token("vicky", "viewer")
    seen = api.get(given["url"], headers={"Authorization": f"Bearer {viewer}"})
    assert seen.status_code == 200 and seen.content == CONTENT
    nobody = api.get(given["url"], headers={"Authorization": "Bearer not-a-token"})
    assert nobody.status_code == 401 and nobody.content != CONTENT
    deadline = time.monotonic() + 60
    while job["status"] not in ("completed", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = api.get(f"/api/jobs/{job['id']}").json()
    assert job["status"] == "completed", job["error"]
    assert [a["name"] for a in job["artifacts"]] == ["Rechnung März.pdf"]


def test_a_missing_file_or_a_text_for_it_starts_nothing(api):
    before = jobs_of(api)
    missing = api.post("/api/runbooks/api-upload/jobs", json={"params": {"note": "hi"}})
    assert missing.status_code == 422
    assert 'file param "invoice" needs a file' in missing.json()["detail"]
    assert "-F invoice=@FILE" in missing.json()["detail"]
    as_text = api.post("/api/runbooks/api-upload/jobs",
                       data={"params": "{}", "invoice": "invoice.pdf"},
                       files={"other": ("x.txt", b"x")})
    assert as_text.status_code == 422
    assert '"invoice" holds text, not a file' in as_text.json()["detail"]
    boundary = "a222103b9b30b1f9e8be6882ecedb1d2"  # a part with no headers: not RFC 7578
    broken = api.post("/api/runbooks/api-upload/jobs",
                      content=f"--{boundary}\r\n[]--{boundary}--\r\n".encode(),
                      headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert broken.status_code == 422, broken.text
    assert "not valid multipart/form-data" in broken.json()["detail"]
    assert jobs_of(api) == before
