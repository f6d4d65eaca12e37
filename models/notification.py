"""Notification channels (where Jobdeck tells people what happened), the deliveries made
on them, and the notifier's place in the event history (docs/notifications.md)."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from models.common import UTCDateTime, utcnow


class NotificationEvent(StrEnum):
    """What a channel can subscribe to."""

    job_failed = "job_failed"
    job_completed = "job_completed"
    job_recovered = "job_recovered"  # completed after a failure of the same runbook
    approval_requested = "approval_requested"
    approval_expiring = "approval_expiring"  # unanswered at 80 % of approval_timeout_s
    handover_requested = "handover_requested"  # a `handover` step waits for a person
    schedule_missed = "schedule_missed"
    scheduler_down = "scheduler_down"
    channel_unhealthy = "channel_unhealthy"  # another channel keeps failing (to admins)


class DeliveryStatus(StrEnum):
    pending = "pending"  # waiting for its (next) attempt
    sending = "sending"  # claimed by one notifier
    sent = "sent"
    failed = "failed"  # gave up after the last attempt


class NotificationChannel(SQLModel, table=True):
    """An Apprise URL (slack://…, mailto://…, json://…) or an https:// address that gets
    Jobdeck's signed webhook, with the events and runbooks it is for."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    url: str  # never shown again in full: the API and pages show `shown_url`
    shown_url: str  # the URL with its passwords and tokens masked (Apprise's privacy form)
    kind: str  # "apprise" or "webhook"
    # HMAC-SHA256 key of the signed webhook (kind webhook); None for Apprise channels
    signing_secret: str | None = None
    events: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    runbooks: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # []: all
    enabled: bool = True
    created_by: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # deliveries that failed for good in a row; at the limit the channel is unhealthy
    consecutive_failures: int = 0
    unhealthy_since: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NotificationDelivery(SQLModel, table=True):
    """One message to one channel: made once per (channel, key), sent with retries."""

    __table_args__ = (
        # one delivery per channel and happening, however many notifiers see it
        Index("ux_delivery_channel_key", "channel_id", "key", unique=True),
        Index("ix_delivery_status_next", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="notificationchannel.id", index=True)
    event: str  # a NotificationEvent value, or "test"
    key: str  # what happened, e.g. "job_failed:42", "approval_expiring:<event id>"
    job_id: int | None = Field(default=None, index=True)
    title: str
    body: str  # secrets masked
    link: str | None = None
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = DeliveryStatus.pending.value
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NotifierCursor(SQLModel, table=True):
    """The last job event the notifier has looked at (one row, id 1): after a restart it
    goes on from there, and the unique delivery key keeps every message single."""

    id: int = Field(default=1, primary_key=True)
    last_event_id: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
