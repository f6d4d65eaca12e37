"""Signing in, roles and the gate: every route closed without a session or token, each
role against each action, tokens, the rate limit, cross-site requests, expiry and sign-out.
Requests go through the real app (NiceGUI's, with every route) and a real SQLite file."""

import re
from datetime import timedelta

import pytest
from conftest import PASSWORD, sign_in
from nicegui import core
from sqlalchemy import update
from starlette.routing import Mount

from engine.identity import accounts, audit
from engine.runbook import load_runbook
from engine.service.jobs import create_job, list_jobs
from engine.service.runbooks import save_runbook
from engine.store.db import session_scope
from models import Job, JobStatus, LoginSession, utcnow

pytestmark = pytest.mark.asyncio

# What anyone may open: the sign-in form, and the demo site the examples browse (a
# stand-in website with no data of Jobdeck's), in the test below. Opening more must be a
# decision, made there and in pages/auth_gate.py.

RUNBOOK = """
version: 1
name: waits
title: Waits
steps:
  - {name: open, action: goto, url: "http://127.0.0.1:9/"}
"""


def routes(items, prefix: str = ""):
    """(path, methods) of every route, inside mounts and included routers too."""
    for route in items:
        path = prefix + getattr(route, "path", "")
        if isinstance(route, Mount):
            yield path + "/anything", {"GET"}
            yield from routes(route.routes or [], path)
        elif hasattr(route, "original_router"):  # FastAPI's include_router
            yield from routes(route.original_router.routes,
                              prefix + route.include_context.prefix)
        else:
            yield path, set(getattr(route, "methods", None) or {"GET"}) - {"HEAD"}


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


async def test_every_route_answers_401_or_sends_to_sign_in(app_client):
    simulated, anonymous = app_client
    await sign_in(simulated, "admin")
    await simulated.open("/runbooks")  # a page with an upload: per-client routes exist too
    simulated.find("Add runbook").click()
    found = list(routes(core.app.routes))
    assert any("/upload/" in p for p, _ in found), "no NiceGUI upload route to check"
    assert {"/login", "/api/jobs/{job_id}/events", "/api/artifacts/{artifact_id}", "/jobs",
            "/_nicegui_ws/anything", "/api/schedules/{schedule_id}"} <= {p for p, _ in found}
    opened = set()
    for path, methods in found:
        for method in methods:
            url = concrete(path)
            response = await anonymous.request(method, url)
            if response.status_code == 401 and "bearer" in response.headers.get(
                    "www-authenticate", "").lower():
                continue
            if response.status_code == 303 and response.headers["location"].startswith(
                    "/login?next="):
                continue
            opened.add(path)
    strays = {p for p in opened if p != "/login" and not p.startswith("/demo")}
    assert not strays, f"open without signing in: {strays}"
    assert "/login" in opened and any(p.startswith("/demo/") for p in opened)
    socket = await anonymous.get("/_nicegui_ws/socket.io/?EIO=4&transport=polling")
    assert socket.status_code == 401  # NiceGUI's websocket too


def tokens_for_roles() -> dict[str, str]:
    made = {}
    for role in ("viewer", "operator", "approver", "admin"):
        accounts.create_user(f"{role}-1", role, PASSWORD, by="tests")
        made[role], _ = accounts.create_token(f"{role}-1", "tests", by="tests")
    return made


ACTIONS = [  # (what, method, path, the least role)
    ("see jobs", "GET", "/api/jobs", "viewer"),
    ("see a job", "GET", "/api/jobs/{job}", "viewer"),
    ("start", "POST", "/api/runbooks/waits/jobs", "operator"),
    ("pause", "POST", "/api/jobs/{job}/pause", "operator"),
    ("resume", "POST", "/api/jobs/{job}/resume", "operator"),
    ("cancel", "POST", "/api/jobs/{job}/cancel", "operator"),
    ("rerun", "POST", "/api/jobs/{done}/rerun", "operator"),
    ("retry", "POST", "/api/jobs/{done}/retry", "operator"),
    ("see where a job can be retried from", "GET", "/api/jobs/{done}/retry", "viewer"),
    ("approve", "POST", "/api/jobs/{job}/approve", "approver"),
    ("reject", "POST", "/api/jobs/{job}/reject", "approver"),
    ("apply a healed selector", "POST", "/api/runbooks/waits/healing/apply", "operator"),
    ("add a runbook", "POST", "/api/runbooks", "admin"),
    ("add a schedule", "POST", "/api/schedules", "admin"),
    ("change a schedule", "PATCH", "/api/schedules/999", "admin"),
    ("delete a schedule", "DELETE", "/api/schedules/999", "admin"),
    ("keep a job's files", "PUT", "/api/jobs/{done}/keep", "operator"),
    ("see the storage", "GET", "/api/storage", "admin"),
    ("sweep old files now", "POST", "/api/storage/sweep", "admin"),
]
RANK = ["viewer", "operator", "approver", "admin"]


