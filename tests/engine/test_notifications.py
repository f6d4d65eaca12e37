"""Notifications: real jobs in Chromium, real HTTP receivers on 127.0.0.1, Apprise itself.
A receiver checks each signed webhook's HMAC as docs/notifications.md tells a user to."""

import hashlib
import hmac
import json
import threading
from datetime import timedelta

import notify_receiver
import pytest
from notify_receiver import Received
from support import eventually, in_browser_thread

from engine.background.notifier import Notifier, notify_round
from engine.bus import events
from engine.errors import Conflict, InvalidInput
from engine.identity.audit import AuditFilter, search
from engine.notify.detect import detect_round
from engine.notify.sending import send_due
from engine.runbook import load_runbook
from engine.runner.worker import execute_job
from engine.secrets import store as secret_store
from engine.service import notifications as notify
from engine.service.job_actions import act
from engine.service.jobs import create_job, get_job
from engine.service.runbooks import save_runbook
from engine.store.db import session_scope
from models import Job, JobStatus, Schedule, SchedulerLock, utcnow

# the receiver, these settings and the records ready: shared fixtures
receiver, settings, ready = (notify_receiver.receiver, notify_receiver.settings,
                             notify_receiver.ready)

SECRET = "tok-Notify-9931"


def verified(post: Received, secret: str) -> dict:
    """The body, after checking its signature as a receiver must."""
    expected = "sha256=" + hmac.new(secret.encode(), post.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, post.headers["X-Jobdeck-Signature-256"])
    return json.loads(post.body)


def round_until(probe, what: str, seconds: float = 15):
    """Notifier rounds (detection and sending) until `probe()` is truthy."""
    return eventually(lambda: notify_round() is not None and probe(), seconds, what)


FLAKY = """
version: 1
name: nightly
title: Nightly export
settings: {base_url: SITE, timeout_ms: 400, retries: 0, screenshots: off}
params:
  target: {default: "#name"}
secrets: [api_token]
steps:
  - {name: open, action: goto, url: /form}
  - {name: type-it, action: fill, selector: "{{target}}", value: "{{api_token}}"}
"""


def test_signed_webhook_for_failed_completed_and_recovered_jobs(run_runbook, ready, settings):
    secret_store.set_secret("api_token", SECRET, by="admin")
    channel, signing = notify.add_channel(
        "ops hook", f"http://127.0.0.1:{ready.port}/hook",
        ["job_failed", "job_completed", "job_recovered"], by="admin", source="test")
    assert signing and notify.channel_read(channel)["url"] == channel.shown_url
    failed = run_runbook(FLAKY, {"target": f"#missing-{SECRET}"}).job
    assert failed.status == JobStatus.failed
    round_until(lambda: ready.to("/hook", 200), "the failure's webhook")
    body = verified(ready.to("/hook", 200)[0], signing)
    post = ready.to("/hook", 200)[0]
    assert post.headers["X-Jobdeck-Event"] == "job_failed"
    assert body["event"] == "job_failed" and body["title"] == f"Failed: Nightly export #{failed.id}"
    assert "Failed step: type-it" in body["text"] and "Error: " in body["text"]
    assert body["link"] == f"{settings.console_url}/jobs/{failed.id}"
    assert body["data"]["job"]["status"] == "failed"
    assert SECRET.encode() not in post.body

    done = run_runbook(FLAKY).job
    assert done.status == JobStatus.completed
    round_until(lambda: len(ready.to("/hook", 200)) == 3, "completed and recovered")
    kinds = sorted(verified(p, signing)["event"] for p in ready.to("/hook", 200)[1:])
    assert kinds == ["job_completed", "job_recovered"]
    assert all(SECRET.encode() not in p.body for p in ready.posts)
    notify_round()  # nothing twice
    assert len(ready.posts) == 3
    shown = notify.deliveries(channel.id)
    assert [d.status for d in shown] == ["sent"] * 3 and shown[0].attempts == 1
    audited = search(AuditFilter(action="notification_channel_added"))[0]
    assert audited[0].target == "ops hook" and "127.0.0.1" in audited[0].comment


