"""The bodies `/api/notifications` answers with (pages/api/notifications.py): a channel as
`engine.service.notifications.channel_read` describes it, its deliveries, and the answer to
adding one (or changing one into a webhook), which alone carries a webhook's signing
secret. A channel's URL is always the
masked form; times are ISO 8601 text, as in models/api.py."""

from typing import Literal

from pydantic import BaseModel, Field

from models.api import IsoTime


class LastDelivery(BaseModel):
    """How the channel's latest message went."""

    status: str = Field(description="pending, sending, sent or failed")
    attempts: int
    last_error: str | None
    at: IsoTime | None = Field(description="when it was sent, else when it was made")


class ChannelRead(BaseModel):
    """A notification channel: where messages go (its URL with passwords and tokens masked),
    what it is for, and whether it works."""

    id: int
    name: str
    url: str = Field(description="the URL with its passwords and tokens masked; the full URL "
                     "is never sent back", examples=["slack://T1JJ3T3L2/A...C/T...4/#ops"])
    kind: Literal["apprise", "webhook"] = Field(
        description="apprise: an Apprise URL; webhook: Jobdeck's signed JSON POST to an "
        "https:// address")
    events: list[str] = Field(examples=[["job_failed", "approval_requested"]])
    runbooks: list[str] = Field(description="the runbooks it is for; empty: all")
    enabled: bool
    healthy: bool = Field(description="false after too many failed deliveries in a row")
    consecutive_failures: int
    unhealthy_since: IsoTime | None
    created_at: IsoTime
    created_by: str | None
    last_delivery: LastDelivery | None


class ChannelCreated(ChannelRead):
    """A channel just added. `signing_secret` is the webhook's HMAC-SHA256 key, shown only
    in this answer (null for Apprise channels): keep it where the receiver checks it."""

    signing_secret: str | None


class ChannelChanged(ChannelRead):
    """A channel just changed. `signing_secret` is set only when this change made it a
    webhook (its URL changed to an http(s):// address): the new HMAC-SHA256 key, shown
    only in this answer; null otherwise (a webhook that stays one keeps its secret)."""

    signing_secret: str | None


class DeliveryRead(BaseModel):
    """One message to one channel and how its sending went."""

    id: int
    event: str = Field(description='a subscribed event, or "test"')
    job_id: int | None
    title: str
    status: str = Field(description="pending, sending, sent or failed")
    attempts: int
    last_error: str | None
    created_at: IsoTime
    sent_at: IsoTime | None
    next_attempt_at: IsoTime | None = Field(description="when a pending delivery is tried "
                                            "again")
