"""Errors as `{"detail": ...}`, authentication, and one log line per request."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web
from nats.errors import ConnectionClosedError, ConnectionReconnectingError, NoRespondersError, NoServersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import ServiceUnavailableError

from bot.http.auth import BasicAuthenticator
from bot.http.routes import ApiError, endpoint_of
from bot.jobs.store import JobConflictError

log = structlog.get_logger("http")

AUTHENTICATOR: web.AppKey[BasicAuthenticator | None] = web.AppKey("authenticator", BasicAuthenticator)
NATS_DOWN_ERRORS = (
    ConnectionClosedError,
    ConnectionReconnectingError,
    NoRespondersError,
    NoServersError,
    NatsTimeoutError,
    ServiceUnavailableError,
)
QUIET_PATHS = frozenset({"/health", "/health/ready"})

NextHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# A path is outside input: a log line keeps enough of it to recognise the request.
LOGGED_PATH_LENGTH = 200


def error_body(status: int, detail: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps({"detail": detail}), status=status, headers=headers, content_type="application/json"
    )


def logged_path(request: web.Request) -> str:
    path = request.path
    return path if len(path) <= LOGGED_PATH_LENGTH else path[:LOGGED_PATH_LENGTH] + "…"


@web.middleware
async def access_log(request: web.Request, handler: NextHandler) -> web.StreamResponse:
    started = time.perf_counter()
    structlog.contextvars.clear_contextvars()
    response = await handler(request)
    level = log.debug if request.path in QUIET_PATHS else log.info
    level(
        "request",
        method=request.method,
        path=logged_path(request),  # never the query string: webhook URLs carry a token there
        status=response.status,
        ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return response


@web.middleware
async def errors(request: web.Request, handler: NextHandler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as err:
        return error_body(err.status, err.detail, err.headers)
    except web.HTTPException as err:
        if err.status < 400:
            raise
        headers = {name: value for name, value in err.headers.items() if name.lower() in ("allow", "www-authenticate")}
        return error_body(err.status, err.reason, headers)
    except JobConflictError as err:
        # A job writing its progress faster than another writer can read and write: retryable.
        log.warning("job record contended", error=str(err))
        return error_body(503, f"{err}; try again", {"Retry-After": "1"})
    except NATS_DOWN_ERRORS as err:
        log.warning("nats unavailable during request", error=str(err) or type(err).__name__)
        return error_body(503, "NATS is unreachable; try again shortly")
    except Exception:
        log.exception("unhandled error", method=request.method, path=logged_path(request))
        return error_body(500, "Internal server error")


@web.middleware
async def authentication(request: web.Request, handler: NextHandler) -> web.StreamResponse:
    authenticator = request.app[AUTHENTICATOR]
    endpoint = endpoint_of(request)
    public = endpoint is not None and endpoint.public
    if authenticator is None or public or request.method == "OPTIONS":
        return await handler(request)
    if endpoint is None and request.match_info.http_exception is not None:
        return await handler(request)  # unknown path or method: its 404/405 reveals nothing
    if not await authenticator.verify(request.headers.get("Authorization")):
        log.info("authentication failed", path=logged_path(request))
        raise ApiError(401, "Not authenticated", {"WWW-Authenticate": 'Basic realm="Augment"'})
    return await handler(request)
