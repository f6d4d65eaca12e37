"""Notification channels, the engine's public API: add, change, test and remove them, read
them with their deliveries. What is sent and when: engine/notify/ and docs/notifications.md.

Role checks are the caller's (access rule "notifications", admin); every change is audited
here, with the channel's masked URL, never the real one."""

import secrets

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from engine.errors import Conflict, InvalidInput, NotFound
from engine.identity import audit
from engine.notify.channels import WEBHOOK, ChannelUrlRefused, check_url
from engine.notify.messages import test_message
from engine.notify.sending import add_delivery, send_claimed
from engine.store.db import read_scope, session_scope
from models import NotificationChannel, NotificationDelivery, NotificationEvent, utcnow

__all__ = ["ChannelUrlRefused", "SUBSCRIBABLE", "add_channel", "channel_read", "deliveries",
           "get_channel", "list_channels", "remove_channel", "test_channel", "update_channel"]

# What a person subscribes a channel to; channel_unhealthy goes to every other channel.
SUBSCRIBABLE = [e.value for e in NotificationEvent if e is not NotificationEvent.channel_unhealthy]
NAME_MAX = 80


def _events(events: list[str] | None) -> list[str]:
    chosen = [str(e).strip() for e in (events or []) if str(e).strip()]
    if not chosen:
        raise InvalidInput("choose at least one event: " + ", ".join(SUBSCRIBABLE))
    unknown = [e for e in chosen if e not in SUBSCRIBABLE]
    if unknown:
        raise InvalidInput(f"unknown event(s): {', '.join(unknown)}; the events are "
                           + ", ".join(SUBSCRIBABLE))
    return list(dict.fromkeys(chosen))


def _runbooks(runbooks: list[str] | None) -> list[str]:
    return list(dict.fromkeys(str(r).strip() for r in (runbooks or []) if str(r).strip()))


def _name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX or any(ord(c) < 32 for c in name):
        raise InvalidInput(f"give the channel a name of 1 to {NAME_MAX} printable characters")
    return name


def _stored(session, channel_id: int) -> NotificationChannel:
    channel = session.get(NotificationChannel, channel_id)
    if channel is None:
        raise NotFound(f"there is no notification channel {channel_id}")
    return channel


def _name_taken(session, name: str, but: int | None = None) -> None:
    query = select(NotificationChannel).where(NotificationChannel.name == name)
    found = session.exec(query).first()
    if found is not None and found.id != but:
        raise Conflict(f'a notification channel named "{name}" exists already')


def add_channel(name: str, url: str, events: list[str], runbooks: list[str] | None = None, *,
                by: str, source: str | None = None) -> tuple[NotificationChannel, str | None]:
    """A new channel and, for a webhook (http(s)://), its signing secret: shown this once,
    None for Apprise URLs. `runbooks` empty or None: every runbook. InvalidInput (an
    unknown or no event, a URL Apprise cannot parse -> its reason, a private host not in
    JOBDECK_ALLOW_PRIVATE_HOSTS), Conflict (the name is taken)."""
    name, chosen, only = _name(name), _events(events), _runbooks(runbooks)
    checked = check_url(url)
    signing = secrets.token_hex(32) if checked.kind == WEBHOOK else None
    channel = NotificationChannel(name=name, url=checked.url, shown_url=checked.shown_url,
                                  kind=checked.kind, signing_secret=signing, events=chosen,
                                  runbooks=only, created_by=by)
    try:
        with session_scope() as session:
            _name_taken(session, name)
            session.add(channel)
            session.flush()
            audit.record(by, "notification_channel_added", target=name, source=source,
                         comment=f"{checked.shown_url} · {', '.join(chosen)}", session=session)
    except IntegrityError:  # a racing add of the same name
        raise Conflict(f'a notification channel named "{name}" exists already') from None
    return channel, signing


def list_channels() -> list[NotificationChannel]:
    """Every channel, by name."""
    with read_scope() as session:
        return list(session.exec(select(NotificationChannel)
                                 .order_by(col(NotificationChannel.name))))


def get_channel(channel_id: int) -> NotificationChannel:
    """One channel; NotFound."""
    with read_scope() as session:
        return _stored(session, channel_id)


