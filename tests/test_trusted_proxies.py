"""Client addresses: X-Forwarded-For is believed only from a proxy listed in
JOBDECK_TRUSTED_PROXIES, so a forged header neither escapes the sign-in limit nor lands in
the audit log."""

import sqlite3

import httpx
import pytest
from support import start_console

from engine.identity import accounts

pytestmark = pytest.mark.slow


def failed_sign_ins(url: str, count: int) -> list[int]:
    """`count` sign-ins with wrong names (so only the per-address limit can apply), each
    claiming another address in X-Forwarded-For; their status codes."""
    codes = []
    for i in range(count):
        answer = httpx.post(f"{url}/login", data={"name": f"nobody{i}", "password": "guess"},
                            headers={"Origin": url, "X-Forwarded-For": f"203.0.113.{i + 1}"})
        codes.append(answer.status_code)
    return codes


def audited_sources(data) -> list[str]:
    with sqlite3.connect(data / "jobdeck.db") as db:
        return [row[0] for row in db.execute(
            "SELECT source FROM auditevent WHERE action = 'sign_in_failed' ORDER BY id")]


def test_a_forged_forwarded_address_is_ignored(tmp_path, site_port):
    data = tmp_path / "data"
    process, url = start_console(data, site_port, JOBDECK_WORKERS="0")
    try:
        codes = failed_sign_ins(url, 25)
    finally:
        process.terminate()
        process.wait(timeout=60)
    limit = accounts.MAX_FAILURES_PER_SOURCE
    assert codes[:limit] == [401] * limit
    assert codes[limit:] == [429] * (25 - limit)  # the real peer is counted, not the header
    sources = audited_sources(data)
    assert len(sources) == limit and set(sources) == {"127.0.0.1"}


def test_a_trusted_proxy_forwards_the_client_address(tmp_path, site_port):
    data = tmp_path / "data"
    process, url = start_console(data, site_port, JOBDECK_WORKERS="0",
                                 JOBDECK_TRUSTED_PROXIES="127.0.0.1")
    try:
        codes = failed_sign_ins(url, 3)
    finally:
        process.terminate()
        process.wait(timeout=60)
    assert codes == [401] * 3
    assert audited_sources(data) == ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
