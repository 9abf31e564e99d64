"""`augment worker`'s own `GET /health` and `GET /health/ready`: a worker has no API, so a tiny
HTTP server answers for it, on `server.host` and `worker.health_port` (0: none).

The bodies have the API's shape (`status`, `timestamp`, `services`) for what a worker uses:
`services.nats`. `/health` always answers 200 (liveness); `/health/ready` answers 503 while
NATS is not usable, so an orchestrator sees a worker that cannot take jobs.
"""

from __future__ import annotations

import errno

from aiohttp import web

from bot.config import ConfigError, Settings
from bot.health import HEALTHY_VALUES, bounded, nats_health
from bot.runtime import Runtime
from schemas.jobs import utc_now
from schemas.service import HealthResponse

RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime", Runtime)


class WorkerHealthServer:
    def __init__(self, runtime: Runtime, settings: Settings) -> None:
        self._runtime = runtime
        self._host = settings.server.host
        self._port = settings.worker.health_port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        if self._port == 0:
            return
        app = web.Application()
        app[RUNTIME] = self._runtime
        app.router.add_get("/health", _health)
        app.router.add_get("/health/ready", _ready)
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
    nats = await bounded(lambda: nats_health(runtime.nc, runtime.js))
    healthy = nats in HEALTHY_VALUES
    return HealthResponse(status="healthy" if healthy else "degraded", timestamp=utc_now(), services={"nats": nats})


async def _health(request: web.Request) -> web.Response:
    report = await _report(request)
    return web.json_response(text=report.model_dump_json())


async def _ready(request: web.Request) -> web.Response:
    report = await _report(request)
    return web.json_response(text=report.model_dump_json(), status=200 if report.status == "healthy" else 503)
