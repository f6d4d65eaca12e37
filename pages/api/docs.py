"""Interactive API docs at /docs, served from the package (no CDN: works offline)."""

import swagger_ui_bundle
from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from nicegui import app
from starlette.staticfiles import StaticFiles

from pages.api.routers import API_ROUTERS

router = APIRouter(include_in_schema=False)
ASSETS = "/docs-assets"


def _schema(openapi_version: str) -> dict:
    routes = [route for router in API_ROUTERS for route in router.routes]
    schema = get_openapi(
        title="Jobdeck API", version="1", routes=routes, openapi_version=openapi_version,
        description="Runbooks, jobs, artifacts and live job events. See docs/api.md.")
    # A 422 is FastAPI's list of problems when the request does not fit its schema, or
    # one message when the engine refuses a value (pages/api/errors.py): say both
    invalid = schema.get("components", {}).get("schemas", {}).get("HTTPValidationError")
    if invalid:
        listed = invalid["properties"]["detail"]
        invalid["properties"]["detail"] = {"anyOf": [listed, {"type": "string"}],
                                           "title": "Detail"}
    return schema


@router.get("/openapi.json")
def openapi() -> JSONResponse:
    return JSONResponse(_schema("3.1.0"))  # what FastAPI's schemas are written in


@router.get(f"{ASSETS}/openapi.json")
def openapi_for_swagger_ui() -> JSONResponse:
    """The same labelled 3.0: the bundled Swagger UI (4.x) refuses to render 3.1, and
    renders these schemas well enough; programs should read /openapi.json."""
    return JSONResponse(_schema("3.0.3"))


@router.get("/docs")
def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url=f"{ASSETS}/openapi.json", title="Jobdeck API",
                               swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                               swagger_css_url=f"{ASSETS}/swagger-ui.css",
                               swagger_favicon_url=f"{ASSETS}/favicon-32x32.png")


def mount_docs() -> None:
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path))
