"""`/api/notifications` on the real console routes (in this process, a real SQLite file):
channels added, listed, changed, tested against a real receiver on 127.0.0.1 (Jobdeck's
signed webhook and Apprise's json:// target), removed; refusals with their reasons; and a
channel's real URL, with its token, is in no answer."""

import hashlib
import hmac
import json

import httpx
import pytest
import pytest_asyncio
from nicegui import core
from nicegui.testing.user_simulation import user_simulation
from notify_receiver import start_receiver

from engine.identity import accounts
from pages.console import build_console

pytestmark = pytest.mark.asyncio
FIRST_LIFESPAN = core.app.router.lifespan_context  # see tests/pages/conftest.py
TOKEN = "tok-9f8e7d6c5b4a3921"  # in the webhook's path: must never come back
PASSWORD = "pw-5ecret-json"  # in the json:// URL


@pytest.fixture
def receiver():
    found, server = start_receiver()
    yield found
    server.shutdown()


@pytest.fixture
def settings(settings, receiver):
    """The suite's settings, with the receiver's address allowed as a private host."""
    settings.allow_private_hosts += f",127.0.0.1:{receiver.port}"
    return settings


@pytest_asyncio.fixture
async def api(runtime, settings):
    """(admin client, operator client) on the whole console, with API tokens."""
    async with user_simulation():
        core.app.router.lifespan_context = FIRST_LIFESPAN
        build_console(settings, with_demo=False)
        clients = []
        for name, role in (("ada", "admin"), ("otto", "operator")):
            accounts.create_user(name, role, "a-password-for-tests", by="tests")
            token, _ = accounts.create_token(name, "tests", by="tests")
            clients.append(httpx.AsyncClient(
                transport=httpx.ASGITransport(core.app), base_url="http://test",
                headers={"Authorization": f"Bearer {token}"}))
        yield clients
        for client in clients:
            await client.aclose()


