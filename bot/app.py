"""The aiohttp application: routes from the plugins, middleware, and the process lifecycle.

The app holds only the effective settings: those of the runtime (aimed at the sandbox
when no Jira is configured), reached as `services(request).settings` once it started.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from pydantic import BaseModel

from bot import plugins
from bot.clock import Clock
from bot.config import Settings
from bot.health import HealthChecker
from bot.http.auth import BasicAuthenticator
from bot.http.middleware import AUTHENTICATOR, access_log, authentication, errors
from bot.http.routes import BODY_CHECKS, NATS_READY, Endpoint, FieldInvalidError, ModelCheck, add_endpoints
from bot.jobs.service import JobService
from bot.jobs.sweeper import Sweeper
from bot.jobs.watch import JobWatch
from bot.jobs.worker import Worker
from bot.llm.catalogue import Catalogue, ModelChoiceError
from bot.runtime import Runtime, build_catalogue, subscribe_to_sandbox
from bot.services import SERVICES, Services, services
from bot.webhooks.intake import WebhookIntake
from schemas.llm import LlmChoice

ENDPOINTS: web.AppKey[list[Endpoint]] = web.AppKey("endpoints", list)


def create_app(
    settings: Settings,
    *,
    with_worker: bool = True,
    clock: Clock | None = None,
    sandbox_webhook_url: str | None = None,
) -> web.Application:
    """The API; with `with_worker` this process also runs every pipeline (`augment serve`).

    `clock` replaces the system time (tests use it to be hours later at once). When the
    sandbox runs, it is told to send its webhooks to `sandbox_webhook_url`."""
    app = web.Application(
        client_max_size=settings.server.max_body_bytes,
        middlewares=[access_log, errors, authentication],
    )
    app[AUTHENTICATOR] = (
        BasicAuthenticator(settings.auth.username, settings.auth.password_hash.get_secret_value())
        if settings.auth.enabled
        else None
    )
    app[ENDPOINTS] = plugins.endpoints()
    # Typed apart: mypy cannot infer an AppKey's value type from a list literal.
    body_checks: list[tuple[type[BaseModel], ModelCheck]] = [(LlmChoice, _choose_model)]
    app[BODY_CHECKS] = body_checks
    live = _Live()
    app[NATS_READY] = live.nats_ready
    add_endpoints(app, app[ENDPOINTS])
    # Built here, before anything starts, so a bad model stops the start as a config error.
    catalogue = build_catalogue(settings, clock)
    app.cleanup_ctx.append(_lifecycle(settings, catalogue, live, with_worker, clock, sandbox_webhook_url))
    app.on_shutdown.append(_end_followers)
    return app


async def _end_followers(app: web.Application) -> None:
    """Before aiohttp waits for the open requests to end: a live page's stream never would."""
    if SERVICES in app:
        app[SERVICES].jobs.stop_following()


class _Live:
    """The runtime while the app runs; requests before start or after stop answer 503."""

    runtime: Runtime | None = None

    def nats_ready(self) -> bool:
        return self.runtime is not None and self.runtime.nc.is_connected


def _choose_model(request: web.Request, body: BaseModel) -> None:
    """Resolve the provider/model pair of any request that carries one (GET /models)."""
    assert isinstance(body, LlmChoice), "BODY_CHECKS calls it for LlmChoice bodies only"
    try:
        choice = services(request).runtime.catalogue.choose(body.llm_provider, body.llm_model)
    except ModelChoiceError as err:
        value = body.llm_model if err.field == "llm_model" else body.llm_provider
        raise FieldInvalidError(("body", err.field), str(err), value) from None
    body.llm_provider, body.llm_model = choice.provider, choice.model


def _lifecycle(
    configured: Settings,
    catalogue: Catalogue,
    live: _Live,
    with_worker: bool,
    clock: Clock | None,
    sandbox_webhook_url: str | None,
):
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        name = "augment-serve" if with_worker else "augment-api"
        runtime = await Runtime.open(configured, name=name, clock=clock, catalogue=catalogue)
        settings = runtime.settings  # aimed at the sandbox when no Jira is configured
        watch = JobWatch(runtime.buckets.jobs)
        sweeper = Sweeper(runtime.js, runtime.store, watch)
        worker = Worker(runtime, plugins.pipelines()) if with_worker else None
        health = HealthChecker(runtime, settings, runtime.catalogue.default_provider)
        try:
            await watch.start()
            await sweeper.start()
            runtime.on_reconnected.append(watch.restart)
            app[SERVICES] = Services(
                settings=settings,
                runtime=runtime,
                jobs=JobService(runtime, watch),
                health=health,
                webhooks=WebhookIntake(runtime.js, runtime.buckets.seen, runtime.clock),
            )
            live.runtime = runtime
            await health.start()  # the dependency checks /health reports, in the background
            if worker is not None:
                await worker.start()
            if runtime.sandbox is not None and sandbox_webhook_url:
                await subscribe_to_sandbox(runtime.sandbox, settings, sandbox_webhook_url)
            yield
        finally:
            live.runtime = None
            await health.stop()
            if worker is not None:
                await worker.stop()
            await sweeper.stop()
            await watch.stop()
            await runtime.close()

    return lifecycle
