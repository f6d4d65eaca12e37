"""Sending deliveries: one message to one channel, through Apprise or the signed webhook.

A delivery is claimed before it is sent, with a compare-and-set (pending -> sending) that
also pushes its next_attempt_at a claim's length ahead: two consoles never send one
delivery at once, and one claimed by a console that died is taken up again after that.
The attempt number is the claim's token: an outcome is recorded only while the delivery
is still "sending" at that attempt, so a console whose claim lapsed cannot overwrite what
the one that took it over recorded. Apprise never follows a redirect here (a public host
could send the POST on to a private address the URL check never saw).
A failed attempt is retried after each wait of JOBDECK_NOTIFY_RETRY_SECONDS; after the
last one it has failed for good. JOBDECK_NOTIFY_UNHEALTHY_AFTER such failures in a row
mark the channel unhealthy, and the other channels hear of it once."""

import logging
from datetime import timedelta

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from engine.errors import NotFound
from engine.notify import webhook
from engine.notify.channels import WEBHOOK, ChannelUrlRefused, check_url, hide_url
from engine.notify.messages import Message, channel_unhealthy_message
from engine.settings import current_settings
from engine.store.db import read_scope, session_scope
from models import DeliveryStatus, NotificationChannel, NotificationDelivery, utcnow

log = logging.getLogger(__name__)
CLAIM_S = 120  # a claimed delivery is someone's for this long (a send times out in 10 s)
OPEN = (DeliveryStatus.pending.value, DeliveryStatus.sending.value)


class SendFailed(Exception):
    """One attempt failed; the message is the delivery's last_error."""


def add_delivery(session, channel: NotificationChannel, key: str, message: Message,
                 job_id: int | None = None, claim: bool = False) -> NotificationDelivery | None:
    """A pending delivery of `message` to `channel` for the happening `key` ("event:...",
    its event is the part before the first colon), in the caller's transaction; None when
    this channel already has one for `key` (another notifier, or an earlier round, made it).
    `claim`: made already claimed by the caller (status sending, attempt 1), which then
    sends it with send_claimed: no notifier takes it (the test button's)."""
    if session.exec(select(NotificationDelivery.id).where(
            NotificationDelivery.channel_id == channel.id,
            NotificationDelivery.key == key)).first() is not None:
        return None
    delivery = NotificationDelivery(channel_id=channel.id or 0, event=key.split(":", 1)[0],
                                    key=key, job_id=job_id, title=message.title,
                                    body=message.body, link=message.link,
                                    payload=message.payload)
    if claim:
        delivery.status, delivery.attempts = DeliveryStatus.sending.value, 1
        delivery.next_attempt_at = utcnow() + timedelta(seconds=CLAIM_S)
    try:
        with session.begin_nested():  # a racing notifier's insert loses only this row
            session.add(delivery)
    except IntegrityError:
        return None
    return delivery


def due(limit: int = 20) -> list[int]:
    """Ids of deliveries whose (next) attempt is due, oldest due first."""
    with read_scope() as session:
        return list(session.exec(select(NotificationDelivery.id).where(
            col(NotificationDelivery.status).in_(OPEN),
            col(NotificationDelivery.next_attempt_at) <= utcnow())
            .order_by(col(NotificationDelivery.next_attempt_at)).limit(limit)))


def next_attempt_at():
    """When the soonest open delivery's (next) attempt is due, or None."""
    with read_scope() as session:
        return session.exec(select(func.min(NotificationDelivery.next_attempt_at)).where(
            col(NotificationDelivery.status).in_(OPEN))).one()


def _claim(delivery_id: int) -> int | None:
    """pending (or sending, its claim lapsed) -> sending, one attempt more: the attempt's
    number (the claim's token), or None when another notifier has it or it is not due."""
    now = utcnow()
    with session_scope() as session:
        result = session.exec(update(NotificationDelivery)
                              .where(col(NotificationDelivery.id) == delivery_id,
                                     col(NotificationDelivery.status).in_(OPEN),
                                     col(NotificationDelivery.next_attempt_at) <= now)
                              .values(status=DeliveryStatus.sending.value,
                                      attempts=col(NotificationDelivery.attempts) + 1,
                                      next_attempt_at=now + timedelta(seconds=CLAIM_S)))
        if result.rowcount != 1:
            return None
        # ours until the claim lapses (the row is locked by the update until commit)
        return session.exec(select(NotificationDelivery.attempts).where(
            NotificationDelivery.id == delivery_id)).one()


def _apprise(channel: NotificationChannel, delivery: NotificationDelivery) -> None:
    import apprise  # ~0.35 s to import: paid by the consoles that send, not by workers

    plugin = apprise.Apprise.instantiate(
        channel.url, asset=apprise.AppriseAsset(http_redirects=False))
    if plugin is None:
        raise SendFailed("Apprise cannot use this channel's URL any more")
    plugin.redirects = False  # whatever the URL's ?redirect= says
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as said:
        ok = plugin.notify(body=delivery.body, title=delivery.title)
    if not ok:
        lines = [line for line in said.getvalue().splitlines() if line.strip()]
        raise SendFailed("; ".join(lines[-2:]) or "Apprise could not send the message")


def _webhook(channel: NotificationChannel, delivery: NotificationDelivery) -> None:
    body = webhook.body_of(delivery.event, delivery.id or 0, delivery.title, delivery.body,
                           delivery.link, delivery.payload, utcnow().isoformat())
    try:
        webhook.post(channel.url, channel.signing_secret or "", delivery.event,
                     delivery.id or 0, body)
    except webhook.WebhookFailed as exc:
        raise SendFailed(str(exc)) from None