async def test_each_role_may_do_what_it_may_and_no_more(app_client):
    _, anonymous = app_client
    save_runbook(load_runbook(RUNBOOK, "waits.yaml"))
    tokens = tokens_for_roles()
    job = create_job("waits", started_by="someone")
    done = create_job("waits", started_by="someone")
    with session_scope() as session:
        session.exec(update(Job).where(Job.id == done.id).values(status=JobStatus.failed))
    for role, token in tokens.items():
        for what, method, path, least in ACTIONS:
            response = await anonymous.request(
                method, path.format(job=job.id, done=done.id),
                headers={"Authorization": f"Bearer {token}"},
                json={} if "schedules" not in path else {"runbook": "waits", "cron": "x"},
                content=None)
            allowed = RANK.index(role) >= RANK.index(least)
            if allowed:
                assert response.status_code < 500, (role, what, response.text)
                assert response.status_code not in (401, 403), (role, what, response.text)
            else:
                assert response.status_code == 403, (role, what, response.text)
                assert f"needs the {least} role" in response.json()["detail"]
    refusals, _ = audit.search(audit.AuditFilter(actor="viewer-1"))
    assert {e.action for e in refusals} >= {"start_refused", "approve_refused",
                                            "runbooks_refused"}


async def test_a_viewer_sees_no_buttons_and_no_admin_pages(app_client):
    simulated, _ = app_client
    save_runbook(load_runbook(RUNBOOK, "waits.yaml"))
    job = create_job("waits", started_by="someone")
    await sign_in(simulated, "vera", "viewer")
    await simulated.open(f"/jobs/{job.id}")
    await simulated.should_see("Waits")
    await simulated.should_not_see("Cancel job")
    await simulated.open("/runbooks")
    await simulated.should_see("Waits")
    await simulated.should_not_see("Add runbook")
    await simulated.should_not_see(marker="run-waits")
    for page in ("/users", "/audit", "/secrets"):
        await simulated.open(page)
        await simulated.should_see(marker="forbidden")
    await simulated.open("/account")
    await simulated.should_see("Role: viewer")


