"""`/users` (admins): add users, change roles, disable, set a new password."""

import secrets

from nicegui import run, ui

from engine.identity import accounts
from models import Role
from pages.ui.display import exact_time, relative_time
from pages.ui.frame import frame
from pages.ui.identity import acting, admin_only

ROLES = {r.value: r.value.capitalize() for r in Role}
ROLE_HELP = ("Viewer: sees jobs and artifacts. Operator: also starts, pauses, resumes, cancels "
             "and re-runs. Approver: also approves and rejects (never a job they started). "
             "Admin: also runbooks, schedules, secrets and users.")


async def users_page() -> None:
    with frame("Users"):
        if not await admin_only("users"):
            return
        with ui.row().classes("w-full items-center"):
            ui.label("Users").classes("text-2xl font-semibold")
            ui.space()
            ui.button("Add user", icon="person_add", on_click=lambda: _add_dialog(refresh)
                      ).props("no-caps").mark("add-user")
        ui.label(ROLE_HELP).classes("text-sm text-grey-8")
        listing = ui.column().classes("w-full gap-2")

    async def refresh() -> None:
        users = await run.io_bound(accounts.list_users) or []
        listing.clear()
        with listing:
            for user in users:
                _user_card(user, refresh)

    await refresh()


async def _change(function, *args, **kwargs) -> bool:
    actor = await acting("users")
    if actor is None:
        return False
    try:
        await run.io_bound(function, *args, by=actor.name, source=actor.source, **kwargs)
    except accounts.AccountError as exc:
        ui.notify(f"Not changed: {exc}", type="warning", multi_line=True)
        return False
    return True


def _user_card(user, refresh) -> None:
    async def set_role(e) -> None:
        if e.value != user.role.value:
            if await _change(accounts.set_role, user.name, e.value):
                ui.notify(f"{user.name} is now {e.value}", type="positive")
            await refresh()

    async def set_active(e) -> None:
        await _change(accounts.set_disabled, user.name, not e.value)
        await refresh()

    with ui.card().classes("w-full").props(f'data-user="{user.name}"'):
        with ui.row().classes("w-full items-center gap-4"):
            with ui.column().classes("gap-0 grow"):
                ui.label(user.name).classes("text-lg font-medium")
                ui.label(f"last sign-in {relative_time(user.last_sign_in_at)}" if
                         user.last_sign_in_at else "never signed in").classes(
                    "text-xs text-grey-7").tooltip(f"added {exact_time(user.created_at)}")
            ui.select(ROLES, value=user.role.value, on_change=set_role).props(
                "dense outlined").classes("w-40").mark(f"role-{user.name}")
            ui.switch("active", value=not user.disabled, on_change=set_active).mark(
                f"active-{user.name}")
            ui.button("New password", on_click=lambda: _password_dialog(user.name)).props(
                "flat no-caps")


def _password_dialog(name: str) -> None:
    with ui.dialog(value=True) as dialog, ui.card().classes("w-96"):
        ui.label(f"A new password for {name}").classes("text-lg font-medium")
        ui.label("Their sessions end; tell them the new password.").classes("text-sm")
        password = ui.input("New password", value=secrets.token_urlsafe(12)).classes("w-full")

        async def save() -> None:
            if await _change(accounts.set_password, name, password.value):
                dialog.close()
                ui.notify(f"Password of {name} set", type="positive")

        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
            ui.button("Set password", on_click=save).props("no-caps")


def _add_dialog(on_added) -> None:
    with ui.dialog(value=True) as dialog, ui.card().classes("w-96").mark("add-user-dialog"):
        ui.label("Add a user").classes("text-lg font-medium")
        name = ui.input("Name").classes("w-full").mark("new-name")
        role = ui.select(ROLES, value="viewer", label="Role").classes("w-full").mark("new-role")
        password = ui.input("Password", value=secrets.token_urlsafe(12)).classes(
            "w-full").mark("new-password")
        ui.label("Give them this password; they can change it on their account page."
                 ).classes("text-xs text-grey-7")

        async def save() -> None:
            if await _change(accounts.create_user, name.value.strip(), role.value,
                             password.value):
                dialog.close()
                ui.notify(f"{name.value} added as {role.value}", type="positive")
                await on_added()

        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
            ui.button("Add", on_click=save).props("no-caps").mark("new-save")
