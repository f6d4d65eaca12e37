"""The frame every page shares: header, navigation and theme."""

from contextlib import contextmanager

from nicegui import app, run, ui

from engine import accounts
from pages.identity import allowed, session_token, viewer

NAV = [("Jobs", "/jobs"), ("Runbooks", "/runbooks"), ("Schedules", "/schedules"),
       ("API", "/docs"), ("Demo site", "/demo/")]


@contextmanager
def frame(title: str):
    ui.colors(primary="#3b5bdb")
    ui.page_title(f"{title} · Jobdeck")
    # kept per browser on the server (browser storage is a cookie, fixed once the page is sent)
    dark = ui.dark_mode(app.storage.user.get("dark"))  # None: follow the system
    with ui.header().classes("items-center px-4 py-1 gap-1 flex-wrap"):
        ui.link("Jobdeck", "/jobs").classes("text-lg font-bold text-white no-underline mr-4")
        for label, target in NAV:
            ui.link(label, target).classes("text-white no-underline px-2 py-1 rounded "
                                           "hover:bg-white/20" + (" gt-xs" if label in (
                                               "API", "Demo site") else ""))
        ui.space()
        ui.button(icon="dark_mode", on_click=lambda: _toggle(dark)).props(
            "flat round dense color=white").tooltip("Dark mode")
        _account_menu()
    with ui.column().classes("w-full max-w-6xl mx-auto p-3 sm:p-6 gap-4"):
        yield


ADMIN_PAGES = [("Users", "/users", "group", "users"), ("Secrets", "/secrets", "key", "secrets"),
               ("Audit log", "/audit", "policy", "audit")]


def _account_menu() -> None:
    me = viewer()
    with ui.button(me.name, icon="account_circle").props(
            "flat no-caps dense color=white").mark("account-menu"):
        with ui.menu():
            ui.item(f"Signed in as {me.name} ({me.role.value})").props("disable")
            ui.menu_item("Your account", lambda: ui.navigate.to("/account"))
            for label, target, _, action in ADMIN_PAGES:
                if allowed(action):
                    ui.menu_item(label, lambda t=target: ui.navigate.to(t))
            ui.separator()
            ui.menu_item("Sign out", _sign_out).mark("sign-out")


async def _sign_out() -> None:
    await run.io_bound(accounts.sign_out, session_token(), viewer())
    ui.navigate.to("/login?signed_out=1")


def _toggle(dark) -> None:
    dark.set_value(not dark.value)
    app.storage.user["dark"] = dark.value
