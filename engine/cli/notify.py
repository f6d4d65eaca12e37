"""`python main.py notify …`: notification channels from a terminal (the console's
Notifications page and /api/notifications do the same). `--as NAME` acts as that user (an
admin; recorded); without it, as the operating system's user, like `secrets set`."""

import json

from rich import box
from rich.console import Console
from rich.table import Table

from engine.cli.accounts import BY
from engine.cli.as_user import SOURCE, acting_user
from engine.cli.errors import exit_code
from engine.errors import JobdeckError
from engine.runtime import open_records
from engine.service import notifications
from engine.settings import Settings
from models import DeliveryStatus

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def _who(as_name: str | None) -> str:
    """Who acts: the user `as_name` (checked: exists, active, an admin), else BY."""
    return acting_user(as_name, "notifications") if as_name else BY


def add_command(settings: Settings, name: str, url: str, events: list[str],
                runbooks: list[str], as_name: str | None) -> int:
    """0 added (a webhook's signing secret printed once, alone on stdout), 2 refused input
    (the URL, an event, no such user), 1 name taken or not allowed."""
    open_records(settings)
    try:
        channel, secret = notifications.add_channel(name, url, events, runbooks or None,
                                                    by=_who(as_name), source=SOURCE)
    except JobdeckError as exc:
        err.print(f"not added: {exc}", style="red", markup=False)
        return exit_code(exc)
    err.print(f"channel {channel.id} ({channel.name}) added: {channel.shown_url}",
              markup=False)
    if secret:
        err.print("its signing secret (HMAC-SHA256 key of each POST), shown only now:")
        print(secret)  # alone on stdout, so a script can capture it
    return 0


def list_command(settings: Settings, as_json: bool) -> int:
    """0; every channel with its masked URL, events, runbooks, health and last delivery."""
    open_records(settings)
    rows = [notifications.channel_read(c) for c in notifications.list_channels()]
    if as_json:  # the shape of GET /api/notifications
        print(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return 0
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1))
    for column in ("id", "name", "url", "events", "runbooks", "state", "last delivery"):
        table.add_column(column, overflow="fold", no_wrap=column in ("id", "state"))
    for row in rows:
        last = row["last_delivery"]
        table.add_row(str(row["id"]), row["name"], row["url"], ", ".join(row["events"]),
                      ", ".join(row["runbooks"]) or "all",
                      ("on" if row["enabled"] else "off") + (
                          "" if row["healthy"] else ", unhealthy"),
                      f"{last['status']} ({last['attempts']})" + (
                          f": {last['last_error']}" if last["last_error"] else "")
                      if last else "-")
    console.print(table)
    console.print(f"{len(rows)} channels")
    return 0


def test_command(settings: Settings, channel_id: int, as_name: str | None) -> int:
    """0 the test message was sent, 1 it failed (the error printed) or not allowed, 2 no
    such channel or user."""
    open_records(settings)
    try:
        delivery = notifications.test_channel(channel_id, by=_who(as_name), source=SOURCE)
    except JobdeckError as exc:
        err.print(str(exc), style="red", markup=False)
        return exit_code(exc)
    if delivery.status == DeliveryStatus.sent.value:
        console.print(f"test message sent to channel {channel_id}")
        return 0
    err.print(f"the test message to channel {channel_id} failed: "
              f"{delivery.last_error or delivery.status}", style="red", markup=False)
    return 1


def remove_command(settings: Settings, channel_id: int, as_name: str | None) -> int:
    """0 removed, 2 no such channel or user, 1 not allowed."""
    open_records(settings)
    try:
        notifications.remove_channel(channel_id, by=_who(as_name), source=SOURCE)
    except JobdeckError as exc:
        err.print(str(exc), style="red", markup=False)
        return exit_code(exc)
    console.print(f"channel {channel_id} removed")
    return 0
