"""`GET /`, `GET /health`, `GET /health/ready` and `GET /models`."""

from __future__ import annotations

from aiohttp import web

from bot import __version__
from bot.health import is_healthy
from bot.http.routes import RouteTable, json_response
from bot.llm.catalogue import ALIASES, PROVIDERS
from bot.services import services
from schemas.jobs import utc_now
from schemas.llm import ModelInfo, ModelsResponse
from schemas.service import HealthResponse, RootResponse

routes = RouteTable("service")


@routes.get("/", response=RootResponse, public=True, uses_nats=False, summary="Basic health check")
async def root(request: web.Request) -> RootResponse:
    return RootResponse(version=__version__)


@routes.get("/health", response=HealthResponse, public=True, uses_nats=False, summary="Dependency health (liveness)")
async def health(request: web.Request) -> HealthResponse:
    """Always 200 while the process runs; `status` is `degraded` when any service is not ready."""
    return await _health(request)


@routes.get(
    "/health/ready",
    response=HealthResponse,
    public=True,
    uses_nats=False,
    summary="Dependency health (readiness)",
    responses={503: ("Some service is not ready", HealthResponse)},
)
async def ready(request: web.Request) -> web.Response:
    """Like `/health`, but answers 503 when degraded: for load balancers and Kubernetes."""
    report = await _health(request)
    return json_response(report, 200 if report.status == "healthy" else 503)


async def _health(request: web.Request) -> HealthResponse:
    checks = await services(request).health.check()
    healthy = all(is_healthy(value) for value in checks.values())
    return HealthResponse(status="healthy" if healthy else "degraded", timestamp=utc_now(), services=checks)


@routes.get("/models", response=ModelsResponse, uses_nats=False, summary="Supported LLM providers and models")
async def models(request: web.Request) -> ModelsResponse:
    """Pick with `llm_provider` and/or `llm_model` on any generating request; see the selection rules.

    Models past their end-of-life date are left out (a request naming one is a 422) unless
    the configuration names them; `warnings` lists configured models that are deprecated."""
    catalogue = services(request).runtime.catalogue
    listing = catalogue.listing()
    return ModelsResponse(
        providers=list(PROVIDERS),
        models={provider: [state.name for state in states] for provider, states in listing.items()},
        details={
            provider: [
                ModelInfo(
                    name=state.name, deprecated=state.deprecated, end_of_life=state.end_of_life, retired=state.retired
                )
                for state in states
            ]
            for provider, states in listing.items()
        },
        default_provider=catalogue.default_provider,
        default_models=catalogue.default_models,
        aliases=ALIASES,
        warnings=catalogue.warnings(),
    )
