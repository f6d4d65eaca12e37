"""`/api/notifications`: the channels that tell people what happened (admins only): add,
list, change, remove, send a test message, and see a channel's deliveries."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from engine.identity.access import Actor
from engine.service import notifications
from models import (
    ChannelCreated,
    ChannelRead,
    DeliveryRead,
    ErrorDetail,
    NotificationChannel,
    NotificationDelivery,
    NotificationEvent,
)
from models.api_notifications import ChannelChanged
from pages.api.access import REFUSED, UNSIGNED, Invalid, allowed
from pages.api.limits import MAX_INT

router = APIRouter(prefix="/api/notifications", tags=["notifications"],
                   responses={**UNSIGNED, **REFUSED})
NO_CHANNEL: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorDetail, "description": "No such channel"}}
REFUSED_INPUT: dict[int | str, dict[str, Any]] = {
    422: {"model": Invalid, "description": "Apprise cannot read the URL (its reason), the "
          "address is private (JOBDECK_ALLOW_PRIVATE_HOSTS), or an event is unknown"},
    409: {"model": ErrorDetail, "description": "Another channel has this name"}}
ChannelId = Annotated[int, Path(ge=1, le=MAX_INT, description="the channel's id")]
Name = Annotated[str, Field(min_length=1, max_length=notifications.NAME_MAX,
                             examples=["ops-slack"])]
Url = Annotated[str, Field(
    min_length=1, max_length=4000,
    description="an Apprise URL (slack://…, mailto://…, ntfy://…, json://host/path, …) or "
    "an https:// address for Jobdeck's signed webhook",
    examples=["slack://TokenA/TokenB/TokenC/#ops", "https://hooks.example.com/jobdeck"])]
Runbooks = Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]],
                     Field(max_length=500, description="runbook names; empty: all")]


class ChannelBody(BaseModel):
    name: Name
    url: Url
    events: list[NotificationEvent] = Field(min_length=1, max_length=len(NotificationEvent))
    runbooks: Runbooks = Field(default_factory=list)


class ChannelChanges(BaseModel):
    """Only what is given changes; null means "no change"."""

    name: Name | None = None
    url: Url | None = None
    events: list[NotificationEvent] | None = Field(None, min_length=1,
                                                   max_length=len(NotificationEvent))
    runbooks: Runbooks | None = None
    enabled: bool | None = None


def _plain(value: Any) -> Any:
    """Datetimes as ISO 8601 text, inside dicts and lists too (as models/api.py sends them)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def channel_document(channel: NotificationChannel) -> dict:
    """The channel as the API sends it (ChannelRead): its URL masked (errors are stored
    without the URL's secrets: engine/notify/sending.py)."""
    return _plain(notifications.channel_read(channel))


def delivery_document(delivery: NotificationDelivery) -> dict:
    """One delivery as the API sends it (DeliveryRead)."""
    return _plain({
        "id": delivery.id, "event": delivery.event, "job_id": delivery.job_id,
        "title": delivery.title, "status": delivery.status, "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at, "sent_at": delivery.sent_at,
        "next_attempt_at": delivery.next_attempt_at
        if delivery.status == "pending" else None})


@router.get("", summary="List notification channels", response_model=list[ChannelRead])
def list_channels(actor: Actor = allowed("notifications")) -> list[dict]:
    return [channel_document(c) for c in notifications.list_channels()]


@router.post("", summary="Add a channel (an Apprise URL or an https:// signed webhook)",
             status_code=201, response_model=ChannelCreated, responses=REFUSED_INPUT)
def create(body: ChannelBody, actor: Actor = allowed("notifications")) -> dict:
    channel, secret = notifications.add_channel(
        body.name, body.url, [e.value for e in body.events], body.runbooks or None,
        by=actor.name, source=actor.source)
    return {**channel_document(channel), "signing_secret": secret}


@router.get("/{channel_id}", summary="A channel", response_model=ChannelRead,
            responses=NO_CHANNEL)
def get(channel_id: ChannelId, actor: Actor = allowed("notifications")) -> dict:
    return channel_document(notifications.get_channel(channel_id))


@router.patch("/{channel_id}", summary="Change a channel's name, URL, events, runbooks or "
              "switch it on and off", response_model=ChannelChanged,
              responses={**NO_CHANNEL, **REFUSED_INPUT})
def change(channel_id: ChannelId, body: ChannelChanges,
           actor: Actor = allowed("notifications")) -> dict:
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    if "events" in changes:
        changes["events"] = [NotificationEvent(e).value for e in changes["events"]]
    channel, secret = notifications.update_channel(channel_id, by=actor.name,
                                                   source=actor.source, **changes)
    return {**channel_document(channel), "signing_secret": secret}


@router.delete("/{channel_id}", summary="Remove a channel and its deliveries",
               status_code=204, responses=NO_CHANNEL)
def remove(channel_id: ChannelId, actor: Actor = allowed("notifications")) -> None:
    notifications.remove_channel(channel_id, by=actor.name, source=actor.source)


@router.post("/{channel_id}/test", summary="Send a test message now (one attempt) and say "
             "how it went", response_model=DeliveryRead, responses=NO_CHANNEL)
def test(channel_id: ChannelId, actor: Actor = allowed("notifications")) -> dict:
    delivery = notifications.test_channel(channel_id, by=actor.name, source=actor.source)
    return delivery_document(delivery)


@router.get("/{channel_id}/deliveries", summary="A channel's deliveries, newest first",
            response_model=list[DeliveryRead], responses=NO_CHANNEL)
def deliveries(channel_id: ChannelId, actor: Actor = allowed("notifications"),
               limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict]:
    return [delivery_document(d) for d in notifications.deliveries(channel_id, limit=limit)]
