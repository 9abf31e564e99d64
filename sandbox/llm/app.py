"""The LLM sandbox application: provider routes behind auth, latency and fault injection.

Routes (mount the app at the root of its own port):
  /openai/v1/...      OpenAI Chat Completions and model list
  /moonshot/v1/...    the same for Moonshot/Kimi
  /anthropic/v1/...   Anthropic Messages
  /gemini/{v1,v1beta}/models/{model}:generateContent
  /_sandbox/llm/faults   GET the fault settings, PUT a partial update
  /_sandbox/llm/stats    GET per-provider counts of model calls (POSTs) by status
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pydantic
from aiohttp import web

from sandbox.llm import anthropic_api, gemini_api, openai_api
from sandbox.llm.state import STATE, LlmSandboxSettings, SandboxState, retry_after_headers

__all__ = ["LlmSandboxSettings", "create_llm_sandbox_app"]

SANDBOX_HEADER = "X-Augment-Sandbox"

RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class _Provider:
    # Builds an error in the provider's own JSON shape, so its SDK raises the right exception.
    error: Callable[[int, str], web.Response]
    rate_limit_headers: Callable[[float], dict[str, str]] = retry_after_headers


# Keyed by the first path segment, which is also the key in /_sandbox/llm/stats.
_PROVIDERS = {
    "openai": _Provider(openai_api.error_response, openai_api.rate_limit_headers),
    "moonshot": _Provider(openai_api.error_response, openai_api.rate_limit_headers),
    "anthropic": _Provider(anthropic_api.error_response),
    "gemini": _Provider(gemini_api.error_response),
}


def create_llm_sandbox_app(settings: LlmSandboxSettings | None = None) -> web.Application:
    app = web.Application(middlewares=[_sandbox_middleware])
    app[STATE] = SandboxState(settings or LlmSandboxSettings(), _PROVIDERS)
    openai_api.add_routes(app, "/openai/v1", openai_api.OPENAI_MODELS)
    openai_api.add_routes(app, "/moonshot/v1", openai_api.MOONSHOT_MODELS)
    anthropic_api.add_routes(app)
    gemini_api.add_routes(app)
    app.router.add_get("/_sandbox/llm/faults", _get_faults)
    app.router.add_put("/_sandbox/llm/faults", _put_faults)
    app.router.add_get("/_sandbox/llm/stats", _get_stats)
    return app


@web.middleware
async def _sandbox_middleware(request: web.Request, handler: RouteHandler) -> web.StreamResponse:
    name = request.path.split("/", 2)[1]
    provider = _PROVIDERS.get(name)
    if provider is None:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = web.json_response({"error": exc.reason}, status=exc.status)
    else:
        response = await _serve_provider(request, handler, provider)
        if request.method == "POST":  # model calls; a model listing (a health probe) is not one
            request.app[STATE].record(name, response.status)
    response.headers[SANDBOX_HEADER] = "llm"
    return response


async def _serve_provider(request: web.Request, handler: RouteHandler, provider: _Provider) -> web.StreamResponse:
    state = request.app[STATE]
    route_error = request.match_info.http_exception
    if route_error is not None:
        return provider.error(route_error.status, f"{request.method} {request.path} is not served by the sandbox.")
    if state.settings.latency_ms > 0:
        await asyncio.sleep(state.settings.latency_ms / 1000)
    if not _has_api_key(request):
        return provider.error(
            401,
            "No API key provided. Send any key (Authorization: Bearer, x-api-key, x-goog-api-key or ?key=); "
            "the Augment LLM sandbox accepts every key.",
        )
    fault = state.draw_fault()
    if fault == 429:
        response = provider.error(429, "Rate limit reached (injected by the Augment LLM sandbox).")
        response.headers.update(provider.rate_limit_headers(state.settings.retry_after_s))
        return response
    if fault is not None:
        return provider.error(fault, f"Server error {fault} (injected by the Augment LLM sandbox).")
    try:
        return await handler(request)
    except web.HTTPException as exc:
        return provider.error(exc.status, exc.text or exc.reason)


def _has_api_key(request: web.Request) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return True
    keys = (request.headers.get("x-api-key"), request.headers.get("x-goog-api-key"), request.query.get("key"))
    return any(key and key.strip() for key in keys)


async def _get_faults(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].settings.model_dump())


async def _put_faults(request: web.Request) -> web.Response:
    try:
        changes = await request.json()
    except ValueError:
        return web.json_response({"error": "body must be JSON"}, status=400)
    if not isinstance(changes, dict):
        return web.json_response({"error": "body must be a JSON object"}, status=400)
    try:
        settings = request.app[STATE].update(changes)
    except pydantic.ValidationError as exc:
        return web.json_response({"error": exc.errors(include_url=False, include_context=False)}, status=400)
    return web.json_response(settings.model_dump())


async def _get_stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].stats)
