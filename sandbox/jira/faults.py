"""Faults a run can switch on: slow answers, rate limiting, server errors, duplicate
webhook deliveries. Set them with ``Sandbox(...).set_faults(...)`` or
``PUT /_sandbox/faults``; read them with ``GET /_sandbox/faults``.

Every random choice uses one seeded ``random.Random`` so a run can be replayed.
Faults hit the REST API (Jira and Confluence), never ``/_sandbox/*``.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import asdict, dataclass, fields
from datetime import timedelta
from typing import Any

from aiohttp import web

from sandbox.jira.clock import Clock
from sandbox.jira.http import jira_json

ADMIN_PREFIX = "/_sandbox/"
RATE_LIMIT = 350
_SERVER_ERRORS = (500, 502, 503, 504)


@dataclass
class FaultSettings:
    latency_ms: int = 0
    # Share of REST calls answered 429 with Retry-After and X-RateLimit-* headers.
    rate_limit_rate: float = 0.0
    # Retry-After seconds on 429s and on 503s (whole seconds: jira's client parses int).
    retry_after_seconds: int = 1
    # Share of REST calls answered 500/502/503/504; 503s carry Retry-After.
    server_error_rate: float = 0.0
    # Share of webhook events delivered twice, with the same identifier.
    duplicate_delivery_rate: float = 0.0
    # How long a webhook receiver may take before the delivery counts as timed out.
    webhook_timeout_seconds: float = 20.0

    def update(self, **changes: Any) -> None:
        """Change some settings; unknown names and out-of-range values raise ValueError
        and leave the settings unchanged."""
        known = {f.name: f.type for f in fields(self)}
        candidate = asdict(self)
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault setting {name!r}; known: {', '.join(known)}")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number")
            candidate[name] = value
        for name in ("rate_limit_rate", "server_error_rate", "duplicate_delivery_rate"):
            if not 0.0 <= candidate[name] <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if candidate["latency_ms"] < 0 or candidate["retry_after_seconds"] < 0:
            raise ValueError("latency_ms and retry_after_seconds must not be negative")
        if candidate["webhook_timeout_seconds"] <= 0:
            raise ValueError("webhook_timeout_seconds must be positive")
        candidate["latency_ms"] = int(candidate["latency_ms"])
        candidate["retry_after_seconds"] = int(candidate["retry_after_seconds"])
        for name, value in candidate.items():
            setattr(self, name, value)


class Faults:
    def __init__(self, settings: FaultSettings, rng: random.Random, clock: Clock) -> None:
        self.settings = settings
        self.rng = rng
        self.clock = clock

    def roll(self, rate: float) -> bool:
        return rate > 0 and self.rng.random() < rate

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith(ADMIN_PREFIX):
            return await handler(request)
        settings = self.settings
        if settings.latency_ms:
            await asyncio.sleep(settings.latency_ms / 1000)
        if self.roll(settings.rate_limit_rate):
            return self._rate_limited()
        if self.roll(settings.server_error_rate):
            return self._server_error()
        response = await handler(request)
        if settings.rate_limit_rate > 0:
            # Jira marks successful answers once less than 20 % of a budget is left.
            response.headers["X-RateLimit-NearLimit"] = "true"
        return response

    def _rate_limited(self) -> web.Response:
        retry_after = self.settings.retry_after_seconds
        reset = self.clock.now() + timedelta(seconds=retry_after)
        return jira_json(
            {"errorMessages": ["Rate limit exceeded."], "errors": {}},
            status=429,
            headers={
                "Retry-After": str(retry_after),
                "X-RateLimit-Limit": str(RATE_LIMIT),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "X-RateLimit-NearLimit": "true",
                "RateLimit-Reason": "jira-burst-based",
            },
        )

    def _server_error(self) -> web.Response:
        status = self.rng.choice(_SERVER_ERRORS)
        headers = {"Retry-After": str(self.settings.retry_after_seconds)} if status == 503 else {}
        message = {
            500: "Internal server error",
            502: "Bad gateway",
            503: "Service unavailable",
            504: "Gateway timeout",
        }[status]
        return jira_json({"errorMessages": [message], "errors": {}}, status=status, headers=headers)
