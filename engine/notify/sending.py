"""Sending deliveries: one message to one channel, through Apprise or the signed webhook.

A delivery is claimed before it is sent, with a compare-and-set (pending -> sending) that
also pushes its next_attempt_at a claim's length ahead: two consoles never send one
delivery at once, and one claimed by a console that died is taken up again after that.
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
from engine.notify.channels import WEBHOOK, ChannelUrlRefused, check_url
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
                 job_id: int | None = None) -> NotificationDelivery | None:
    """A pending delivery of `message` to `channel` for the happening `key` ("event:...",
    its event is the part before the first colon), in the caller's transaction; None when
    this channel already has one for `key` (another notifier, or an earlier round, made it)."""
    if session.exec(select(NotificationDelivery.id).where(
            NotificationDelivery.channel_id == channel.id,
            NotificationDelivery.key == key)).first() is not None:
        return None
    delivery = NotificationDelivery(channel_id=channel.id or 0, event=key.split(":", 1)[0],
                                    key=key, job_id=job_id, title=message.title,
                                    body=message.body, link=message.link,
                                    payload=message.payload)
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


def _claim(delivery_id: int) -> bool:
    """pending (or sending, its claim lapsed) -> sending, one attempt more; False when
    another notifier has it or it is not due."""
    now = utcnow()
    with session_scope() as session:
        result = session.exec(update(NotificationDelivery)
                              .where(col(NotificationDelivery.id) == delivery_id,
                                     col(NotificationDelivery.status).in_(OPEN),
                                     col(NotificationDelivery.next_attempt_at) <= now)
                              .values(status=DeliveryStatus.sending.value,
                                      attempts=col(NotificationDelivery.attempts) + 1,
                                      next_attempt_at=now + timedelta(seconds=CLAIM_S)))
        return result.rowcount == 1


def _apprise(channel: NotificationChannel, delivery: NotificationDelivery) -> None:
    import apprise  # ~0.35 s to import: paid by the consoles that send, not by workers

    sender = apprise.Apprise()
    if not sender.add(channel.url):
        raise SendFailed("Apprise cannot use this channel's URL any more")
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as said:
        ok = sender.notify(body=delivery.body, title=delivery.title)
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


def send_now(delivery_id: int, final: bool = False) -> NotificationDelivery:
    """Claim and attempt one delivery now (whether due or not when `final`, the test
    button's single attempt); the delivery as it is afterwards. Never raises for a failed
    send (the reason is its last_error); NotFound for no such delivery."""
    if final:  # due now, whatever its next_attempt_at said
        with session_scope() as session:
            session.exec(update(NotificationDelivery)
                         .where(col(NotificationDelivery.id) == delivery_id,
                                col(NotificationDelivery.status) == DeliveryStatus.pending.value)
                         .values(next_attempt_at=utcnow()))
    claimed = _claim(delivery_id)
    with read_scope() as session:
        delivery = session.get(NotificationDelivery, delivery_id)
        channel = session.get(NotificationChannel, delivery.channel_id) if delivery else None
    if delivery is None:
        raise NotFound(f"there is no notification delivery {delivery_id}")
    if not claimed or channel is None:  # another notifier has it, or its channel is gone
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
    if error is not None:  # never the real URL (it may hold a token) in what is shown
        error = error.replace(channel.url, channel.shown_url)[:500]
    return _finish(delivery_id, channel, error, final, counts)


def _finish(delivery_id: int, channel: NotificationChannel, error: str | None,
            final: bool, counts: bool) -> NotificationDelivery:
    settings = current_settings()
    now = utcnow()
    with session_scope() as session:
        delivery = session.get(NotificationDelivery, delivery_id)
        assert delivery is not None
        if error is None:
            delivery.status, delivery.sent_at, delivery.last_error = (
                DeliveryStatus.sent.value, now, None)
            session.exec(update(NotificationChannel)
                         .where(col(NotificationChannel.id) == channel.id)
                         .values(consecutive_failures=0, unhealthy_since=None))
            session.add(delivery)
            return delivery
        delivery.last_error = error
        delays = settings.notify_retry_delays
        if not final and delivery.attempts <= len(delays):
            delivery.status = DeliveryStatus.pending.value
            delivery.next_attempt_at = now + timedelta(seconds=delays[delivery.attempts - 1])
            session.add(delivery)
            return delivery
        delivery.status = DeliveryStatus.failed.value
        session.add(delivery)
        if counts:
            _count_failure(session, channel, error, settings.notify_unhealthy_after)
        return delivery


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
    attempted by this notifier."""
    sent = 0
    for delivery_id in due(limit):
        delivery = send_now(delivery_id)
        sent += delivery is not None and delivery.status != DeliveryStatus.sending.value
    return sent
