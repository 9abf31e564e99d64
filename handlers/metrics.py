"""`GET /metrics`: this process' Prometheus metrics (`bot.metrics`; the names are the contract
of deploy/README.md). `augment worker` serves its own on `worker.health_port`."""

from __future__ import annotations

from aiohttp import web

from bot import metrics
from bot.http.middleware import AUTHENTICATOR
from bot.http.routes import ApiError, RouteTable
from bot.jetstream import layout
from bot.services import SERVICES

routes = RouteTable("service")


@routes.get(
    "/metrics",
    public=True,  # checked here: the metrics token, or the API's credentials when auth is on
    uses_nats=False,
    media_type="text/plain",
    responses={401: ("auth.enabled or metrics.token is set and the request carries neither", None)},
    summary="Prometheus metrics of this process",
)
async def prometheus_metrics(request: web.Request) -> web.Response:
    """Prometheus' text format. Open unless `auth.enabled` or `metrics.token` is set; then
    `Authorization: Bearer <metrics.token>`, or the API's Basic credentials when auth is on."""
    service = request.app.get(SERVICES)
    token = service.settings.metrics.token.get_secret_value() if service is not None else ""
    authenticator = request.app[AUTHENTICATOR]
    if not await metrics.scrape_allowed(request.headers.get("Authorization"), token, authenticator):
        raise ApiError(401, "Not authenticated", {"WWW-Authenticate": 'Basic realm="Augment"'})
    if service is not None and service.runtime.nc.is_connected:
        await metrics.refresh_queue_depth(service.runtime.js, layout.JOBS_STREAM)
    return web.Response(body=metrics.exposition(), headers={"Content-Type": metrics.CONTENT_TYPE})