def update_channel(channel_id: int, *, by: str, source: str | None = None,
                   name: str | None = None, url: str | None = None,
                   events: list[str] | None = None, runbooks: list[str] | None = None,
                   enabled: bool | None = None) -> tuple[NotificationChannel, str | None]:
    """Change what is given (None: unchanged; runbooks=[]: every runbook); the channel and,
    when this change made it a webhook, its new signing secret (shown this once, as on
    add_channel), else None. A new URL is checked as in add_channel; a webhook that stays
    one keeps its secret, one that becomes an Apprise URL loses it. Enabling a channel
    clears its failure count. NotFound, InvalidInput, Conflict."""
    checked = check_url(url) if url is not None else None
    signing = None
    with session_scope() as session:
        channel = _stored(session, channel_id)
        changed = []
        if name is not None and _name(name) != channel.name:
            _name_taken(session, _name(name), but=channel_id)
            changed.append(f"name {channel.name} -> {_name(name)}")
            channel.name = _name(name)
        if checked is not None and checked.url != channel.url:
            if checked.kind == WEBHOOK and not channel.signing_secret:
                channel.signing_secret = signing = secrets.token_hex(32)
            elif checked.kind != WEBHOOK:
                channel.signing_secret = None
            channel.url, channel.shown_url, channel.kind = (checked.url, checked.shown_url,
                                                            checked.kind)
            changed.append(f"url {checked.shown_url}")
        if events is not None:
            channel.events = _events(events)
            changed.append("events " + ", ".join(channel.events))
        if runbooks is not None:
            channel.runbooks = _runbooks(runbooks)
            changed.append("runbooks " + (", ".join(channel.runbooks) or "all"))
        if enabled is not None and enabled != channel.enabled:
            channel.enabled = enabled
            if enabled:  # a fresh start: it was probably fixed
                channel.consecutive_failures, channel.unhealthy_since = 0, None
            changed.append("enabled" if enabled else "disabled")
        channel.updated_at = utcnow()
        session.add(channel)
        audit.record(by, "notification_channel_changed", target=channel.name, source=source,
                     comment="; ".join(changed) or "nothing", session=session)
        session.flush()
    return channel, signing


def remove_channel(channel_id: int, *, by: str, source: str | None = None) -> None:
    """Delete a channel and its deliveries. NotFound."""
    with session_scope() as session:
        channel = _stored(session, channel_id)
        session.exec(delete(NotificationDelivery)
                     .where(col(NotificationDelivery.channel_id) == channel_id))
        session.delete(channel)
        audit.record(by, "notification_channel_removed", target=channel.name, source=source,
                     comment=channel.shown_url, session=session)


def test_channel(channel_id: int, *, by: str, source: str | None = None) -> NotificationDelivery:
    """Send a test message now, one attempt, in the caller's thread (up to the send
    timeout, ~10 s); the delivery with its status ("sent" or "failed") and last_error.
    The delivery is made already claimed, so no notifier sends or retries it. A failed
    test does not count against the channel's health. NotFound."""
    channel = get_channel(channel_id)
    message = test_message(channel.name, by)
    with session_scope() as session:
        delivery = add_delivery(session, channel, f"test:{secrets.token_hex(8)}", message,
                                claim=True)
        audit.record(by, "notification_channel_tested", target=channel.name, source=source,
                     comment=channel.shown_url, session=session)
    assert delivery is not None and delivery.id is not None  # a fresh key is never a duplicate
    sent = send_claimed(delivery.id, 1, final=True)  # claimed at attempt 1
    if sent is None:  # the channel was removed meanwhile
        raise NotFound(f"there is no notification channel {channel_id}")
    return sent


def deliveries(channel_id: int, limit: int = 50) -> list[NotificationDelivery]:
    """The channel's deliveries, newest first. NotFound."""
    with read_scope() as session:
        _stored(session, channel_id)
        return list(session.exec(select(NotificationDelivery)
                                 .where(NotificationDelivery.channel_id == channel_id)
                                 .order_by(col(NotificationDelivery.id).desc())
                                 .limit(max(1, min(limit, 500)))))


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def channel_read(channel: NotificationChannel) -> dict:
    """The API's view of a channel: never its real URL or signing secret. {id, name, url
    (masked), kind, events, runbooks, enabled, healthy, consecutive_failures,
    unhealthy_since, created_at, created_by, last_delivery: {status, attempts, last_error,
    at} or None}; times ISO 8601, UTC."""
    with read_scope() as session:
        last = session.exec(select(NotificationDelivery)
                            .where(NotificationDelivery.channel_id == channel.id)
                            .order_by(col(NotificationDelivery.id).desc()).limit(1)).first()
    return {
        "id": channel.id, "name": channel.name, "url": channel.shown_url, "kind": channel.kind,
        "events": list(channel.events), "runbooks": list(channel.runbooks),
        "enabled": channel.enabled, "healthy": channel.unhealthy_since is None,
        "consecutive_failures": channel.consecutive_failures,
        "unhealthy_since": _iso(channel.unhealthy_since),
        "created_at": _iso(channel.created_at), "created_by": channel.created_by,
        "last_delivery": None if last is None else {
            "status": last.status, "attempts": last.attempts, "last_error": last.last_error,
            "at": _iso(last.sent_at or last.created_at)},
    }