APPROVE = """
version: 1
name: approve-me
title: Approve me
settings: {base_url: SITE, approval_timeout_s: TIMEOUT, screenshots: off}
steps:
  - {name: open, action: goto, url: /form}
  - name: go
    action: wait
    ms: 1
    approval: {message: Send the invoices?, risk: high}
"""


def test_approval_request_is_signed_and_links_to_the_dialog(run_runbook, ready, settings):
    channel, signing = notify.add_channel("approvers", f"http://127.0.0.1:{ready.port}/ap",
                                          ["approval_requested"], ["approve-me"], by="admin")
    job = run_runbook(APPROVE.replace("TIMEOUT", "30"), approver=lambda s: "approve").job
    round_until(lambda: ready.to("/ap", 200), "the approval's webhook")
    body = verified(ready.to("/ap", 200)[0], signing)
    assert body["event"] == "approval_requested"
    assert "Message: Send the invoices?" in body["text"] and "Risk: high" in body["text"]
    assert body["link"] == f"{settings.console_url}/jobs/{job.id}?approve=1"
    # a runbook the channel is not for tells it nothing
    run_runbook(APPROVE.replace("TIMEOUT", "30").replace("approve-me", "other"),
                approver=lambda s: "approve")
    notify_round()
    assert len(ready.to("/ap", 200)) == 1


def test_a_failed_delivery_is_retried(run_runbook, ready):
    channel, signing = notify.add_channel("retry", f"http://127.0.0.1:{ready.port}/retry",
                                          ["job_completed"], by="admin")
    ready.queued.append(500)
    run_runbook(FLAKY.replace("secrets: [api_token]", "secrets: []")
                .replace("{{api_token}}", "x"))
    round_until(lambda: ready.to("/retry", 200), "the retried delivery")
    assert len(ready.to("/retry", 500)) == 1
    delivery = notify.deliveries(channel.id)[0]
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert delivery.last_error is None
    first, second = ready.to("/retry", 500)[0], ready.to("/retry", 200)[0]
    assert first.headers["X-Jobdeck-Delivery"] == second.headers["X-Jobdeck-Delivery"]


def test_apprise_json_target(run_runbook, ready):
    channel, signing = notify.add_channel("json", f"json://127.0.0.1:{ready.port}/apprise",
                                          ["job_completed"], by="admin")
    assert signing is None and channel.kind == "apprise"
    job = run_runbook(FLAKY.replace("secrets: [api_token]", "secrets: []")
                      .replace("{{api_token}}", "x")).job
    round_until(lambda: ready.to("/apprise", 200), "Apprise's JSON POST")
    body = json.loads(ready.to("/apprise", 200)[0].body)
    assert body["title"] == f"Completed: Nightly export #{job.id}"
    assert f"/jobs/{job.id}" in body["message"]


def test_approval_reminder_from_the_notifier_thread(runtime, ready, settings, site):
    """The real thread, on its own: the request, then the reminder at 80 % of 4 s."""
    notify.add_channel("waits", f"http://127.0.0.1:{ready.port}/wait",
                       ["approval_requested", "approval_expiring"], by="admin")
    notifier = Notifier(events.get_bus())
    notifier.start()
    spec = load_runbook(APPROVE.replace("TIMEOUT", "4").replace("SITE", site), "t.yaml")
    save_runbook(spec)
    job = create_job(spec.name)
    running = threading.Thread(target=in_browser_thread, args=(execute_job, job.id),
                               kwargs={"settings": settings, "bus": events.get_bus(),
                                       "heartbeat": runtime.heartbeat}, daemon=True)
    try:
        running.start()
        eventually(lambda: len(ready.to("/wait", 200)) == 2, 15, "the request and the reminder")
        kinds = [json.loads(p.body)["event"] for p in ready.to("/wait", 200)]
        assert kinds == ["approval_requested", "approval_expiring"]
        reminder = json.loads(ready.to("/wait", 200)[1].body)
        assert reminder["title"].startswith("Reminder") and "Times out at" in reminder["text"]
        assert get_job(job.id).job.status == JobStatus.waiting_for_approval
        act(job.id, "approve")
        running.join(30)
        assert get_job(job.id).job.status == JobStatus.completed
    finally:
        notifier.stop()