async def test_add_list_test_change_and_remove_channels(api, receiver):
    admin, _ = api
    answers: list[httpx.Response] = []

    async def call(method: str, path: str, **options) -> httpx.Response:
        answer = await admin.request(method, path, **options)
        answers.append(answer)
        return answer

    webhook_url = f"{receiver.url}/hook/{TOKEN}"
    made = await call("POST", "/api/notifications", json={
        "name": "ops-hook", "url": webhook_url, "events": ["job_failed", "approval_requested"],
        "runbooks": ["nightly"]})
    assert made.status_code == 201, made.text
    hook = made.json()
    assert hook["kind"] == "webhook" and hook["healthy"] and hook["enabled"]
    assert hook["events"] == ["job_failed", "approval_requested"]
    assert hook["runbooks"] == ["nightly"] and hook["created_by"] == "ada"
    assert hook["url"].startswith(f"{receiver.url}/hook/") and hook["last_delivery"] is None
    secret = hook["signing_secret"]
    assert secret and len(secret) >= 32

    apprise_made = await call("POST", "/api/notifications", json={
        "name": "ops-json", "url": f"json://bot:{PASSWORD}@127.0.0.1:{receiver.port}/apprise",
        "events": ["job_completed"]})
    assert apprise_made.status_code == 201, apprise_made.text
    via_apprise = apprise_made.json()
    assert via_apprise["kind"] == "apprise" and via_apprise["signing_secret"] is None
    assert via_apprise["runbooks"] == []  # all

    listed = (await call("GET", "/api/notifications")).json()
    assert [c["name"] for c in listed] == ["ops-hook", "ops-json"]
    assert all("signing_secret" not in c for c in listed)  # shown once, when added

    # a test message: one attempt now, to the real receiver, signed with the secret
    tested = await call("POST", f"/api/notifications/{hook['id']}/test")
    assert tested.status_code == 200, tested.text
    assert tested.json()["status"] == "sent" and tested.json()["event"] == "test"
    [post] = receiver.to(f"/hook/{TOKEN}")
    assert hmac.compare_digest(post.headers["X-Jobdeck-Signature-256"], "sha256=" + hmac.new(
        secret.encode(), post.body, hashlib.sha256).hexdigest())
    assert json.loads(post.body)  # JSON
    tested = await call("POST", f"/api/notifications/{via_apprise['id']}/test")
    assert tested.json()["status"] == "sent", tested.text
    assert len(receiver.to("/apprise")) == 1

    # a receiver that answers 500: the test says so, with the reason
    receiver.answers[f"/hook/{TOKEN}"] = 500
    failed = (await call("POST", f"/api/notifications/{hook['id']}/test")).json()
    assert failed["status"] == "failed" and "500" in failed["last_error"]
    shown = (await call("GET", f"/api/notifications/{hook['id']}")).json()
    assert shown["last_delivery"]["status"] == "failed"
    sent = (await call("GET", f"/api/notifications/{hook['id']}/deliveries")).json()
    assert [d["status"] for d in sent] == ["failed", "sent"]  # newest first
    assert all(d["attempts"] == 1 for d in sent)

    changed = await call("PATCH", f"/api/notifications/{hook['id']}", json={
        "events": ["job_failed"], "runbooks": [], "enabled": False})
    assert changed.status_code == 200, changed.text
    assert changed.json()["events"] == ["job_failed"] and changed.json()["runbooks"] == []
    assert changed.json()["enabled"] is False and changed.json()["name"] == "ops-hook"

    # an Apprise channel changed into a webhook: its new signing secret, once
    moved = await call("PATCH", f"/api/notifications/{via_apprise['id']}", json={
        "url": f"{receiver.url}/moved/{TOKEN}"})
    assert moved.status_code == 200, moved.text
    new_secret = moved.json()["signing_secret"]
    assert moved.json()["kind"] == "webhook" and new_secret and len(new_secret) >= 32
    assert (await call("POST", f"/api/notifications/{via_apprise['id']}/test")).json()[
        "status"] == "sent"
    [signed] = receiver.to(f"/moved/{TOKEN}")
    assert hmac.compare_digest(signed.headers["X-Jobdeck-Signature-256"], "sha256=" + hmac.new(
        new_secret.encode(), signed.body, hashlib.sha256).hexdigest())
    again = await call("PATCH", f"/api/notifications/{via_apprise['id']}", json={
        "url": f"{receiver.url}/other"})  # a webhook that stays one keeps its secret
    assert again.json()["signing_secret"] is None
    assert "signing_secret" not in (await call(
        "GET", f"/api/notifications/{via_apprise['id']}")).json()
    await call("PATCH", f"/api/notifications/{via_apprise['id']}", json={
        "url": f"json://bot:{PASSWORD}@127.0.0.1:{receiver.port}/apprise"})

    assert (await call("DELETE", f"/api/notifications/{hook['id']}")).status_code == 204
    assert (await call("GET", f"/api/notifications/{hook['id']}")).status_code == 404
    assert (await call("POST", f"/api/notifications/{hook['id']}/test")).status_code == 404
    assert [c["name"] for c in (await call("GET", "/api/notifications")).json()] == ["ops-json"]

    for answer in answers:  # the full URLs were sent in, never out
        assert TOKEN not in answer.text and PASSWORD not in answer.text, answer.text


async def test_refusals_say_why_and_store_nothing(api, receiver):
    admin, operator = api
    bad = await admin.post("/api/notifications", json={
        "name": "typo", "url": "slakc://T000/B000/XXXX", "events": ["job_failed"]})
    assert bad.status_code == 422
    assert "Apprise cannot use this URL" in bad.json()["detail"]
    private = await admin.post("/api/notifications", json={
        "name": "inside", "url": "http://10.1.2.3/hook", "events": ["job_failed"]})
    assert private.status_code == 422 and "10.1.2.3" in private.json()["detail"]
    unknown = await admin.post("/api/notifications", json={
        "name": "odd", "url": f"{receiver.url}/x", "events": ["job_exploded"]})
    assert unknown.status_code == 422
    assert (await admin.get("/api/notifications")).json() == []

    first = await admin.post("/api/notifications", json={
        "name": "ops", "url": f"{receiver.url}/x", "events": ["job_failed"]})
    assert first.status_code == 201
    again = await admin.post("/api/notifications", json={
        "name": "ops", "url": f"{receiver.url}/y", "events": ["job_failed"]})
    assert again.status_code == 409 and "exists already" in again.json()["detail"]

    for method, path in (("GET", "/api/notifications"),
                         ("POST", f"/api/notifications/{first.json()['id']}/test"),
                         ("DELETE", f"/api/notifications/{first.json()['id']}")):
        refused = await operator.request(method, path)
        assert refused.status_code == 403, (method, path)
        assert "needs the admin role" in refused.json()["detail"]
    refused = await operator.post("/api/notifications", json={
        "name": "mine", "url": f"{receiver.url}/z", "events": ["job_failed"]})
    assert refused.status_code == 403
    assert [c["name"] for c in (await admin.get("/api/notifications")).json()] == ["ops"]
    assert receiver.posts == []  # nothing was sent by any of it
