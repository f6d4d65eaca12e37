"""`/api/runbooks/{name}/healing`: suggestions, the diff, Apply, and what is refused."""

import httpx
import pytest
from test_api import add, wait_finished

pytestmark = pytest.mark.slow

RUNBOOK = """
version: 1
name: api-healing
title: Healing via the API
settings: {base_url: SITE, timeout_ms: 3000, retries: 0, screenshots: off}
steps:
  - {action: goto, url: /login}
  - {name: user, action: fill, selector: {placeholder: Username}, value: demo}
  - {name: pw, action: fill, selector: {label: Password}, value: demo-password}
  - name: sign-in
    action: click
    selector:
      - "#login-btn"   # the id before the redesign
      - {role: button, name: Sign in}
  - {name: who, action: assert, selector: "#whoami", text: demo}
"""


@pytest.fixture
def api(console):
    with console.client(timeout=30) as client:
        yield client


def test_suggestions_preview_and_apply(api, console, site):
    assert add(api, RUNBOOK, site).status_code in (200, 201)
    for _ in range(2):
        started = api.post("/api/runbooks/api-healing/jobs", json={})
        assert started.status_code == 201, started.text
        assert wait_finished(api, started.json()["id"])["status"] == "completed"

    listed = api.get("/api/runbooks/api-healing/healing")
    assert listed.status_code == 200
    [suggestion] = listed.json()
    assert suggestion["step"] == "sign-in" and suggestion["proposed"] == [2, 1]
    assert suggestion["winner"] == 'role=button name="Sign in"'
    assert [(c["candidate"], c["wins"]) for c in suggestion["candidates"]] == [
        ("#login-btn", 0), ('role=button name="Sign in"', 2)]

    preview = api.get("/api/runbooks/api-healing/healing/diff", params={"step": "sign-in"})
    assert preview.status_code == 200
    assert "\n+      - {role: button, name: Sign in}\n" in preview.json()["diff"]

    viewer = console.user_token("healing-viewer", "viewer")
    refused = httpx.post(f"{console}/api/runbooks/api-healing/healing/apply",
                         json={"step": "sign-in"}, timeout=30,
                         headers={"Authorization": f"Bearer {viewer}"})
    assert refused.status_code == 403
    assert "operator role" in refused.json()["detail"]

    assert api.post("/api/runbooks/nope/healing/apply",
                    json={"step": "sign-in"}).status_code == 404
    unknown = api.post("/api/runbooks/api-healing/healing/apply", json={"step": "sign-on"})
    assert unknown.status_code == 422 and "no step named" in unknown.json()["detail"]
    stale = api.post("/api/runbooks/api-healing/healing/apply",
                     json={"step": "sign-in", "source": "version: 1\n"})
    assert stale.status_code == 409 and "changed since" in stale.json()["detail"]

    applied = api.post("/api/runbooks/api-healing/healing/apply",
                       json={"step": "sign-in", "source": preview.json()["source"]})
    assert applied.status_code == 200 and applied.json() == {"version": 2}
    source = api.get("/api/runbooks/api-healing").json()["source"]
    assert source == preview.json()["source"]
    assert source.index("{role: button, name: Sign in}") < source.index('"#login-btn"')
    assert api.get("/api/runbooks/api-healing/healing").json() == []
    again = api.post("/api/runbooks/api-healing/healing/apply", json={"step": "sign-in"})
    assert again.status_code == 409 and "nothing to apply" in again.json()["detail"]