def test_bad_urls_are_refused_with_the_reason(ready, settings):
    with pytest.raises(InvalidInput, match="Apprise cannot use this URL: .*Slack"):
        notify.add_channel("slack", "slack://only-one-token", ["job_failed"], by="admin")
    with pytest.raises(InvalidInput, match="Unparseable URL"):
        notify.add_channel("nope", "nosuch://x/y", ["job_failed"], by="admin")
    with pytest.raises(InvalidInput, match="JOBDECK_ALLOW_PRIVATE_HOSTS"):
        notify.add_channel("inside", "http://10.1.2.3/hook", ["job_failed"], by="admin")
    with pytest.raises(InvalidInput, match="JOBDECK_ALLOW_PRIVATE_HOSTS"):  # another port
        notify.add_channel("local", f"json://127.0.0.1:{ready.port + 1}/", ["job_failed"],
                           by="admin")
    with pytest.raises(InvalidInput, match="unknown event"):
        notify.add_channel("ev", f"http://127.0.0.1:{ready.port}/", ["job_exploded"], by="a")
    with pytest.raises(InvalidInput, match="at least one event"):
        notify.add_channel("ev", f"http://127.0.0.1:{ready.port}/", [], by="a")
    assert notify.list_channels() == []
    notify.add_channel("fine", f"http://127.0.0.1:{ready.port}/", ["job_failed"], by="a")
    with pytest.raises(Conflict):
        notify.add_channel("fine", f"http://127.0.0.1:{ready.port}/", ["job_failed"], by="a")


def test_masked_url_and_test_message(ready):
    channel, _ = notify.add_channel(
        "mail", f"mailto://ops:hunter2pass@example.com?smtp=127.0.0.1&port={ready.port}",
        ["job_failed"], by="admin")
    shown = notify.channel_read(channel)
    assert "hunter2pass" not in json.dumps(shown) and shown["url"].startswith("mailto://ops:")
    hook, signing = notify.add_channel("t", f"http://127.0.0.1:{ready.port}/test",
                                       ["job_failed"], by="admin")
    delivery = notify.test_channel(hook.id, by="admin")
    assert (delivery.status, delivery.attempts) == ("sent", 1)
    assert verified(ready.to("/test", 200)[0], signing)["event"] == "test"


def test_a_failing_channel_turns_unhealthy_and_the_others_hear_once(run_runbook, ready):
    broken, _ = notify.add_channel("broken", f"http://127.0.0.1:{ready.port}/broken",
                                   ["job_completed"], by="admin")
    other, signing = notify.add_channel("admins", f"http://127.0.0.1:{ready.port}/admins",
                                        ["job_failed"], by="admin")
    ready.queued.extend([503] * 20)  # one try and two retries per delivery, all refused
    plain = FLAKY.replace("secrets: [api_token]", "secrets: []").replace("{{api_token}}", "x")
    for _ in range(2):
        run_runbook(plain)
    round_until(lambda: notify.get_channel(broken.id).unhealthy_since is not None,
                "the channel marked unhealthy")
    read = notify.channel_read(notify.get_channel(broken.id))
    assert (read["healthy"], read["consecutive_failures"]) == (False, 2)
    assert read["last_delivery"]["status"] == "failed" and "503" in read["last_delivery"][
        "last_error"]
    ready.queued.clear()
    round_until(lambda: ready.to("/admins", 200), "the unhealthy notice")
    notice = verified(ready.to("/admins", 200)[0], signing)
    assert notice["event"] == "channel_unhealthy" and '"broken"' in notice["text"]
    run_runbook(plain)  # it keeps failing? no: it works again, and is healthy again
    round_until(lambda: ready.to("/broken", 200), "a delivery that works")
    assert notify.channel_read(notify.get_channel(broken.id))["healthy"]
    assert len(ready.to("/admins", 200)) == 1


