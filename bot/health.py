"""`GET /health`: is each dependency usable right now? All checks run at once, each bounded."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aiohttp
from nats.aio.client import Client
from nats.js import JetStreamContext

from bot.config import Settings
from bot.llm.catalogue import DEFAULT_BASE_URLS, PROVIDER_SETTINGS
from bot.logs import redact
from bot.runtime import Runtime
from bot.teams.store import TeamStore

CHECK_TIMEOUT_SECONDS = 3.0
CONNECTED = "connected"
READY = "ready"
HEALTHY_VALUES = frozenset({CONNECTED, READY})
TEAMS_EMPTY = "empty: no teams (import with augment teams import FILE.yaml)"


def is_healthy(value: str) -> bool:
    """A check's answer that means usable: `ready (3 teams)` is, and so is an empty team database
    (planning without a team works; the text says how to fill it)."""
    return value in HEALTHY_VALUES or value.startswith(f"{READY} (") or value == TEAMS_EMPTY


class HealthChecker:
    def __init__(self, runtime: Runtime, settings: Settings, default_provider: str) -> None:
        self._runtime = runtime
        self._settings = settings
        self._default_provider = default_provider

    async def check(self) -> dict[str, str]:
        checks: dict[str, Callable[[], Awaitable[str]]] = {
            "nats": self._nats,
            "jira": self._jira,
            "jira_fields": self._jira_fields,
            "confluence": self._confluence,
            "llm": self._llm,
            "team_member_db": self._team_member_db,
        }
        results = await asyncio.gather(*(bounded(check) for check in checks.values()))
        return dict(zip(checks, results, strict=True))

    async def _nats(self) -> str:
        return await nats_health(self._runtime.nc, self._runtime.js)

    async def _jira(self) -> str:
        jira = self._settings.jira
        if not jira.url:
            return "not configured: set jira.url, jira.email and jira.token"
        auth = aiohttp.encode_basic_auth(jira.email, jira.token.get_secret_value())
        return await self._probe(f"{jira.url}/rest/api/2/myself", headers={"Authorization": auth})

    async def _jira_fields(self) -> str:
        """`missing: <names>` when a configured field name matched no field at start."""
        return self._runtime.jira_fields.health if self._settings.jira.url else "not configured"

    async def _confluence(self) -> str:
        confluence, jira = self._settings.confluence, self._settings.jira
        url = confluence.url or (f"{jira.url}/wiki" if jira.url else "")
        if not url:
            return "not configured: set confluence.url (or jira.url)"
        token = confluence.token.get_secret_value() or jira.token.get_secret_value()
        auth = aiohttp.encode_basic_auth(confluence.email or jira.email, token)
        return await self._probe(f"{url.rstrip('/')}/rest/api/space?limit=1", headers={"Authorization": auth})

    async def _llm(self) -> str:
        provider = self._default_provider
        section = getattr(self._settings, PROVIDER_SETTINGS[provider])
        key = section.api_key.get_secret_value()
        if not key:
            return f"not configured: set {PROVIDER_SETTINGS[provider].upper()}_API_KEY for {provider}"
        base = (section.base_url or DEFAULT_BASE_URLS[provider]).rstrip("/")
        if provider == "claude":
            headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
            return await self._probe(f"{base}/v1/models", headers=headers)
        if provider == "gemini":
            return await self._probe(f"{base}/v1beta/models", headers={"x-goog-api-key": key})
        return await self._probe(f"{base}/models", headers={"Authorization": f"Bearer {key}"})

    async def _team_member_db(self) -> str:
        """`ready (N teams)`, or `empty: ...` (usable, nothing to plan by team yet), or unavailable."""
        if not self._runtime.nc.is_connected:
            return "unavailable: NATS is disconnected"
        count = len(await TeamStore(self._runtime.buckets.teams).ids())
        if count == 0:
            return TEAMS_EMPTY
        return f"{READY} ({count} team{'' if count == 1 else 's'})"

    async def _probe(self, url: str, *, headers: dict[str, str]) -> str:
        async with self._runtime.http.get(url, headers=headers) as response:
            if response.status < 300:
                return CONNECTED
            if response.status in (401, 403):
                return f"error: HTTP {response.status} (check the credentials)"
            return f"error: HTTP {response.status}"


async def nats_health(nc: Client, js: JetStreamContext) -> str:
    """`connected` only when the client is connected and JetStream answers; a client that is
    reconnecting or closed says so (the API and `augment worker` report it alike)."""
    if nc.is_closed:
        return "disconnected: the NATS connection is closed"
    if not nc.is_connected:
        return "disconnected: reconnecting to NATS"
    await js.account_info()
    return CONNECTED


async def bounded(check: Callable[[], Awaitable[str]]) -> str:
    """The check's answer, or what went wrong: never an exception, never longer than a few seconds."""
    try:
        return await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return f"error: no answer within {CHECK_TIMEOUT_SECONDS:g}s"
    except Exception as err:
        return redact(f"error: {err or type(err).__name__}")
