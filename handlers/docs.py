"""`/openapi.json`, Swagger UI at `/docs` and ReDoc at `/redoc`, with no internet access.

The UI assets come from the openapi-ui-bundles package (Swagger UI, ReDoc and ReDoc's logo, with no
dependencies of its own); nothing is fetched from a CDN and nothing is committed here. ReDoc's bundle
names its footer logo by a CDN address: the bundle is served with that address pointing at the local copy.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from aiohttp import web
from openapi_ui_bundles import redoc as redoc_bundle
from openapi_ui_bundles import swagger_ui as swagger_ui_bundle

from bot import __version__
from bot.app import ENDPOINTS
from bot.http.openapi import openapi_document
from bot.http.routes import ApiError, RouteTable
from bot.services import services

routes = RouteTable("docs")

SWAGGER_ROOT = Path(swagger_ui_bundle.static_path)
REDOC_ROOT = Path(redoc_bundle.static_path)
ASSETS = {
    "swagger-ui.css": SWAGGER_ROOT / "swagger-ui.css",
    "swagger-ui-bundle.js": SWAGGER_ROOT / "swagger-ui-bundle.js",
    "favicon-32x32.png": SWAGGER_ROOT / "favicon-32x32.png",
    "redoc.standalone.js": REDOC_ROOT / "redoc.standalone.js",
    "redoc-logo-mini.svg": REDOC_ROOT / "logo-mini.svg",
}
# The one address ReDoc's bundle fetches by itself (the "API docs by Redocly" footer), and its local copy.
# (Swagger UI's one, its validator badge, is turned off by `validatorUrl: null`.)
REDOC_LOGO_URL = "https://cdn.redoc.ly/redoc/logo-mini.svg"
LOCAL_REDOC_LOGO = "/docs/assets/redoc-logo-mini.svg"
DESCRIPTION = (
    "Augment writes ticket descriptions, tasks and test cases, syncs stories from a PRD and plans sprints. "
    "Endpoints that change issues preview by default (`update_jira: false` or `dry_run: true`, as each "
    "documents); `POST /sprint/create`, `PUT /sprint/{sprint_id}` and `POST /jobs/{job_id}/apply` write at once.\n\n"
    "The examples use the sandbox's demo data (`augment sandbox`, or `make run` with the sandbox settings): "
    "issues `DEMO-1` to `DEMO-23`, board `1`, sprints `1` to `4` and team `demo`, so each one can be sent "
    'from "Try it out" as it stands.'
)
SWAGGER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Augment API · Swagger UI</title>
<link rel="icon" href="/docs/assets/favicon-32x32.png"><link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div><script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
  validatorUrl: null});</script>
</body></html>"""
REDOC_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Augment API · ReDoc</title>
<link rel="icon" href="/docs/assets/favicon-32x32.png"></head>
<body><redoc spec-url="/openapi.json"></redoc><script src="/docs/assets/redoc.standalone.js"></script></body></html>"""


@routes.get("/openapi.json", public=True, uses_nats=False, in_schema=False)
async def openapi(request: web.Request) -> web.Response:
    settings = services(request).settings
    document = openapi_document(
        request.app[ENDPOINTS],
        title="Augment API",
        version=__version__,
        description=DESCRIPTION,
        auth_enabled=settings.auth.enabled,
    )
    return web.json_response(document)


@routes.get("/docs", public=True, uses_nats=False, in_schema=False)
async def swagger_ui(request: web.Request) -> web.Response:
    return web.Response(text=SWAGGER_PAGE, content_type="text/html")


@routes.get("/redoc", public=True, uses_nats=False, in_schema=False)
async def redoc(request: web.Request) -> web.Response:
    return web.Response(text=REDOC_PAGE, content_type="text/html")


@routes.get("/docs/assets/{name}", public=True, uses_nats=False, in_schema=False)
async def asset(request: web.Request, name: str) -> web.StreamResponse:
    path = ASSETS.get(name)
    if path is None:
        raise ApiError(404, f"No asset named {name}")
    headers = {"Cache-Control": "public, max-age=86400"}
    if name == "redoc.standalone.js":
        return web.Response(body=redoc_script(), content_type="application/javascript", headers=headers)
    return web.FileResponse(path, headers=headers)


@cache
def redoc_script() -> bytes:
    """ReDoc's bundle with its footer logo read from this service instead of Redocly's CDN."""
    return ASSETS["redoc.standalone.js"].read_bytes().replace(REDOC_LOGO_URL.encode(), LOCAL_REDOC_LOGO.encode())
