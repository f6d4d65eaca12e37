"""`python -m engine.runner.browser_setup`: make sure a browser exists, installing one if allowed.

Used by `make run` and `make test`: Playwright's Chromium or a system one is used as is;
otherwise `playwright install chromium` is tried, then, as root, `apt-get install -y` of
Debian's headless shell (the cheapest browser for jobs) and Chromium.
"""

import os
import shutil
import subprocess
import sys

from engine.runner.browser import BrowserNotFound, ensure_ffmpeg, find_browser

APT_INSTALL = ["apt-get", "install", "-y", "chromium-headless-shell", "chromium"]


def _try(cmd: list[str], timeout: int) -> bool:
    print("jobdeck: no browser yet, trying:", " ".join(cmd), flush=True)
    try:
        return subprocess.run(cmd, timeout=timeout).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def main() -> int:
    explicit = os.environ.get("JOBDECK_BROWSER_PATH")
    try:
        find_browser(explicit)
    except BrowserNotFound as exc:
        if explicit:
            print(f"jobdeck: {exc}", file=sys.stderr)
            return 1
        installed = _try([sys.executable, "-m", "playwright", "install", "chromium"], 600)
        if not installed and os.geteuid() == 0 and shutil.which("apt-get"):
            installed = _try(APT_INSTALL, 900) or (
                _try(["apt-get", "update"], 600) and _try(APT_INSTALL, 900))
        try:
            find_browser()
        except BrowserNotFound as again:
            print(f"jobdeck: {again}", file=sys.stderr)
            return 1
    ensure_ffmpeg()
    return 0


if __name__ == "__main__":
    sys.exit(main())
