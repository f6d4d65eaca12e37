"""Playwright's own trace viewer, served by the console from the files the Playwright
package ships, so that a job's trace.zip opens in the browser without a CDN or an extra
program.

The URL layout is the one `playwright show-trace` serves (playwright-core's
`server/trace/viewer/traceViewer.ts`): the viewer's static files under `/trace/`, opened as
`/trace/index.html?trace=<url of the zip>`. The viewer registers its service worker
(`sw.bundle.js`) relative to that page, so the worker's scope is `/trace/`: the worker
answers the viewer's own requests in that scope (`contexts`, `snapshot/…`, `sha1/…`) from
the zip, which it fetches from `<url>` with the user's session cookie (same origin). The
driver's `/trace/file?path=` route, which reads local files for `show-trace`, is not served:
the console hands out artifacts by id only.

Every path here is behind the sign-in gate (pages/auth_gate.py), like any other route.
"""

import mimetypes
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import FileResponse

from engine.errors import NotFound

PREFIX = "/trace"
# where the Playwright package keeps the viewer (playwright-core's libPath("vite", "traceViewer"))
VIEWER_IN_PACKAGE = ("driver", "package", "lib", "vite", "traceViewer")
# the files without which the viewer cannot start
VIEWER_ENTRY = ("index.html", "sw.bundle.js")
# a module script and a service worker must come with a JavaScript media type
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
               ".webmanifest": "application/manifest+json", ".html": "text/html; charset=utf-8"}

router = APIRouter(include_in_schema=False)


@cache
def viewer_dir() -> Path:
    """The directory of the viewer's files inside the installed Playwright package (also
    inside the one-file build, whose Playwright hook collects the package's data files);
    it may not exist: see `viewer_available`."""
    import playwright  # where it is installed, found at run time (a venv, a build, …)

    return Path(playwright.__file__).resolve().parent.joinpath(*VIEWER_IN_PACKAGE)


def viewer_available() -> bool:
    """True when the viewer's entry files are there to serve."""
    root = viewer_dir()
    return all((root / name).is_file() for name in VIEWER_ENTRY)


def viewer_url(trace_url: str) -> str:
    """The viewer opening the trace zip at `trace_url` (a same-origin path, e.g.
    /api/artifacts/7), as `playwright show-trace` builds it (`traceViewerPath`)."""
    return f"{PREFIX}/index.html?{urlencode({'trace': trace_url})}"


def viewer_file(path: str) -> Path:
    """The viewer's file at `path` (relative to /trace/). Raises NotFound for anything that
    is not a file inside the viewer's directory (`..`, links out, the driver's `file`)."""
    root = viewer_dir()
    target = (root / path).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise NotFound(f"the trace viewer has no file {path!r}")
    return target


@router.get(PREFIX + "/{path:path}")
def trace_viewer_file(path: str) -> FileResponse:
    """A file of the viewer: its page, scripts, styles, fonts, and its service worker."""
    target = viewer_file(path or "index.html")
    suffix = target.suffix.lower()
    media_type = MEDIA_TYPES.get(suffix) or mimetypes.guess_type(target.name)[0]
    headers = {"X-Content-Type-Options": "nosniff",
               # shown inside the console's own pages only, never framed by another site
               "Content-Security-Policy": "frame-ancestors 'self'"}
    if suffix in (".html", ".js") and target.parent == viewer_dir():
        # the page and the worker name the hashed assets of this Playwright version: look
        # again after an upgrade (assets/ keep their hashed names, cached as usual)
        headers["Cache-Control"] = "no-cache"
    return FileResponse(target, media_type=media_type or "application/octet-stream",
                        headers=headers)
