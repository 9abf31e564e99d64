"""`augment worker`'s own `GET /health`, `GET /health/ready` and `GET /metrics`: a worker has no
API, so a tiny HTTP server answers for it, on `server.host` and `worker.health_port` (0: none).

The bodies have the API's shape (`status`, `timestamp`, `services`) for what a worker uses:
`services.nats`, `connected` when NATS is up and JetStream answers for Augment's streams.
`/health` always answers 200 (liveness); `/health/ready` answers 503 while it is not, so an
orchestrator sees a worker
that cannot take jobs. `/metrics` is this process' metrics (jobs, LLM and Jira calls, rule
firings), under the same rules as the API's: `metrics.token`, or the API's credentials when
auth is on.
"""

from __future__ import annotations

import errno

from aiohttp import web

from bot import metrics
from bot.config import ConfigError, Settings
from bot.health import is_healthy, readiness
from bot.http.auth import BasicAuthenticator
from bot.jetstream import layout
from bot.runtime import Runtime
from schemas.jobs import utc_now
from schemas.service import HealthResponse

RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime", Runtime)
SCRAPE: web.AppKey[_Scrape] = web.AppKey("scrape")


class _Scrape:
    def __init__(self, settings: Settings) -> None:
        self.token = settings.metrics.token.get_secret_value()
        auth = settings.auth
        self.authenticator = (
            BasicAuthenticator(auth.username, auth.password_hash.get_secret_value()) if auth.enabled else None
        )


class WorkerHealthServer:
    def __init__(self, runtime: Runtime, settings: Settings) -> None:
        self._runtime = runtime
        self._settings = settings
        self._host = settings.server.host
        self._port = settings.worker.health_port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        if self._port == 0:
            return
        app = web.Application()
        app[RUNTIME] = self._runtime
        app[SCRAPE] = _Scrape(self._settings)
        app.router.add_get("/health", _health)
        app.router.add_get("/health/ready", _ready)
        app.router.add_get("/metrics", _metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self._host, self._port).start()
        except OSError as err:
            await self.stop()
            if err.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
                raise
            raise ConfigError(
                f"worker.health_port ({self._host}:{self._port}): cannot listen: {err.strerror}; "
                "set WORKER_HEALTH_PORT to a free port, or 0 for no health endpoint"
            ) from None

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def _report(request: web.Request) -> HealthResponse:
    runtime = request.app[RUNTIME]
    checks = await readiness(runtime.nc, runtime.js)
    healthy = all(is_healthy(value) for value in checks.values())
    return HealthResponse(status="healthy" if healthy else "degraded", timestamp=utc_now(), services=checks)


async def _health(request: web.Request) -> web.Response:
    report = await _report(request)
    return web.json_response(text=report.model_dump_json())


async def _ready(request: web.Request) -> web.Response:
    report = await _report(request)
    return web.json_response(text=report.model_dump_json(), status=200 if report.status == "healthy" else 503)


async def _metrics(request: web.Request) -> web.Response:
    scrape = request.app[SCRAPE]
    if not await metrics.scrape_allowed(request.headers.get("Authorization"), scrape.token, scrape.authenticator):
        return web.json_response(
            {"detail": "Not authenticated"}, status=401, headers={"WWW-Authenticate": 'Basic realm="Augment"'}
        )
    runtime = request.app[RUNTIME]
    if runtime.nc.is_connected:
        await metrics.refresh_queue_depth(runtime.js, layout.JOBS_STREAM)
    return web.Response(body=metrics.exposition(), headers={"Content-Type": metrics.CONTENT_TYPE})
