"""The frame every page shares: header, navigation and theme."""

from contextlib import contextmanager

from nicegui import app, ui

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
    with ui.column().classes("w-full max-w-6xl mx-auto p-3 sm:p-6 gap-4"):
        yield


def _toggle(dark) -> None:
    dark.set_value(not dark.value)
    app.storage.user["dark"] = dark.value
