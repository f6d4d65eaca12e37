"""The Notifications page (admins): add a channel through the dialog (a refusal shown in it,
the webhook's signing secret shown once), see it listed with its URL masked, test it
against a real receiver and see how it went, remove it after confirming."""

import pytest
from conftest import sign_in
from nicegui import ui
from notify_receiver import start_receiver
from waiting import eventually

from engine.service import notifications

pytestmark = pytest.mark.asyncio
TOKEN = "tok-0a1b2c3d4e5f6789"


@pytest.fixture
def receiver():
    found, server = start_receiver()
    yield found
    server.shutdown()


@pytest.fixture
def settings(settings, receiver):
    settings.allow_private_hosts += f",127.0.0.1:{receiver.port}"
    return settings


def texts(user) -> list[str]:
    return [e.text for e in user.find(ui.label).elements]


async def test_add_test_and_remove_a_channel(user, receiver):
    await user.open("/notifications")
    await user.should_see(marker="no-channels")
    user.find(marker="add-channel").click()
    await user.should_see("Send a message when")
    user.find(marker="channel-name").type("ops-hook")
    user.find(marker="channel-url").type("slakc://T000/B000/XXXX")
    user.find(marker="channel-save").click()
    await user.should_see("Apprise cannot use this URL", retries=50)  # in the dialog, kept open
    assert notifications.list_channels() == []

    user.find(marker="channel-url").clear().type(f"{receiver.url}/hook/{TOKEN}")
    user.find(marker="event-job_completed").click()  # job_failed is already ticked
    user.find(marker="channel-save").click()
    await user.should_see("Channel ops-hook added")
    [channel] = notifications.list_channels()
    assert set(channel.events) == {"job_failed", "job_completed", "approval_requested"}
    # the signing secret, once, in its own dialog
    [shown] = user.find(marker="signing-secret").elements
    assert shown.value == channel.signing_secret
    user.find(marker="secret-done").click()

    [url] = user.find(marker=f"url-{channel.id}").elements
    assert url.text.startswith(f"{receiver.url}/hook/") and TOKEN not in url.text
    assert not any(TOKEN in t for t in texts(user))
    await user.should_see(marker=f"health-{channel.id}")
    await user.should_see("nothing sent yet")

    user.find(marker=f"test-channel-{channel.id}").click()
    await user.should_see("Test message sent to ops-hook", retries=50)
    assert len(receiver.to(f"/hook/{TOKEN}")) == 1
    await eventually(lambda: _has(user, f"last-{channel.id}", "last delivery: sent, 1 attempt"))

    receiver.answers[f"/hook/{TOKEN}"] = 500
    user.find(marker=f"test-channel-{channel.id}").click()
    await user.should_see("The test message to ops-hook failed: HTTP 500", retries=50)
    await eventually(lambda: _has(user, f"last-{channel.id}", "last delivery: failed"))
    user.find(marker=f"deliveries-{channel.id}").click()
    await user.should_see("Deliveries (2)")

    user.find(marker=f"delete-channel-{channel.id}").click()
    await user.should_see("Remove channel ops-hook?")
    user.find(marker="cancel-remove").click()
    assert len(notifications.list_channels()) == 1  # cancelled: still there
    user.find(marker=f"delete-channel-{channel.id}").click()
    user.find(marker="confirm-remove").click()
    await user.should_see("Channel ops-hook removed")
    await user.should_see(marker="no-channels")
    assert notifications.list_channels() == []


def _has(user, marker: str, text: str) -> None:
    found = [e.text for e in user.find(marker=marker).elements]
    assert any(text in t for t in found), found


async def test_an_operator_sees_the_refusal(user):
    await sign_in(user, "otto", "operator")
    await user.open("/notifications")
    await user.should_see(marker="forbidden")
    await user.should_see("needs the admin role")
    await user.should_not_see(marker="add-channel")
