"""Starts the console: engine runtime, example runbooks, demo site, then NiceGUI."""

import logging

from nicegui import app, ui

from engine.browser import BrowserNotFound, find_browser
from engine.jobs import load_runbook_dir
from engine.runtime import Runtime
from engine.settings import Settings
from pages import jobs_page  # noqa: F401  (registers the page)
from pages.demo_site import create_demo_app

log = logging.getLogger("jobdeck")


def run_server(settings: Settings) -> None:
    runtime = Runtime(settings)
    for directory in settings.runbook_dirs:
        load_runbook_dir(directory)
    try:
        find_browser(settings.browser_path)
    except BrowserNotFound as exc:
        log.error("%s Jobs will fail until a browser is installed.", exc)
    app.mount("/demo", create_demo_app())

    def on_startup() -> None:
        runtime.start_sweeper()
        if settings.workers > 0:
            runtime.start_workers(settings.workers)
        log.info("Jobdeck on http://%s:%s (data in %s)", settings.host, settings.port,
                 settings.data_dir.resolve())

    app.on_startup(on_startup)
    app.on_shutdown(runtime.stop)
    ui.run(host=settings.host, port=settings.port, title="Jobdeck", reload=False, show=False,
           favicon="🗂️")
