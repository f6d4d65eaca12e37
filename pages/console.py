"""Builds the console on NiceGUI's app: pages, REST and SSE API, and the demo site."""

from collections.abc import Callable
from typing import Any

from nicegui import app, ui

from engine.demo_site import create_demo_app
from engine.settings import Settings
from pages.api import allow as api_allow
from pages.api.docs import mount_docs
from pages.api.errors import install_error_handlers
from pages.api.limits import RequestLimits
from pages.api.routers import API_ROUTERS
from pages.auth_gate import AuthGate
from pages.trace_viewer import router as trace_viewer_router
from pages.ui import sign_in
from pages.ui.account_page import account_page
from pages.ui.audit_page import audit_page
from pages.ui.job_page import job_page
from pages.ui.jobs_page import jobs_page
from pages.ui.notifications_page import notifications_page
from pages.ui.runbook_page import runbook_page
from pages.ui.runbooks_page import runbooks_page
from pages.ui.schedule_page import schedule_page
from pages.ui.schedules_page import schedules_page
from pages.ui.secrets_page import secrets_page
from pages.ui.storage_page import storage_page
from pages.ui.trace_page import trace_page
from pages.ui.users_page import users_page

PAGES: dict[str, Callable[..., Any]] = {
    "/": jobs_page, "/jobs": jobs_page, "/jobs/{job_id}": job_page,
    "/jobs/{job_id}/trace": trace_page,  # Playwright's trace viewer in the console
    "/runbooks": runbooks_page, "/runbooks/{name}": runbook_page,
    "/schedules": schedules_page, "/schedules/{schedule_id}": schedule_page,
    "/account": account_page, "/users": users_page,
    "/audit": audit_page, "/secrets": secrets_page,
    "/notifications": notifications_page, "/storage": storage_page}


def build_console(settings: Settings, with_demo: bool = True) -> None:
    """Register every route; called once per process (and once per page test), after the
    process's Runtime was built from the same `settings`."""
    # every route below needs a session or a token; a browser opening one of these paths
    # (or the API docs, or signing out) without one is sent to the sign-in form
    app.add_middleware(RequestLimits)  # inside the gate: only callers it let in are read
    app.add_middleware(AuthGate, pages=[*PAGES, "/docs", "/logout"])
    app.include_router(sign_in.router)
    for path, page in PAGES.items():
        ui.page(path)(page)
    install_error_handlers(app)
    for router in API_ROUTERS:
        app.include_router(router)
    app.include_router(trace_viewer_router)  # the viewer's files, under /trace/
    app.include_router(api_allow.router)  # last: what no API route took
    mount_docs()
    if with_demo:
        app.mount("/demo", create_demo_app())
