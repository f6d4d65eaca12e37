"""Starts the console: engine runtime, example runbooks, the console's routes, then NiceGUI."""

import logging
import secrets
import socket
from pathlib import Path

from nicegui import app, ui

from engine.errors import Unavailable
from engine.identity.accounts import AccountError, ensure_first_admin
from engine.runtime import Runtime
from engine.service.runbooks import load_runbook_dir
from engine.settings import Settings
from pages.console import build_console

log = logging.getLogger("jobdeck")


def session_secret(data_dir: Path) -> str:
    """Signs browser sessions: made on first start, kept in the data directory, never a default."""
    path = data_dir / "session-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


class PortInUse(Unavailable):
    pass


def check_port(host: str, port: int) -> None:
    """Fail before any worker starts when another program (or Jobdeck) holds the port."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortInUse(f"cannot listen on {host}:{port} ({exc.strerror}): is Jobdeck "
                            "already running? Stop it, or choose another port with --port "
                            "or JOBDECK_PORT") from None


def _first_admin(settings: Settings) -> None:
    """With no users yet, make the admin; a made-up password is shown here, once."""
    given = settings.admin_password.get_secret_value() if settings.admin_password else None
    try:
        made = ensure_first_admin(given)
    except AccountError as exc:
        raise AccountError(f"JOBDECK_ADMIN_PASSWORD: {exc}") from None
    if made:
        url = f"{settings.console_url}/login"
        print(f"\n  First start: sign in at {url}\n  as  admin  with the password  {made}\n"
              "  It is shown only this once: change it on your account page.\n", flush=True)
        if settings.four_eyes:
            print("  Approvals: whoever starts a job may not approve it (four eyes). Add an\n"
                  "  approver on the Users page, or set JOBDECK_FOUR_EYES=false if you work\n"
                  "  alone.\n", flush=True)


def run_server(settings: Settings) -> None:
    check_port(settings.host, settings.port)
    runtime = Runtime(settings)
    for directory in settings.runbook_dirs:
        load_runbook_dir(directory)
    runtime.check_browser()
    _first_admin(settings)
    build_console(settings)

    def on_startup() -> None:
        runtime.start_sweeper()
        runtime.start_notifier()
        runtime.start_retention()
        if settings.scheduler:
            runtime.start_scheduler()
        if settings.workers > 0:
            runtime.start_console_workers(settings.workers)
        log.info("Jobdeck on http://%s:%s (data in %s)", settings.host, settings.port,
                 settings.data_dir.resolve())

    app.on_startup(on_startup)
    app.on_shutdown(runtime.stop)
    # open requests (event streams, slow pages) get the same grace as jobs, then are closed;
    # uvicorn would otherwise wait for them forever before stopping
    ui.run(host=settings.host, port=settings.port, title="Jobdeck", reload=False, show=False,
           favicon="🗂️", storage_secret=session_secret(settings.data_dir),
           timeout_graceful_shutdown=settings.shutdown_grace_seconds, **proxy_options(settings))


def proxy_options(settings: Settings) -> dict:
    """uvicorn's proxy-header handling: off unless JOBDECK_TRUSTED_PROXIES names the proxy
    (uvicorn would otherwise believe X-Forwarded-For from loopback, letting anyone on this
    machine, or a misconfigured proxy, forge the address the sign-in limit counts)."""
    trusted = [p.strip() for p in (settings.trusted_proxies or "").split(",") if p.strip()]
    if not trusted:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": trusted}
