"""`/notifications` (admins): the channels that tell people what happened. Each shows its
masked URL, events, runbooks, health and last delivery, a Test button and its deliveries;
Add channel takes an Apprise URL or an https:// address for the signed webhook, whose
signing secret is shown once."""

from datetime import datetime
from typing import Any

from nicegui import run, ui

from engine.errors import JobdeckError
from engine.service import notifications, runbooks
from models import DeliveryStatus, NotificationChannel, NotificationEvent
from pages.ui.display import exact_time, relative_time
from pages.ui.frame import frame
from pages.ui.identity import acting, admin_only

# what each event means, as the Add channel dialog offers it
EVENT_LABELS = {
    NotificationEvent.job_failed: "A job failed",
    NotificationEvent.job_completed: "A job completed",
    NotificationEvent.job_recovered: "A job completed after its runbook's last job failed",
    NotificationEvent.approval_requested: "A job waits for approval",
    NotificationEvent.approval_expiring: "An approval is still unanswered at 80 % of its time",
    NotificationEvent.handover_requested: "A job waits for someone to take control",
    NotificationEvent.schedule_missed: "A schedule missed a run",
    NotificationEvent.scheduler_down: "No scheduler is running",
    NotificationEvent.channel_unhealthy: "Another channel keeps failing",
}
FIRST_EVENTS = [NotificationEvent.job_failed.value, NotificationEvent.approval_requested.value]
URL_HELP = ("An Apprise URL: Slack, Microsoft Teams, Discord, e-mail, ntfy, Matrix, Telegram "
            "and 100 more services, each written as a URL. Or an https:// address: Jobdeck "
            "POSTs JSON there, signed with HMAC-SHA256 (docs/notifications.md).")
URL_EXAMPLES = ["slack://TokenA/TokenB/TokenC/#ops", "msteams://team/TokenA/TokenB/TokenC",
                "mailto://user:password@example.com?to=ops@example.com",
                "ntfy://ntfy.sh/jobdeck-alerts", "json://hooks.example.com/jobdeck",
                "https://hooks.example.com/jobdeck"]
STATUS_COLOR = {DeliveryStatus.sent.value: "positive", DeliveryStatus.failed.value: "negative",
                DeliveryStatus.pending.value: "warning", DeliveryStatus.sending.value: "primary"}
SHOWN_DELIVERIES = 20


def _time(value: datetime | str | None) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def load() -> list[tuple[dict, list]]:
    """Each channel as `channel_read` gives it, with its latest deliveries."""
    return [(notifications.channel_read(c), notifications.deliveries(c.id, SHOWN_DELIVERIES))
            for c in notifications.list_channels() if c.id is not None]


async def apply(function, *args, on_error=None, **kwargs) -> tuple[bool, Any]:
    """Run a channel change as the viewer (who must still be an admin): (True, what it
    returned), or (False, None) when refused; the engine's refusal goes to `on_error` (a
    dialog's error line), else to a notification."""
    actor = await acting("notifications")
    if actor is None:
        return False, None
    try:
        return True, await run.io_bound(function, *args, by=actor.name, source=actor.source,
                                        **kwargs)
    except JobdeckError as exc:
        (on_error or (lambda m: ui.notify(m, type="warning", multi_line=True)))(str(exc))
        return False, None


async def notifications_page() -> None:
    with frame("Notifications"):
        if not await admin_only("notifications"):
            return
        with ui.row().classes("w-full items-center"):
            ui.label("Notifications").classes("text-2xl font-semibold")
            ui.space()
            ui.button("Add channel", icon="add_alert", on_click=lambda: _add_dialog(refresh)
                      ).props("no-caps").mark("add-channel")
        ui.label("Channels tell people when a job fails, waits for approval or a schedule "
                 "misses a run: in Slack, Teams, e-mail, ntfy and more, or as a signed "
                 "webhook. Secrets are masked in every message.").classes(
            "text-sm text-grey-8")
        listing = ui.column().classes("w-full gap-2")

    async def refresh() -> None:
        rows = await run.io_bound(load)
        if rows is None or listing.is_deleted:  # stopping, or the tab went away
            return
        listing.clear()
        with listing:
            if not rows:
                ui.label("No channels yet: nobody hears of a failed job unless they look."
                         ).classes("text-grey-7").mark("no-channels")
            for channel, sent in rows:
                _channel_card(channel, sent, refresh)

    await refresh()