def test_missed_schedule_and_scheduler_down_are_told_once(ready):
    channel, signing = notify.add_channel(
        "sched", f"http://127.0.0.1:{ready.port}/sched", ["schedule_missed", "scheduler_down"],
        by="admin")
    now = utcnow()
    with session_scope() as session:  # as the scheduler records them
        session.add(Schedule(runbook_name="nightly", interval_s=3600, misses=[
            {"at": (now + timedelta(seconds=1)).isoformat(),
             "reason": "the scheduler was not running"}]))
        session.add(SchedulerLock(id=1, holder="host-a:123", since=now,
                                  expires_at=now + timedelta(seconds=1)))
    later = now + timedelta(seconds=120)  # the lock lapsed longer than a lease (30 s) ago
    for _ in range(2):
        detect_round(later)
        send_due()
    bodies = [verified(p, signing) for p in ready.to("/sched", 200)]
    assert sorted(b["event"] for b in bodies) == ["schedule_missed", "scheduler_down"]
    down = next(b for b in bodies if b["event"] == "scheduler_down")
    assert "host-a:123" in down["text"]
    missed = next(b for b in bodies if b["event"] == "schedule_missed")
    assert "the scheduler was not running" in missed["text"]


HANDOVER = """
version: 1
name: needs-a-person
title: Needs a person
settings: {base_url: SITE, approval_timeout_s: 4, screenshots: off}
steps:
  - {name: open, action: goto, url: /form}
  - {name: code, action: handover, message: Enter the code sent to the team phone}
"""


def test_a_handover_step_notifies_and_reminds(runtime, ready, settings, site):
    notify.add_channel("people", f"http://127.0.0.1:{ready.port}/people",
                       ["handover_requested", "approval_expiring"], by="admin")
    notifier = Notifier(events.get_bus())
    notifier.start()
    spec = load_runbook(HANDOVER.replace("SITE", site), "t.yaml")
    save_runbook(spec)
    job = create_job(spec.name)
    running = threading.Thread(target=in_browser_thread, args=(execute_job, job.id),
                               kwargs={"settings": settings, "bus": events.get_bus(),
                                       "heartbeat": runtime.heartbeat}, daemon=True)
    try:
        running.start()
        eventually(lambda: len(ready.to("/people", 200)) == 2, 15, "the request and reminder")
        request, reminder = (json.loads(p.body) for p in ready.to("/people", 200))
        assert request["event"] == "handover_requested"
        assert request["title"] == f"A person is needed: Needs a person #{job.id}"
        assert "Enter the code sent to the team phone" in request["text"]
        assert request["link"] == f"{settings.console_url}/jobs/{job.id}"
        assert reminder["event"] == "approval_expiring"
        assert reminder["title"].startswith("Reminder, a person is still needed")
        act(job.id, "cancel")
        running.join(30)
    finally:
        notifier.stop()


def test_a_wait_whose_runbook_is_gone_stops_no_round(ready, site):
    """A request without timeout_s whose runbook no longer loads: the default timeout, and
    the round goes on (it used to raise every round, for every happening)."""
    notify.add_channel("waits", f"http://127.0.0.1:{ready.port}/gone", ["approval_requested"],
                       by="admin")
    spec = load_runbook(APPROVE.replace("TIMEOUT", "30").replace("SITE", site), "t.yaml")
    save_runbook(spec)
    jobs = [create_job(spec.name) for _ in range(2)]
    with session_scope() as session:  # two jobs waiting, as the runner records it
        for job, data in zip(jobs, ({}, {"timeout_s": 30}), strict=True):
            row = session.get(Job, job.id)
            assert row is not None
            row.status = JobStatus.waiting_for_approval
            if not data:
                row.source = "a-source-that-is-gone"
            session.add(row)
            events.record(session, events.APPROVAL_REQUESTED, row.id or 0, step="go",
                          message="Send?", risk="low", **data)
    notify_round()
    assert sorted(json.loads(p.body)["data"]["job"]["id"] for p in ready.to("/gone", 200)) == [
        j.id for j in jobs]
