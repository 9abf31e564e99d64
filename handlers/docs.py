"""`/openapi.json`, Swagger UI at `/docs` and ReDoc at `/redoc`, with no internet access.

The UI assets come from the drf-spectacular-sidecar package (maintained copies of
swagger-ui-dist and redoc); nothing is fetched from a CDN and nothing is committed here.
"""

from __future__ import annotations

from pathlib import Path

import drf_spectacular_sidecar
from aiohttp import web

from bot import __version__
from bot.app import ENDPOINTS
from bot.http.openapi import openapi_document
from bot.http.routes import ApiError, RouteTable
from bot.services import services

routes = RouteTable("docs")

ASSET_ROOT = Path(drf_spectacular_sidecar.__file__).parent / "static" / "drf_spectacular_sidecar"
ASSETS = {
    "swagger-ui.css": ASSET_ROOT / "swagger-ui-dist" / "swagger-ui.css",
    "swagger-ui-bundle.js": ASSET_ROOT / "swagger-ui-dist" / "swagger-ui-bundle.js",
    "favicon-32x32.png": ASSET_ROOT / "swagger-ui-dist" / "favicon-32x32.png",
    "redoc.standalone.js": ASSET_ROOT / "redoc" / "bundles" / "redoc.standalone.js",
}
DESCRIPTION = (
    "Augment writes ticket descriptions, tasks and test cases, syncs stories from a PRD and plans sprints. "
    "Endpoints that change issues preview by default (`update_jira: false` or `dry_run: true`, as each "
    "documents); `POST /sprint/create`, `PUT /sprint/{sprint_id}` and `POST /jobs/{job_id}/apply` write at once."
)
SWAGGER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Augment API · Swagger UI</title>
<link rel="icon" href="/docs/assets/favicon-32x32.png"><link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div><script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true});</script>
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
async def asset(request: web.Request, name: str) -> web.FileResponse:
    path = ASSETS.get(name)
    if path is None:
        raise ApiError(404, f"No asset named {name}")
    return web.FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})