def _attempt(channel: NotificationChannel, delivery: NotificationDelivery) -> None:
    """One attempt; SendFailed with the reason. The target is judged again first: a name
    may resolve to a private address now (JOBDECK_ALLOW_PRIVATE_HOSTS may also have changed)."""
    try:
        check_url(channel.url)
    except ChannelUrlRefused as exc:
        raise SendFailed(str(exc)) from None
    if channel.kind == WEBHOOK:
        _webhook(channel, delivery)
    else:
        _apprise(channel, delivery)


def send_claimed(delivery_id: int, attempt: int, final: bool = False
                 ) -> NotificationDelivery | None:
    """Attempt a delivery this caller claimed at `attempt` (`final`: no retry after it, the
    test button's single attempt); the delivery as it is afterwards (None: it is gone,
    its channel removed). Never raises for a failed send (the reason is its last_error);
    NotFound for no such delivery."""
    with read_scope() as session:
        delivery = session.get(NotificationDelivery, delivery_id)
        channel = session.get(NotificationChannel, delivery.channel_id) if delivery else None
    if delivery is None:
        raise NotFound(f"there is no notification delivery {delivery_id}")
    if channel is None:  # removed since; its deliveries go with it
        return delivery
    error, counts = None, delivery.event != "test"  # a failed test leaves the health be
    if not channel.enabled and delivery.event != "test":
        error, final, counts = "the channel is disabled", True, False
    else:
        try:
            _attempt(channel, delivery)
        except SendFailed as exc:
            error = str(exc)
        except Exception as exc:  # a plugin's own bug must not stop the notifier
            log.exception("notification %s to %s", delivery_id, channel.shown_url)
            error = f"{exc.__class__.__name__}: {exc}"
    if error is not None:  # never the URL's secrets (tokens, passwords) in what is shown
        error = hide_url(error, channel.url, channel.shown_url)[:500]
    return _finish(delivery_id, attempt, channel, error, final, counts)


def _finish(delivery_id: int, attempt: int, channel: NotificationChannel, error: str | None,
            final: bool, counts: bool) -> NotificationDelivery | None:
    """Record attempt number `attempt`'s outcome, if the claim is still this caller's
    (status sending at that attempt): a compare-and-set. The delivery as it is now."""
    now = utcnow()
    mine = (col(NotificationDelivery.id) == delivery_id,
            col(NotificationDelivery.status) == DeliveryStatus.sending.value,
            col(NotificationDelivery.attempts) == attempt)
    with session_scope() as session:
        if error is None:
            values: dict = {"status": DeliveryStatus.sent.value, "sent_at": now,
                            "last_error": None}
        else:
            delays = current_settings().notify_retry_delays
            if not final and attempt <= len(delays):
                values = {"status": DeliveryStatus.pending.value, "last_error": error,
                          "next_attempt_at": now + timedelta(seconds=delays[attempt - 1])}
            else:
                values = {"status": DeliveryStatus.failed.value, "last_error": error}
        recorded = session.exec(update(NotificationDelivery).where(*mine)
                                .values(**values)).rowcount == 1
        if recorded and error is None:
            session.exec(update(NotificationChannel)
                         .where(col(NotificationChannel.id) == channel.id)
                         .values(consecutive_failures=0, unhealthy_since=None))
        elif recorded and counts and values["status"] == DeliveryStatus.failed.value:
            _count_failure(session, channel, error or "",
                           current_settings().notify_unhealthy_after)
        if not recorded:
            log.warning("notification %s: attempt %s ended after its claim lapsed; "
                        "another notifier has it", delivery_id, attempt)
    with read_scope() as session:
        return session.get(NotificationDelivery, delivery_id)


def _count_failure(session, channel: NotificationChannel, error: str, limit: int) -> None:
    """One more delivery failed for good; at `limit` in a row the channel turns unhealthy
    (a compare-and-set, so the other channels hear of it once per outage)."""
    session.exec(update(NotificationChannel)
                 .where(col(NotificationChannel.id) == channel.id)
                 .values(consecutive_failures=col(NotificationChannel.consecutive_failures) + 1))
    now = utcnow()
    turned = session.exec(update(NotificationChannel)
                          .where(col(NotificationChannel.id) == channel.id,
                                 col(NotificationChannel.unhealthy_since).is_(None),
                                 col(NotificationChannel.consecutive_failures) >= max(1, limit))
                          .values(unhealthy_since=now)).rowcount == 1
    if not turned:
        return
    log.warning("notification channel %s is unhealthy: %s", channel.name, error)
    message = channel_unhealthy_message(channel.name, channel.shown_url, max(1, limit), error)
    others = session.exec(select(NotificationChannel).where(
        NotificationChannel.id != channel.id, col(NotificationChannel.enabled).is_(True)))
    for other in others:
        add_delivery(session, other, f"channel_unhealthy:{channel.id}:{now.isoformat()}",
                     message)


def send_due(limit: int = 20) -> int:
    """Attempt every due delivery (up to `limit`), one after the other; how many were
    attempted by this notifier. One that cannot be sent (a bug, a database hiccup) is
    logged and left for its claim to lapse: the others still go."""
    sent = 0
    for delivery_id in due(limit):
        try:
            attempt = _claim(delivery_id)
            if attempt is not None:
                send_claimed(delivery_id, attempt)
                sent += 1
        except Exception:
            log.exception("notification delivery %s", delivery_id)
    return sent
