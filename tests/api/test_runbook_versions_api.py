"""`/api/runbooks/{name}/versions`, `/diff`, `/archive`, `/restore`, and what an archived
runbook refuses through the API. The console runs in-process on a real SQLite file,
signed in through the sign-in form."""

import httpx
import pytest
import pytest_asyncio
from nicegui.testing.user_simulation import user_simulation

from engine.identity import accounts
from pages.console import build_console

pytestmark = pytest.mark.asyncio

PASSWORD = "a-password-for-tests"
YAML = {"Content-Type": "application/x-yaml"}
V1 = ("version: 1\nname: invoices\ntitle: Invoices\n"
      "steps:\n  - {name: open, action: goto, url: 'http://127.0.0.1:9/a'}\n")
V2 = V1.replace("/a'", "/b'")


@pytest_asyncio.fixture
async def client(runtime, settings):
    async with user_simulation() as simulated:
        build_console(settings, with_demo=False)
        for name, role in (("ada", "admin"), ("oliver", "operator")):
            accounts.create_user(name, role, PASSWORD, by="tests")
        simulated.http_client.headers["Origin"] = "http://test"  # the console's own pages
        yield simulated.http_client


async def sign_in(client: httpx.AsyncClient, name: str) -> None:
    client.cookies.clear()
    answer = await client.post("/login", data={"name": name, "password": PASSWORD})
    assert answer.status_code == 303, answer.text


async def test_versions_their_source_and_diff(client):
    await sign_in(client, "ada")
    assert (await client.post("/api/runbooks", content=V1, headers=YAML)).status_code == 201
    assert (await client.post("/api/runbooks", content=V2, headers=YAML)).status_code == 201

    listed = (await client.get("/api/runbooks/invoices/versions")).json()
    assert [(v["version"], v["saved_by"], v["current"]) for v in listed] == [
        (2, "ada", True), (1, "ada", False)]
    one = (await client.get("/api/runbooks/invoices/versions/1")).json()
    assert one["source"] == V1 and one["title"] == "Invoices" and not one["current"]
    diff = (await client.get("/api/runbooks/invoices/diff?from=1&to=2")).json()
    assert diff["from_version"] == 1 and diff["to_version"] == 2
    assert "+  - {name: open, action: goto, url: 'http://127.0.0.1:9/b'}" in diff["diff"]

    missing = await client.get("/api/runbooks/invoices/versions/7")
    assert missing.status_code == 404
    assert missing.json()["detail"] == ('runbook "invoices" has no version 7 (its versions '
                                        "are 1 to 2)")
    assert (await client.get("/api/runbooks/nope/versions")).status_code == 404
    assert (await client.get("/api/runbooks/invoices/diff?from=1")).status_code == 422


async def test_archive_refuses_runs_and_new_yaml_and_restore_allows_them(client):
    await sign_in(client, "ada")
    await client.post("/api/runbooks", content=V1, headers=YAML)

    await sign_in(client, "oliver")
    refused = await client.post("/api/runbooks/invoices/archive")
    assert refused.status_code == 403
    assert "changing runbooks needs the admin role" in refused.json()["detail"]

    await sign_in(client, "ada")
    archived = await client.post("/api/runbooks/invoices/archive")
    assert archived.status_code == 200, archived.text
    assert archived.json()["archived_by"] == "ada" and archived.json()["archived_at"]
    assert (await client.post("/api/runbooks/invoices/archive")).status_code == 409

    started = await client.post("/api/runbooks/invoices/jobs", json={})
    assert started.status_code == 409
    assert "is archived" in started.json()["detail"]
    assert "restore it to run it" in started.json()["detail"]
    again = await client.post("/api/runbooks", content=V2, headers=YAML)
    assert again.status_code == 409 and "restore it to save it again" in again.json()["detail"]
    assert (await client.get("/api/runbooks")).json() == []
    [listed] = (await client.get("/api/runbooks?archived=true")).json()
    assert listed["name"] == "invoices" and listed["archived_by"] == "ada"
    shown = (await client.get("/api/runbooks/invoices")).json()  # still readable
    assert shown["archived_at"] == listed["archived_at"]
    assert (await client.get("/api/runbooks/invoices/versions")).status_code == 200

    restored = await client.post("/api/runbooks/invoices/restore")
    assert restored.status_code == 200 and restored.json()["archived_at"] is None
    assert (await client.post("/api/runbooks/invoices/restore")).status_code == 409
    started = await client.post("/api/runbooks/invoices/jobs", json={})
    assert started.status_code == 201, started.text
    [listed] = (await client.get("/api/runbooks")).json()
    assert listed["archived_at"] is None
    assert (await client.post("/api/runbooks/nope/archive")).status_code == 404
