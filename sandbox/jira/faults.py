"""Faults a run can switch on: slow answers, rate limiting (with and without
``Retry-After``), server errors before or after a write, duplicate webhook
deliveries, a search index that lags writes (``search_lag_ms``, see
``sandbox.jira.search_index``). Set them with ``Sandbox(...).set_faults(...)`` or ``PUT /_sandbox/faults``;
read them with ``GET /_sandbox/faults``.

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
_AFTER_WRITE_ERRORS = (502, 504)
_WRITES = frozenset({"POST", "PUT", "DELETE"})
_RATES = (
    "rate_limit_rate",
    "rate_limit_without_retry_after_rate",
    "server_error_rate",
    "server_error_after_write_rate",
    "duplicate_delivery_rate",
)
_MESSAGES = {500: "Internal server error", 502: "Bad gateway", 503: "Service unavailable", 504: "Gateway timeout"}


@dataclass
class FaultSettings:
    latency_ms: int = 0
    # Share of REST calls answered 429 with Retry-After and X-RateLimit-* headers.
    rate_limit_rate: float = 0.0
    # Retry-After seconds on 429s and on 503s (whole seconds: jira's client parses int).
    retry_after_seconds: int = 1
    # Share of REST calls answered 429 with X-RateLimit-* headers but no Retry-After, as
    # Jira sometimes does; X-RateLimit-Reset still says when to come back.
    rate_limit_without_retry_after_rate: float = 0.0
    # Share of REST calls answered 500/502/503/504; 503s carry Retry-After.
    server_error_rate: float = 0.0
    # Share of writes (POST, PUT, DELETE) that are carried out and then answered 502 or
    # 504, like a gateway timing out after Jira made the change.
    server_error_after_write_rate: float = 0.0
    # Share of webhook events delivered twice, with the same identifier.
    duplicate_delivery_rate: float = 0.0
    # How long a webhook receiver may take before the delivery counts as timed out.
    webhook_timeout_seconds: float = 20.0
    # JQL search sees every issue as it was this long ago, as Jira's lagging index does;
    # GET /issue/{key} stays current.
    search_lag_ms: int = 0

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
        for name in _RATES:
            if not 0.0 <= candidate[name] <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if candidate["latency_ms"] < 0 or candidate["retry_after_seconds"] < 0 or candidate["search_lag_ms"] < 0:
            raise ValueError("latency_ms, retry_after_seconds and search_lag_ms must not be negative")
        if candidate["webhook_timeout_seconds"] <= 0:
            raise ValueError("webhook_timeout_seconds must be positive")
        candidate["latency_ms"] = int(candidate["latency_ms"])
        candidate["retry_after_seconds"] = int(candidate["retry_after_seconds"])
        candidate["search_lag_ms"] = int(candidate["search_lag_ms"])
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
            return self._rate_limited(retry_after=True)
        if self.roll(settings.rate_limit_without_retry_after_rate):
            return self._rate_limited(retry_after=False)
        if self.roll(settings.server_error_rate):
            return self._server_error(self.rng.choice(_SERVER_ERRORS))
        response = await handler(request)
        if request.method in _WRITES and response.status < 400 and self.roll(settings.server_error_after_write_rate):
            return self._server_error(self.rng.choice(_AFTER_WRITE_ERRORS))
        if settings.rate_limit_rate > 0 or settings.rate_limit_without_retry_after_rate > 0:
            # Jira marks successful answers once less than 20 % of a budget is left.
            response.headers["X-RateLimit-NearLimit"] = "true"
        return response

    def _rate_limited(self, *, retry_after: bool) -> web.Response:
        wait = self.settings.retry_after_seconds
        reset = self.clock.now() + timedelta(seconds=wait)
        headers = {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "X-RateLimit-NearLimit": "true",
            "RateLimit-Reason": "jira-burst-based" if retry_after else "jira-per-issue-on-write",
        }
        if retry_after:
            headers["Retry-After"] = str(wait)
        return jira_json({"errorMessages": ["Rate limit exceeded."], "errors": {}}, status=429, headers=headers)

    def _server_error(self, status: int) -> web.Response:
        headers = {"Retry-After": str(self.settings.retry_after_seconds)} if status == 503 else {}
        return jira_json({"errorMessages": [_MESSAGES[status]], "errors": {}}, status=status, headers=headers)
