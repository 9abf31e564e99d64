"""The dashboard's entry point (`/ui`) and its static files: the stylesheet and vendored scripts."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.http.routes import ApiError, RouteTable

routes = RouteTable("ui")

STATIC = Path(__file__).parent / "static"
# Every file the pages load, by the name they use; nothing else under static/ is served.
ASSETS = {
    "dashboard.css": STATIC / "dashboard.css",
    "dashboard.js": STATIC / "dashboard.js",
    "htmx.min.js": STATIC / "vendor" / "htmx-2.0.11.min.js",
    "htmx-sse.js": STATIC / "vendor" / "htmx-ext-sse-2.2.4.js",
}


@routes.get("/ui", uses_nats=False, in_schema=False)
async def dashboard(request: web.Request) -> web.Response:
    raise web.HTTPFound("/ui/jobs")


@routes.get("/ui/static/{name}", public=True, uses_nats=False, in_schema=False)
async def asset(request: web.Request, name: str) -> web.StreamResponse:
    path = ASSETS.get(name)
    if path is None:
        raise ApiError(404, f"No asset named {name}")
    return web.FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})
