"""Who is looking at a page, and whether they may act, checked again when they do.

The gate (pages/auth_gate.py) puts the actor on the page's request. A page shows only
what that role may do; a click checks the session and the role again from the database
(an admin may have changed the role, or the user signed out elsewhere) before acting.
"""

from typing import Literal

from nicegui import run, ui

from engine.identity.access import Actor, Forbidden, may, require
from pages.auth_gate import identify, session_cookie


def viewer() -> Actor:
    """The signed-in person of the page being built or handled."""
    return ui.context.client.request.state.actor


def allowed(action: str) -> bool:
    return may(viewer().role, action)


def session_token() -> str | None:
    return session_cookie(ui.context.client.request.headers)


async def signed_in_now() -> Actor | None | Literal[False]:
    """Who holds this page's session or token now, read again from the database; None
    when it ended; False when the server is stopping (no answer)."""
    found = await run.io_bound(identify, ui.context.client.request.headers, viewer().source)
    return False if found is None else found[0]


async def acting(action: str) -> Actor | None:
    """The actor if they may do `action` now; otherwise a message, and None."""
    actor = await signed_in_now()
    if not actor:
        ui.notify("Your session has ended: sign in again.", type="warning")
        ui.navigate.to("/login?expired=1")
        return None
    try:
        await run.io_bound(require, actor, action)  # a refusal is written to the audit log
    except Forbidden as exc:
        ui.notify(str(exc), type="negative", multi_line=True)
        return None
    return actor


async def admin_only(action: str) -> bool:
    """Shows the refusal on the page (and records it) for a role that may not see it."""
    if allowed(action):
        return True
    try:
        await run.io_bound(require, viewer(), action)
    except Forbidden as exc:
        ui.label(str(exc)).classes("text-lg").mark("forbidden")
    return False
