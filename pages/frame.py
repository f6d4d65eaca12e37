"""The frame every page shares: header, navigation and theme."""

from contextlib import contextmanager

from nicegui import ui


@contextmanager
def frame(title: str):
    ui.colors(primary="#3b5bdb")
    with ui.header().classes("items-center px-6 py-2"):
        ui.link("Jobdeck", "/").classes("text-xl font-bold text-white no-underline")
        ui.link("Jobs", "/").classes("text-white no-underline ml-6")
        ui.link("Demo site", "/demo/").classes("text-white no-underline ml-4")
    with ui.column().classes("w-full max-w-6xl mx-auto p-6 gap-4"):
        ui.label(title).classes("text-2xl font-semibold")
        yield
