"""The API's answer where no route takes the request: 405 with every method of the path in
`Allow` (RFC 9110 §15.5.6), else a JSON 404.

Starlette names only the first matching route's methods in `Allow`, while the API has one
route per method (GET and POST /api/runbooks), and its own 404 for /api/... paths would be
NiceGUI's HTML page. This router is included after every other API router, so it sees
only what none of them took."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.routing import Match

from engine.errors import NotFound
from pages.api.routers import API_ROUTERS

router = APIRouter(include_in_schema=False)
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def methods_of(request: Request) -> list[str]:
    """Every method some API route takes at this request's path."""
    literal: set[str] = set()  # /api/schedules/preview is that, not a schedule's id
    templated: set[str] = set()
    for routes in API_ROUTERS:
        for route in routes.routes:
            if not getattr(route, "include_in_schema", False):
                continue
            match, _ = route.matches(request.scope)
            if match != Match.NONE:
                into = templated if "{" in getattr(route, "path", "") else literal
                into.update(getattr(route, "methods", None) or ())
    return sorted(literal or templated)


@router.api_route("/api/{rest:path}", methods=METHODS)
def no_route(request: Request, rest: str) -> JSONResponse:
    methods = methods_of(request)
    if not methods:
        raise NotFound(f"there is no {request.url.path} in the API (see /docs)")
    return JSONResponse({"detail": f"{request.method} is not one of {', '.join(methods)} "
                                   f"for {request.url.path}"}, status_code=405,
                        headers={"Allow": ", ".join(methods)})
