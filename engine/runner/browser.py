"""Find a usable Chromium and launch it: Playwright's own if installed, else the system's."""

import json
import os
import shutil
import sys
from pathlib import Path

import playwright

from engine.errors import Unavailable

# Chromium's headless shell first: the same engine without the browser's UI, whose
# preloaded address-bar renderer costs a full Chromium ~1.2 CPU-s per job and 30-50 MB.
SYSTEM_BROWSERS = ("chromium-headless-shell", "chrome-headless-shell", "chromium",
                   "chromium-browser", "google-chrome", "google-chrome-stable")
# Launchers on PATH that run a binary without exec: Debian's chromium-headless-shell
# script would leave a shell between the driver and the browser (and the browser behind
# when a kill takes only the shell), so the binary it wraps is launched instead.
WRAPPED_BINARIES = {"/usr/bin/chromium-headless-shell":
                    "/usr/lib/chromium/chromium-headless-shell"}
# Without these, Chromium keeps calling home, which a closed network refuses noisily.
LAUNCH_ARGS = [
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-quic", "--disable-gpu",
]
INSTALL_HINT = (
    "No Chromium found. Install one: `apt-get install -y chromium-headless-shell` "
    "(Debian/Ubuntu; or `chromium`), "
    + ("`dnf install chromium` (Fedora), " if getattr(sys, "frozen", False) else  # packed
       "or `python -m playwright install chromium` where its download is reachable, ")
    + "or set JOBDECK_BROWSER_PATH to a Chrome or Chromium binary."
)


class BrowserNotFound(Unavailable):
    """No browser to run jobs in; the message says what to install."""


def playwright_browsers_dir() -> Path:
    env = os.environ.get("PLAYWRIGHT_BROWSERS_PATH")
    return Path(env) if env and env != "0" else Path.home() / ".cache" / "ms-playwright"


def _revisions() -> dict[str, str]:
    path = Path(playwright.__file__).parent / "driver" / "package" / "browsers.json"
    return {b["name"]: b["revision"] for b in json.loads(path.read_text())["browsers"]}


def playwright_chromium_installed() -> bool:
    rev = _revisions().get("chromium-headless-shell")
    return rev is not None and any(
        (playwright_browsers_dir() / f"chromium_headless_shell-{rev}")
        .glob("*/chrome-headless-shell"))


def find_browser(explicit: str | None = None) -> str | None:
    """The browser to launch: None means Playwright's own Chromium; else a binary's path.

    Raises BrowserNotFound with what to install when there is none.
    """
    if explicit:
        if Path(explicit).is_file() and os.access(explicit, os.X_OK):
            return explicit
        raise BrowserNotFound(f"JOBDECK_BROWSER_PATH={explicit} is not an executable file. "
                              + INSTALL_HINT)
    if playwright_chromium_installed():
        return None
    for name in SYSTEM_BROWSERS:
        found = shutil.which(name)
        if found:
            wrapped = WRAPPED_BINARIES.get(os.path.realpath(found))
            return wrapped if wrapped and os.access(wrapped, os.X_OK) else found
    raise BrowserNotFound(INSTALL_HINT)


def ensure_ffmpeg() -> Path | None:
    """Put an ffmpeg where Playwright's video recorder looks for it (imageio-ffmpeg's)."""
    rev = _revisions().get("ffmpeg")
    target = playwright_browsers_dir() / f"ffmpeg-{rev}" / "ffmpeg-linux"
    if target.exists():
        return target
    if target.is_symlink():  # points into a virtualenv that is gone
        target.unlink()
    try:
        import imageio_ffmpeg

        source = imageio_ffmpeg.get_ffmpeg_exe()
        target.parent.mkdir(parents=True, exist_ok=True)
        if getattr(sys, "frozen", False):  # the packed binary's files vanish when it stops
            partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
            shutil.copy2(source, partial)
            os.replace(partial, target)  # whole or not at all, also with two starting at once
        else:
            target.symlink_to(source)
        return target
    except Exception:  # video then fails with Playwright's own message
        return None


def sandboxed(chosen: bool | None = None) -> bool:
    """Chromium's own sandbox, unless the process runs as root (where Chromium refuses it);
    JOBDECK_BROWSER_SANDBOX overrides, e.g. in a container without user namespaces."""
    return chosen if chosen is not None else os.geteuid() != 0


def launch(playwright_api, executable: str | None, sandbox: bool | None = None):
    """Launch headless Chromium with the flags a closed network needs; sandboxed when the
    server does not run as root (Playwright adds --no-sandbox otherwise)."""
    return playwright_api.chromium.launch(
        headless=True, executable_path=executable, args=LAUNCH_ARGS,
        chromium_sandbox=sandboxed(sandbox))
