"""Notifications that must not leak or misfire: private servers named in any Apprise URL
or by e-mail's smtp=, redirects, tokens in a shown URL, two notifiers racing on one
delivery, a late attempt after a lapsed claim, a bad retry setting. Real receivers on
127.0.0.1, Apprise itself."""

import json
import threading
from datetime import timedelta

import notify_receiver
import pytest
from pydantic import ValidationError

from engine.errors import InvalidInput
from engine.identity.audit import AuditFilter, search
from engine.notify import messages, sending
from engine.notify.sending import add_delivery, send_due
from engine.service import notifications as notify
from engine.settings import Settings
from engine.store.db import session_scope
from models import NotificationDelivery, utcnow

# the receiver, these settings and the records ready: shared fixtures
receiver, settings, ready = (notify_receiver.receiver, notify_receiver.settings,
                             notify_receiver.ready)


def test_private_servers_are_refused_under_any_apprise_scheme(ready):
    """Names are resolved for every Apprise service whose server the URL names, and
    e-mail's SMTP server is judged too; http:// only to a non-public address."""
    for url in ("hassio://localhost/abcdefghijk", "kodi://localhost",
                "ncloud://user:pass@localhost/to", "signal://localhost:8080/12345678901",
                "mailto://ops:pw@example.com?smtp=127.0.0.1",
                "mailto://ops:pw@example.com?smtp=localhost"):
        with pytest.raises(InvalidInput, match="JOBDECK_ALLOW_PRIVATE_HOSTS"):
            notify.add_channel("inside", url, ["job_failed"], by="admin")
    with pytest.raises(InvalidInput, match="use https://"):
        notify.add_channel("clear", "http://93.184.215.14/hook", ["job_failed"], by="admin")
    assert notify.list_channels() == []


def test_apprise_follows_no_redirect(ready):
    """A json:// target that answers 302 to another path: that path gets nothing, even
    when the URL asks Apprise to follow redirects."""
    ready.redirects["/moved"] = f"{ready.url}/elsewhere"
    channel, _ = notify.add_channel(
        "moved", f"json://127.0.0.1:{ready.port}/moved?redirect=yes", ["job_failed"],
        by="admin")
    delivery = notify.test_channel(channel.id, by="admin")
    assert delivery.status == "failed" and "302" in (delivery.last_error or "")
    assert len(ready.to("/moved")) == 1
    assert ready.to("/elsewhere") == []


BEARER, PAYLOAD, PATH_TOKEN = "bearer-9d8c7b6a5f", "payload-secret-77", "pathtoken0123456789"


def test_shown_url_masks_headers_payload_and_path_tokens(ready):
    url = (f"json://127.0.0.1:{ready.port}/hook/{PATH_TOKEN}?"
           f"+Authorization=Bearer%20{BEARER}&-token={PAYLOAD}")
    channel, _ = notify.add_channel("headers", url, ["job_failed"], by="admin")
    ready.answers[f"/hook/{PATH_TOKEN}"] = 500
    tested = notify.test_channel(channel.id, by="admin")
    assert tested.status == "failed"
    post = ready.to(f"/hook/{PATH_TOKEN}")[0]
    assert post.headers["Authorization"] == f"Bearer {BEARER}"  # sent, just never shown
    shown = json.dumps([notify.channel_read(notify.get_channel(channel.id)),
                        [d.last_error for d in notify.deliveries(channel.id)],
                        [(e.comment, e.target) for e in search(AuditFilter())[0]]])
    assert "Authorization" in shown and "/hook/" in shown
    for secret in (BEARER, PAYLOAD, PATH_TOKEN):
        assert secret not in shown, secret


def test_racing_notifiers_send_a_delivery_once(ready):
    channel, _ = notify.add_channel("race", f"http://127.0.0.1:{ready.port}/race",
                                    ["job_failed"], by="admin")
    with session_scope() as session:
        delivery = add_delivery(session, channel, "job_failed:race",
                                messages.test_message(channel.name, "admin"))
    assert delivery is not None and delivery.id is not None
    start = threading.Barrier(2)

    def notifier() -> None:
        start.wait()
        send_due()

    racers = [threading.Thread(target=notifier) for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(30)
    assert len(ready.to("/race")) == 1
    assert [(d.status, d.attempts) for d in notify.deliveries(channel.id)] == [("sent", 1)]


def test_a_lapsed_claim_does_not_overwrite_what_another_notifier_recorded(ready):
    channel, _ = notify.add_channel("late", f"http://127.0.0.1:{ready.port}/late",
                                    ["job_failed"], by="admin")
    with session_scope() as session:
        delivery = add_delivery(session, channel, "job_failed:late",
                                messages.test_message(channel.name, "admin"))
    assert delivery is not None and delivery.id is not None
    stalled = sending._claim(delivery.id)  # a console claims it, then stalls
    assert stalled == 1
    with session_scope() as session:  # ... for longer than a claim lasts
        row = session.get(NotificationDelivery, delivery.id)
        assert row is not None
        row.next_attempt_at = utcnow() - timedelta(seconds=1)
        session.add(row)
    assert send_due() == 1  # another console takes it over and sends it
    assert [(d.status, d.attempts) for d in notify.deliveries(channel.id)] == [("sent", 2)]
    ready.answers["/late"] = 500  # the stalled console's attempt fails, late
    sending.send_claimed(delivery.id, stalled)
    [after] = notify.deliveries(channel.id)
    assert (after.status, after.attempts, after.last_error) == ("sent", 2, None)


def test_a_bad_retry_setting_is_refused_at_start():
    with pytest.raises(ValidationError, match="not a wait in seconds"):
        Settings(notify_retry_seconds="10,soon")
    assert Settings(notify_retry_seconds="1, 2.5").notify_retry_delays == [1.0, 2.5]