async def test_four_eyes_an_approver_cannot_approve_their_own_job(app_client):
    _, anonymous = app_client
    save_runbook(load_runbook(RUNBOOK, "waits.yaml"))
    tokens = tokens_for_roles()
    started = await anonymous.post("/api/runbooks/waits/jobs", json={},
                                   headers={"Authorization": f"Bearer {tokens['approver']}"})
    job_id = started.json()["id"]
    with session_scope() as session:
        session.exec(update(Job).where(Job.id == job_id).values(
            status=JobStatus.waiting_for_approval))
    for decision in ("approve", "reject"):
        own = await anonymous.post(f"/api/jobs/{job_id}/{decision}",
                                   headers={"Authorization": f"Bearer {tokens['approver']}"})
        assert own.status_code == 403 and "four-eyes" in own.json()["detail"]
    other = await anonymous.post(f"/api/jobs/{job_id}/approve",
                                 headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert other.status_code == 200, other.text
    trail, _ = audit.search(audit.AuditFilter(text=str(job_id)))  # a job id finds its events
    assert [(e.actor, e.action) for e in reversed(trail) if e.job_id == job_id] == [
        ("approver-1", "start"), ("approver-1", "approve_refused"),
        ("approver-1", "reject_refused"), ("admin-1", "approve")]


async def test_a_token_made_on_the_account_page_works_until_revoked(app_client, settings):
    simulated, anonymous = app_client
    await sign_in(simulated, "admin")
    await simulated.open("/account")
    simulated.find(marker="token-label").type("nightly export")
    simulated.find(marker="create-token").click()
    await simulated.should_see("it is shown only this once")
    token = simulated.find(marker="token-value").elements.pop().value
    bearer = {"Authorization": f"Bearer {token}"}
    me = await anonymous.get("/api/me", headers=bearer)
    assert me.status_code == 200 and me.json()["name"] == "admin"
    [row] = accounts.list_tokens(accounts.get_user("admin").id)
    assert token not in repr(row)  # only a hash is kept:
    assert token.encode() not in (settings.data_dir / "jobdeck.db").read_bytes()

    simulated.find("Done").click()
    simulated.find(marker=f"revoke-{row.id}").click()
    await simulated.should_see("revoked: it no longer works")
    refused = await anonymous.get("/api/me", headers=bearer)
    assert refused.status_code == 401 and "not valid" in refused.json()["detail"]
    await anonymous.get("/api/me", headers=bearer)  # a script that keeps trying
    events, _ = audit.search(audit.AuditFilter(actor="admin"))
    assert {"token_created", "token_revoked", "token_refused"} <= {e.action for e in events}
    assert [e.action for e in events].count("token_refused") == 1  # not one per request
    assert not any(token in repr(e) for e in events)


FROM_HERE = {"Origin": "http://test"}  # what a browser sends with the sign-in form


async def test_failed_sign_ins_are_limited_and_recorded(app_client):
    _, anonymous = app_client
    accounts.create_user("sam", "operator", PASSWORD, by="tests")
    form = {"name": "sam", "password": "guess"}
    for _ in range(accounts.MAX_FAILURES_PER_NAME):
        wrong = await anonymous.post("/login", data=form, headers=FROM_HERE)
        assert wrong.status_code == 401 and "wrong name or password" in wrong.text
    for _ in range(3):  # held up, also with the right password; these do not add up
        blocked = await anonymous.post("/login", data={"name": "sam", "password": PASSWORD},
                                       headers=FROM_HERE)
        assert blocked.status_code == 429 and "too many failed sign-ins" in blocked.text
        assert "jobdeck_session" not in blocked.headers.get("set-cookie", "")
    failures, total = audit.search(audit.AuditFilter(action="sign_in_failed"))
    assert total == accounts.MAX_FAILURES_PER_NAME
    assert all(e.source and e.target == "user sam" for e in failures)
    held, _ = audit.search(audit.AuditFilter(action="sign_in_throttled"))
    assert len(held) == 3
    assert not any(PASSWORD in repr(e) or "guess" in repr(e) for e in failures + held)

    accounts.create_user("ann", "operator", PASSWORD, by="tests")  # others are not held up
    ok = await anonymous.post("/login", data={"name": "Ann", "password": PASSWORD},
                              headers=FROM_HERE)  # and a name is a name in any case
    assert ok.status_code == 303
    accounts.set_password("sam", "a-new-password", by="admin")  # an admin's reset lifts it
    reset = await anonymous.post("/login", data={"name": "sam", "password": "a-new-password"},
                                 headers=FROM_HERE)
    assert reset.status_code == 303


async def test_the_session_cookie_is_http_only_and_not_sent_cross_site(app_client):
    _, client = app_client
    accounts.create_user("olga", "operator", PASSWORD, by="tests")
    signed = await client.post("/login", data={"name": "olga", "password": PASSWORD,
                                               "next": "//evil.example/"}, headers=FROM_HERE)
    assert signed.status_code == 303 and signed.headers["location"] == "/jobs"  # no open redirect
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert (await client.get("/api/me")).json()["name"] == "olga"

    evil = await client.post("/api/jobs/1/cancel", headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and "cross-site" in evil.json()["detail"]
    unsaid = await client.post("/api/jobs/1/cancel")  # with the cookie, from nowhere
    assert unsaid.status_code == 403
    same = await client.post("/api/jobs/1/cancel", headers={"Origin": "http://test"})
    assert same.status_code == 404  # through the gate; there is no job 1
    login_csrf = await client.post("/login", data={"name": "olga", "password": PASSWORD},
                                   headers={"Origin": "https://evil.example"})
    assert login_csrf.status_code == 403
    # a link from a chat or a wiki opens (reading needs no same-site proof; the rule is by
    # method, so the API shows it without leaving a page open in this simulation)
    linked = await client.get("/api/me", headers={"Referer": "https://chat.example/room",
                                                "Sec-Fetch-Site": "cross-site"})
    assert linked.status_code == 200
    # another site cannot act through the session: NiceGUI's socket posts need this origin
    assert (await client.post("/_nicegui_ws/socket.io/?EIO=4&transport=polling",
                              headers={"Origin": "https://evil.example"})).status_code == 403
    # the demo site on the console's address redirects only within itself
    assert (await client.get("/demo/redirect?to=https://evil.example/")).status_code == 400
    # a viewer's refusal on a job that does not exist is a 403, not an error
    accounts.create_user("vic", "viewer", PASSWORD, by="tests")
    token, _ = accounts.create_token("vic", "t", by="tests")
    missing = await client.post("/api/jobs/99999/approve",
                                headers={"Authorization": f"Bearer {token}"})
    assert missing.status_code == 403


async def test_signing_out_and_an_expired_session_end_access(app_client):
    simulated, _ = app_client
    await sign_in(simulated, "admin")
    await simulated.open("/jobs")
    old = simulated.http_client.cookies["jobdeck_session"]
    simulated.find(marker="sign-out")  # the menu's form posts to /logout, as here:
    out = await simulated.http_client.post("/logout", headers={"Origin": "http://test"})
    assert out.status_code == 303 and out.headers["location"] == "/login?signed_out=1"
    assert 'jobdeck_session=""' in out.headers["set-cookie"]  # the browser forgets it
    back = await simulated.http_client.get("/jobs")
    assert back.status_code == 303 and back.headers["location"].startswith("/login")
    # and the server forgot it: the old cookie, sent again, is refused
    replayed = await simulated.http_client.get("/api/me",
                                               headers={"Cookie": f"jobdeck_session={old}"})
    assert replayed.status_code == 401
    signed_out, _ = audit.search(audit.AuditFilter(action="sign_out"))
    assert [e.actor for e in signed_out] == ["admin"]

    await sign_in(simulated, "admin")
    with session_scope() as session:
        session.exec(update(LoginSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    api = await simulated.http_client.get("/api/jobs")
    assert api.status_code == 401 and "expired" in api.json()["detail"]
    ended, _ = audit.search(audit.AuditFilter(action="session_expired"))
    assert [(e.actor, e.source) for e in ended] == [("admin", "127.0.0.1")]
    await sign_in(simulated, "admin")
    with session_scope() as session:
        session.exec(update(LoginSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    page = await simulated.http_client.get("/jobs/1")
    assert page.status_code == 303 and "expired=1" in page.headers["location"]


async def test_a_role_taken_away_applies_to_an_open_page(app_client):
    simulated, _ = app_client
    save_runbook(load_runbook(RUNBOOK, "waits.yaml"))
    await sign_in(simulated, "opal", "operator")
    await simulated.open("/runbooks")
    simulated.find(marker="run-waits").click()  # the page was built for an operator
    await simulated.should_see("Start job")
    accounts.set_role("opal", "viewer", by="admin")  # meanwhile an admin changes the role
    simulated.find(marker="start-job").click()
    await simulated.should_see("opal is a viewer: starting jobs needs the operator role")
    assert list_jobs()[1] == 0  # nothing was started


async def test_a_disabled_user_is_shut_out_and_the_attempts_are_recorded(app_client):
    simulated, anonymous = app_client
    save_runbook(load_runbook(RUNBOOK, "waits.yaml"))
    job = create_job("waits", started_by="someone")
    await sign_in(simulated, "dora", "operator")
    token, _ = accounts.create_token("dora", "nightly", by="dora")
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await anonymous.get("/api/me", headers=bearer)).status_code == 200
    accounts.set_disabled("dora", True, by="admin")
    refused = await anonymous.post(f"/api/jobs/{job.id}/cancel", headers=bearer)
    assert refused.status_code == 401 and "disabled" in refused.json()["detail"]
    assert (await simulated.http_client.get("/api/me")).status_code == 401  # session ended
    again = await anonymous.post("/login", data={"name": "dora", "password": PASSWORD},
                                 headers={"Origin": "http://test"})
    assert again.status_code == 401 and "this user is disabled" in again.text
    assert list_jobs()[0][0].status == JobStatus.queued  # nothing changed
    events, _ = audit.search(audit.AuditFilter(actor="dora"))
    assert {(e.action, e.comment) for e in events} >= {
        ("token_refused", "the user is disabled"), ("sign_in_failed", "user disabled")}


async def test_the_websocket_is_closed_without_a_session_or_from_another_site(app_client):
    from starlette.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect

    simulated, _ = app_client
    await sign_in(simulated, "admin")
    cookie = f"jobdeck_session={simulated.http_client.cookies['jobdeck_session']}"
    client = TestClient(core.app)  # a real websocket handshake (no lifespan: already up)
    path = "/_nicegui_ws/socket.io/?EIO=4&transport=websocket"
    for headers, code in (({}, 4401),  # no session
                          ({"cookie": cookie, "origin": "https://evil.example"}, 4403)):
        with pytest.raises(WebSocketDisconnect) as closed:
            with client.websocket_connect(path, headers=headers):
                pass
        assert closed.value.code == code
