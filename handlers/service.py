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
    """The service's name and version; answers while the process runs, without checking anything."""
    return RootResponse(version=__version__)


@routes.get("/health", response=HealthResponse, public=True, uses_nats=False, summary="Dependency health (liveness)")
async def health(request: web.Request) -> HealthResponse:
    """Always 200 while the process runs; `status` is `degraded` when any service is not ready.
    NATS is checked at each call; Jira, Confluence, the LLM provider and the team database come
    from a background check (every 30 s), with `last_ok`: when each last answered as usable."""
    return await _health(request)


@routes.get(
    "/health/ready",
    response=HealthResponse,
    public=True,
    uses_nats=False,
    summary="Readiness: can take work (NATS and its streams)",
    responses={503: ("NATS or one of Augment's streams is not usable", HealthResponse)},
)
async def ready(request: web.Request) -> web.Response:
    """For load balancers and Kubernetes: 200 when NATS is connected and JetStream answers for
    Augment's streams (`services.nats`: `connected`), else 503. Jira, Confluence and the
    LLM are not part of it: intake and the job queue need only NATS (see `/health` for them)."""
    checks = await services(request).health.ready()
    healthy = all(is_healthy(value) for value in checks.values())
    report = HealthResponse(status="healthy" if healthy else "degraded", timestamp=utc_now(), services=checks)
    return json_response(report, 200 if healthy else 503)


async def _health(request: web.Request) -> HealthResponse:
    checker = services(request).health
    checks = await checker.check()
    healthy = all(is_healthy(value) for value in checks.values())
    return HealthResponse(
        status="healthy" if healthy else "degraded", timestamp=utc_now(), services=checks, last_ok=checker.last_ok()
    )


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
