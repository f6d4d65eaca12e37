"""The URL policy: http(s) only, private addresses only when the server allows them."""

import pytest
from support import step

from engine.runner.url_policy import UrlPolicy
from models import ErrorKind, JobStatus, StepStatus


def blocked_goto(run_runbook, url: str, extra_settings: str = ""):
    detail = run_runbook(f"""
        version: 1
        name: policy
        title: Policy
        settings: {{timeout_ms: 3000, screenshots: off{extra_settings}}}
        steps:
          - {{name: open, action: goto, url: "{url}"}}
        """)
    return detail, step(detail, "open")


def test_file_url_is_blocked(run_runbook):
    detail, opened = blocked_goto(run_runbook, "file:///etc/passwd")
    assert opened.error_kind == ErrorKind.blocked_url
    assert "only http and https" in opened.error_message
    assert detail.job.status == JobStatus.failed


def test_private_address_not_in_the_allow_list_is_blocked(run_runbook, site_port):
    # 127.0.0.2 is loopback but not listed; the request is refused before it is sent.
    _, opened = blocked_goto(run_runbook, f"http://127.0.0.2:{site_port}/")
    assert opened.error_kind == ErrorKind.blocked_url
    assert "JOBDECK_ALLOW_PRIVATE_HOSTS" in opened.error_message


def test_redirect_to_a_blocked_host_is_blocked(run_runbook, site, site_port):
    target = f"http://localhost:{site_port}/"  # same server, but not an allowed host name
    _, opened = blocked_goto(run_runbook, f"{site}/redirect?to={target}")
    assert opened.error_kind == ErrorKind.blocked_url
    assert f"localhost:{site_port}" in opened.error_message


def test_redirect_within_allowed_hosts_is_followed(run_runbook, site):
    detail = run_runbook("""
        version: 1
        name: redirect-ok
        title: Redirect ok
        settings: {base_url: SITE, screenshots: off}
        steps:
          - {name: open, action: goto, url: "/redirect?to=/table"}
          - {name: there, action: assert, url: "*/table"}
        """)
    assert detail.job.status == JobStatus.completed, detail.job.error_message


def test_allowed_hosts_limits_a_runbook(run_runbook, site):
    _, opened = blocked_goto(run_runbook, f"{site}/", ", allowed_hosts: [example.com]")
    assert opened.error_kind == ErrorKind.blocked_url
    assert "allowed_hosts" in opened.error_message


def test_blocked_step_keeps_earlier_results(run_runbook):
    detail = run_runbook("""
        version: 1
        name: mixed
        title: Mixed
        settings: {base_url: SITE, screenshots: off}
        steps:
          - {name: ok, action: goto, url: /}
          - {name: meta, action: goto, url: "http://169.254.169.254/latest/meta-data"}
        """)
    assert step(detail, "ok").status == StepStatus.success
    assert step(detail, "meta").error_kind == ErrorKind.blocked_url


@pytest.mark.parametrize("allow, url, blocked", [
    ([], "http://127.0.0.1:8080/", True),
    (["127.0.0.1:8080"], "http://127.0.0.1:8080/x", False),
    (["127.0.0.1:8080"], "http://127.0.0.1:9090/x", True),
    (["10.0.0.0/8"], "http://10.1.2.3/", False),
    (["10.0.0.0/8"], "http://192.168.1.1/", True),
    (["intranet.local"], "http://intranet.local/", False),
    ([], "http://[::1]/", True),
    ([], "http://169.254.169.254/", True),
    ([], "ftp://example.com/", True),
    ([], "javascript:alert(1)", True),
])
def test_policy_rules(allow, url, blocked):
    assert (UrlPolicy(allow).blocked_reason(url) is not None) is blocked


def blocks_on_record(job_id: int) -> list[str]:
    from engine.identity import audit

    found, _ = audit.search(audit.AuditFilter(action="url_blocked"))
    return [e.target for e in found if e.job_id == job_id]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "chrome://settings/",
                                 "javascript:alert(document.cookie)",
                                 "data:text/html,<script>alert(1)</script>"])
def test_other_schemes_are_blocked_and_audited(run_runbook, url):
    detail, opened = blocked_goto(run_runbook, url)
    assert opened.error_kind == ErrorKind.blocked_url
    assert "only http and https" in opened.error_message
    assert blocks_on_record(detail.job.id) == [url]


def test_a_redirect_to_the_machine_itself_is_blocked_and_audited(run_runbook, site):
    # the demo site is allowed; 127.0.0.1 on another port (this machine's own services,
    # e.g. PostgreSQL on 5432) is not, also when reached by a redirect
    target = "http://127.0.0.1:5432/"
    detail, opened = blocked_goto(run_runbook, f"{site}/redirect?to={target}")
    assert opened.error_kind == ErrorKind.blocked_url
    assert "127.0.0.1:5432" in opened.error_message
    assert blocks_on_record(detail.job.id) == [target]


def test_a_name_that_resolves_to_a_private_address_is_blocked(run_runbook, site_port):
    # "localhost" is a DNS name, not an address: the policy resolves it before asking
    detail, opened = blocked_goto(run_runbook, f"http://localhost:{site_port + 1}/")
    assert opened.error_kind == ErrorKind.blocked_url
    assert "localhost resolves to" in opened.error_message
    assert blocks_on_record(detail.job.id) == [f"http://localhost:{site_port + 1}/"]


@pytest.mark.parametrize("host", [
    "localhost", "localhost.", "sub.localhost", "127.1", "2130706433", "0x7f000001",
    "0177.0.0.1", "0.0.0.0", "::1", "::ffff:127.0.0.1", "::ffff:7f00:1", "169.254.169.254",
    "name.invalid",
])
@pytest.mark.asyncio
async def test_the_guard_judges_a_connection_by_the_address_it_reaches(host):
    """Special names and other spellings of loopback, link-local and unspecified
    addresses, and names that do not resolve: none is let through."""
    address, reason = await UrlPolicy([]).admit(host, 8080)
    assert address is None and reason, (host, address)


@pytest.mark.asyncio
async def test_the_guard_connects_to_the_address_it_judged():
    assert await UrlPolicy(["127.0.0.1:8080"]).admit("127.0.0.1", 8080) == ("127.0.0.1", None)
    allowed = UrlPolicy(["127.0.0.0/8"])
    assert (await allowed.admit("localhost", 8080))[0] in ("127.0.0.1", "::1")