def _channel_card(channel: dict, sent: list, refresh) -> None:
    cid = channel["id"]

    async def test() -> None:
        ui.notify(f"Sending a test message to {channel['name']}…")
        done, delivery = await apply(notifications.test_channel, cid)
        if done and delivery is not None:
            if delivery.status == DeliveryStatus.sent.value:
                ui.notify(f"Test message sent to {channel['name']}", type="positive")
            else:
                ui.notify(f"The test message to {channel['name']} failed: "
                          f"{delivery.last_error or delivery.status}", type="negative",
                          multi_line=True)
        await refresh()

    async def toggle(e) -> None:
        await apply(notifications.update_channel, cid, enabled=e.value)
        await refresh()

    with ui.card().classes("w-full").props(f'data-channel="{cid}"'):
        with ui.row().classes("w-full items-center gap-3 no-wrap"):
            with ui.column().classes("gap-1 grow min-w-0"):
                with ui.row().classes("items-center gap-2"):
                    ui.label(channel["name"]).classes("text-lg font-medium")
                    ui.badge(channel["kind"], color="grey-6").props("outline")
                    if channel["healthy"]:
                        ui.badge("healthy", color="positive").mark(f"health-{cid}")
                    else:
                        ui.badge(f"unhealthy: {channel['consecutive_failures']} failures in a "
                                 "row", color="negative").mark(f"health-{cid}").tooltip(
                            f"since {exact_time(_time(channel['unhealthy_since']))}")
                ui.label(channel["url"]).classes("font-mono text-sm break-all").mark(
                    f"url-{cid}")
                with ui.row().classes("gap-1"):
                    for event in channel["events"]:
                        ui.chip(event).props("dense outline").classes("text-xs")
                ui.label("for " + (", ".join(channel["runbooks"]) or "all runbooks")).classes(
                    "text-xs text-grey-7")
                _last_delivery(channel["last_delivery"], cid)
            with ui.row().classes("items-center gap-2 no-wrap shrink-0"):
                ui.switch("on" if channel["enabled"] else "off", value=channel["enabled"],
                          on_change=toggle).mark(f"switch-channel-{cid}")
                ui.button("Test", icon="send", on_click=test).props("outline no-caps").mark(
                    f"test-channel-{cid}")
                ui.button(icon="edit", on_click=lambda: _url_dialog(channel, refresh)).props(
                    "flat round").tooltip("Change the URL").mark(f"edit-url-{cid}")
                ui.button(icon="delete", on_click=lambda: _confirm_delete(channel, refresh)
                          ).props("flat round color=negative").tooltip("Remove").mark(
                    f"delete-channel-{cid}")
        with ui.expansion(f"Deliveries ({len(sent)}{'+' if len(sent) == SHOWN_DELIVERIES else ''})",
                          icon="outbox").classes("w-full text-sm").mark(f"deliveries-{cid}"):
            if not sent:
                ui.label("Nothing sent yet.").classes("text-grey-7")
            for delivery in sent:
                _delivery_row(delivery)


def _last_delivery(last: dict | None, cid: int) -> None:
    if last is None:
        ui.label("nothing sent yet").classes("text-xs text-grey-7").mark(f"last-{cid}")
        return
    at = _time(last.get("at"))
    text = (f"last delivery: {last['status']}, {last['attempts']} attempt"
            f"{'' if last['attempts'] == 1 else 's'}, {relative_time(at)}")
    if last.get("last_error") and last["status"] != DeliveryStatus.sent.value:
        text += f": {last['last_error']}"
    ui.label(text).classes("text-xs break-words " + (
        "text-negative" if last["status"] == DeliveryStatus.failed.value else "text-grey-7")
    ).mark(f"last-{cid}").tooltip(exact_time(at))


def _delivery_row(delivery) -> None:
    at = delivery.sent_at or delivery.created_at
    with ui.row().classes("w-full items-baseline gap-2 no-wrap"):
        ui.badge(delivery.status, color=STATUS_COLOR.get(delivery.status, "grey"))
        ui.label(exact_time(at)).classes("text-xs font-mono whitespace-nowrap")
        ui.label(f"{delivery.attempts} attempt{'' if delivery.attempts == 1 else 's'}"
                 ).classes("text-xs whitespace-nowrap")
        with ui.column().classes("gap-0 min-w-0"):
            ui.label(f"{delivery.event}: {delivery.title}").classes("text-xs break-words")
            if delivery.last_error:
                ui.label(delivery.last_error).classes("text-xs text-negative break-words")


def page_dialog(**props) -> ui.dialog:
    """An open dialog that belongs to the page, not to the card that opened it (cards are
    redrawn on every change); removed when closed."""
    with ui.context.client.content:
        dialog = ui.dialog(value=True)
    dialog.on_value_change(lambda e: None if e.value else dialog.delete())
    return dialog


