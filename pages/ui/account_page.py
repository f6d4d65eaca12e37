"""`/account`: your password and your API tokens (a token is shown once, when made)."""

from nicegui import run, ui

from engine.identity import accounts
from pages.ui.display import exact_time, relative_time
from pages.ui.frame import frame
from pages.ui.identity import acting, session_token, viewer


async def account_page() -> None:
    me = viewer()
    with frame("Your account"):
        ui.label(me.name).classes("text-2xl font-semibold")
        ui.label(f"Role: {me.role.value}").classes("text-grey-8").mark("my-role")
        with ui.card().classes("w-full max-w-xl"):
            _password_form()
        with ui.card().classes("w-full"):
            ui.label("API tokens").classes("text-lg font-medium")
            ui.label("For scripts and other programs: send Authorization: Bearer <token> to "
                     "the API (see API in the menu). A token acts as you, with your role."
                     ).classes("text-sm text-grey-8")
            with ui.row().classes("items-center gap-2"):
                label = ui.input("What is it for?", placeholder="e.g. nightly export").props(
                    "dense outlined").classes("w-64").mark("token-label")
                ui.button("Create token", icon="key",
                          on_click=lambda: create(label.value)).props("no-caps").mark(
                    "create-token")
            listing = ui.column().classes("w-full gap-1")

    async def refresh() -> None:
        rows = await run.io_bound(accounts.list_tokens, me.id) or []
        listing.clear()
        with listing:
            if not rows:
                ui.label("No tokens yet.").classes("text-grey-7 text-sm")
            for row in rows:
                _token_row(row, refresh)

    async def create(text: str) -> None:
        if await acting("view") is None:  # the session must still be alive
            return
        try:
            created = await run.io_bound(accounts.create_token, me.name, text or "token",
                                         by=me.name, source=me.source)
        except accounts.AccountError as exc:
            ui.notify(str(exc), type="warning")
            return
        if created is None:  # the server is stopping
            return
        token, row = created
        label.value = ""
        with ui.dialog(value=True) as dialog, ui.card().classes("max-w-xl").mark("new-token"):
            ui.label(f"Token “{row.label}”").classes("text-lg font-medium")
            ui.label("Copy it now: it is shown only this once, and cannot be shown again."
                     ).classes("text-sm")
            ui.input(value=token).props("readonly outlined dense").classes(
                "w-full font-mono").mark("token-value")
            with ui.row().classes("w-full justify-end"):
                ui.button("Copy", icon="content_copy",
                          on_click=lambda: ui.clipboard.write(token)).props("flat no-caps")
                ui.button("Done", on_click=dialog.close).props("no-caps")
        await refresh()

    await refresh()


def _token_row(row, refresh) -> None:
    async def revoke() -> None:
        if await acting("view") is None:
            return
        try:
            await run.io_bound(accounts.revoke_token, row.id, viewer())
        except accounts.AccountError as exc:
            ui.notify(str(exc), type="warning")
            return
        ui.notify(f"Token “{row.label}” revoked: it no longer works", type="positive")
        await refresh()

    with ui.row().classes("w-full items-center gap-3 text-sm").props(
            f'data-token="{row.id}"'):
        ui.label(f"{row.shown_prefix}…").classes("font-mono")
        ui.label(row.label).classes("font-medium")
        ui.label(f"made {relative_time(row.created_at)}").tooltip(exact_time(row.created_at))
        ui.label(f"last used {relative_time(row.last_used_at)}" if row.last_used_at
                 else "never used").classes("text-grey-7")
        ui.space()
        if row.revoked_at:
            ui.badge("revoked", color="grey-6")
        else:
            ui.button("Revoke", color="negative", on_click=revoke).props(
                "flat dense no-caps").mark(f"revoke-{row.id}")


def _password_form() -> None:
    ui.label("Change your password").classes("text-lg font-medium")
    current = ui.input("Current password", password=True).classes("w-full").mark("pw-current")
    new = ui.input("New password", password=True).classes("w-full").mark("pw-new")
    again = ui.input("New password again", password=True).classes("w-full").mark("pw-again")

    async def change() -> None:
        if new.value != again.value:
            ui.notify("The two new passwords differ", type="warning")
            return
        if await acting("view") is None:
            return
        try:
            await run.io_bound(accounts.change_own_password, viewer(), current.value,
                               new.value, session_token())
        except accounts.AccountError as exc:
            ui.notify(f"Not changed: {exc}", type="warning")
            return
        for field in (current, new, again):
            field.value = ""
        ui.notify("Password changed; your other sessions are signed out", type="positive")

    ui.button("Change password", on_click=change).props("no-caps").mark("pw-save")
