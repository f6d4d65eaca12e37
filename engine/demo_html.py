"""Page helpers shared by the demo site's modules (engine.demo_site, engine.demo_real_web)."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-password"

CSS = (
    "body{font-family:system-ui,sans-serif;max-width:760px;margin:2rem auto;padding:0 1rem;"
    "color:#222}a{color:#0b5cad}.quote{border-left:3px solid #ccc;padding:.4rem .8rem;"
    "margin:.8rem 0}.tag{margin-right:.4rem;font-size:.85em}.error{color:#b00020}"
    ".pager{list-style:none;display:flex;gap:1rem;padding:0}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.3rem .6rem}label{display:block;margin-top:.6rem}"
)

esc = html.escape


def base(request: Request) -> str:
    """Mount prefix ('' standalone, '/demo' when mounted) used to build every link."""
    return request.scope.get("root_path", "").rstrip("/")


def page(title: str, body: str, status: int = 200, h1: str | None = None) -> HTMLResponse:
    """A small HTML page; `h1` (markup) replaces the default heading, the escaped title."""
    heading = f"<h1>{esc(title)}</h1>" if h1 is None else h1
    doc = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f"<body>{heading}{body}</body></html>"
    )
    return HTMLResponse(doc, status_code=status)