def _confirm_delete(channel: dict, refresh) -> None:
    """Asks first: a removed channel's deliveries go with it."""
    with page_dialog() as dialog, ui.card().classes("max-w-md"):
        ui.label(f"Remove channel {channel['name']}? Its deliveries go with it, and nothing "
                 "more is sent there.")
        error = ui.label().classes("text-negative text-sm")

        async def remove() -> None:
            error.text = ""
            done, _ = await apply(notifications.remove_channel, channel["id"],
                                  on_error=error.set_text)
            if done:
                ui.notify(f"Channel {channel['name']} removed")
                await refresh()
                dialog.close()  # last: it deletes the dialog, this handler's place

        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=dialog.close).props("flat no-caps").mark(
                "cancel-remove")
            ui.button("Remove", icon="delete", color="negative", on_click=remove).props(
                "no-caps").mark("confirm-remove")


async def _add_dialog(refresh) -> None:
    names = [r.name for r in await run.io_bound(runbooks.list_runbooks) or []]
    with page_dialog() as dialog, ui.card().classes("w-full max-w-xl no-wrap").style(
            "max-height: calc(100vh - 48px)") as card:
        ui.label("Add a notification channel").classes("text-lg font-medium")
        body = ui.column().classes("w-full min-h-0 overflow-auto no-wrap gap-2 p-1")
    with body:
        name = ui.input("Name", placeholder="ops-slack").classes("w-full").mark("channel-name")
        url = ui.input("URL", placeholder=URL_EXAMPLES[0]).props("autocomplete=off").classes(
            "w-full font-mono").mark("channel-url")
        ui.label(URL_HELP).classes("text-xs text-grey-8")
        with ui.expansion("Examples", icon="help_outline").classes("w-full text-xs"):
            for example in URL_EXAMPLES:
                ui.label(example).classes("font-mono text-xs")
        ui.label("Send a message when").classes("text-sm font-medium mt-2")
        boxes = {event.value: ui.checkbox(label, value=event.value in FIRST_EVENTS).props(
            "dense").mark(f"event-{event.value}") for event, label in EVENT_LABELS.items()
            if event.value in notifications.SUBSCRIBABLE}
        chosen = ui.select(names, multiple=True, label="Runbooks (none chosen: all)",
                           value=[]).props("use-chips").classes("w-full").mark(
            "channel-runbooks")
        error = ui.label().classes("text-negative text-sm whitespace-pre-wrap").mark(
            "channel-error")

        async def save() -> None:
            error.text = ""
            events = [e for e, box in boxes.items() if box.value]
            done, found = await apply(notifications.add_channel, (name.value or "").strip(),
                                      (url.value or "").strip(), events,
                                      list(chosen.value or []) or None, on_error=error.set_text)
            if not done:
                return
            channel, secret = found
            ui.notify(f"Channel {channel.name} added", type="positive")
            await refresh()
            if secret:
                _show_secret(channel, secret)
            dialog.close()  # last: it deletes the dialog, this handler's place

    with card, ui.row().classes("w-full justify-end"):  # below the scrolling form
        ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
        ui.button("Add", icon="check", on_click=save).mark("channel-save")


def _url_dialog(channel: dict, refresh) -> None:
    """A new URL for the channel; a webhook it turns into gets a signing secret, shown once."""
    with page_dialog() as dialog, ui.card().classes("w-full max-w-xl"):
        ui.label(f"Change the URL of {channel['name']}").classes("text-lg font-medium")
        url = ui.input("New URL", placeholder=URL_EXAMPLES[0]).props(
            "autocomplete=off").classes("w-full font-mono").mark("channel-new-url")
        ui.label(URL_HELP).classes("text-xs text-grey-8")
        error = ui.label().classes("text-negative text-sm whitespace-pre-wrap").mark(
            "channel-url-error")

        async def save() -> None:
            error.text = ""
            done, found = await apply(notifications.update_channel, channel["id"],
                                      url=(url.value or "").strip(), on_error=error.set_text)
            if not done:
                return
            changed, secret = found
            ui.notify(f"Channel {changed.name} changed", type="positive")
            await refresh()
            if secret:
                _show_secret(changed, secret)
            dialog.close()  # last: it deletes the dialog, this handler's place

        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
            ui.button("Save", icon="check", on_click=save).mark("channel-url-save")


def _show_secret(channel: NotificationChannel, secret: str) -> None:
    """The webhook's signing key, once: the receiver checks each POST's signature with it."""
    with page_dialog().props("persistent") as dialog, ui.card().classes("w-full max-w-xl"):
        ui.label(f"Signing secret of {channel.name}").classes("text-lg font-medium")
        ui.label("Each POST carries an HMAC-SHA256 of its body made with this key. Keep it "
                 "where your receiver checks the signature: it is shown only now.").classes(
            "text-sm")
        ui.textarea(value=secret).props("readonly autogrow outlined").classes(
            "w-full font-mono").mark("signing-secret")
        with ui.row().classes("w-full justify-end"):
            ui.button("Done", on_click=dialog.close).mark("secret-done")
