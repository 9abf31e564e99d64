"""`GET /health` and `GET /health/ready`.

Readiness means "can take work": NATS is connected and JetStream answers for Augment's streams.
Nothing else: intake and the job queue only need NATS, so a Jira, Confluence or LLM outage does
not take API pods out of the load balancer (Jira's webhooks keep being queued).

The other dependencies are checked in the background, every `DEPENDENCY_CHECK_SECONDS`, all at
once and each bounded; `/health` reports the last answers (NATS checked live) and, per
dependency, when it was last seen good (`last_ok`). A probe never calls Jira or the LLM.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime

import aiohttp
import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext

from bot.config import Settings
from bot.jetstream import layout
from bot.llm.catalogue import DEFAULT_BASE_URLS, PROVIDER_SETTINGS
from bot.logs import redact
from bot.runtime import Runtime
from bot.teams.store import TeamStore

CHECK_TIMEOUT_SECONDS = 3.0
DEPENDENCY_CHECK_SECONDS = 30.0
CHECK_ORDER = ("nats", "jira", "jira_fields", "confluence", "llm", "team_member_db")
STREAMS = (layout.EVENTS_STREAM, layout.JOBS_STREAM, layout.DEAD_LETTER_STREAM)
CONNECTED = "connected"
READY = "ready"
HEALTHY_VALUES = frozenset({CONNECTED, READY})
log = structlog.get_logger(__name__)

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
        self._results: dict[str, str] = {}
        self._last_ok: dict[str, datetime | None] = {}
        self._checked: asyncio.Task[None] | None = None  # the first round (or one run on demand)
        self._loop: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Check the dependencies now and every `DEPENDENCY_CHECK_SECONDS` in the background."""
        if self._loop is None:
            self._loop = asyncio.create_task(self._every(DEPENDENCY_CHECK_SECONDS), name="dependency-health")

    async def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is not None:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop

    async def check(self) -> dict[str, str]:
        """NATS, the field names and the team database now (NATS and local state); Jira,
        Confluence and the LLM from the background check (waited for only before its first
        round has ended)."""
        await self._first_round()
        local: dict[str, Callable[[], Awaitable[str]]] = {
            "nats": self._nats,
            "jira_fields": self._jira_fields,
            "team_member_db": self._team_member_db,
        }
        now = await asyncio.gather(*(bounded(check) for check in local.values()))
        results = dict(zip(local, now, strict=True)) | self._results
        return {name: results[name] for name in CHECK_ORDER}

    def last_ok(self) -> dict[str, datetime | None]:
        """When each dependency last answered as usable (None: not since this process started)."""
        return dict(self._last_ok)

    async def ready(self) -> dict[str, str]:
        """What readiness needs: NATS, and JetStream answering for Augment's streams."""
        return await readiness(self._runtime.nc, self._runtime.js)

    async def refresh(self) -> None:
        """One round of the dependency checks (the background loop runs it; tests call it)."""
        checks: dict[str, Callable[[], Awaitable[str]]] = {
            "jira": self._jira,
            "confluence": self._confluence,
            "llm": self._llm,
        }
        results = dict(zip(checks, await asyncio.gather(*(bounded(check) for check in checks.values())), strict=True))
        now = self._runtime.clock.now()
        for name, value in results.items():
            if is_healthy(value):
                self._last_ok[name] = now
            else:
                self._last_ok.setdefault(name, None)
        self._results = results

    async def _first_round(self) -> None:
        if self._checked is None:
            self._checked = asyncio.ensure_future(self.refresh())
        await asyncio.shield(self._checked)

    async def _every(self, seconds: float) -> None:
        await self._first_round()
        while True:
            await asyncio.sleep(seconds)
            try:
                await self.refresh()
            except Exception as err:  # bounded() catches each check's errors; this is a bug
                log.warning("dependency check failed", error=redact(str(err) or type(err).__name__))

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
        count = len(await TeamStore(self._runtime.buckets.teams, self._runtime.js).ids())
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


async def ready_nats(nc: Client, js: JetStreamContext) -> str:
    """Readiness: `connected` when the client is connected and JetStream answers for each of
    Augment's streams; otherwise what is wrong (`error: stream AUGMENT_JOBS: ...`)."""
    state = await nats_health(nc, js)
    if state != CONNECTED:
        return state
    found = await asyncio.gather(*(js.stream_info(name) for name in STREAMS), return_exceptions=True)
    for name, info in zip(STREAMS, found, strict=True):
        if isinstance(info, BaseException):
            return redact(f"error: stream {name}: {info or type(info).__name__}")
    return CONNECTED


async def readiness(nc: Client, js: JetStreamContext) -> dict[str, str]:
    """What readiness needs, bounded (the API and the worker alike): `{"nats": ...}`."""
    return {"nats": await bounded(lambda: ready_nats(nc, js))}


async def bounded(check: Callable[[], Awaitable[str]]) -> str:
    """The check's answer, or what went wrong: never an exception, never longer than a few seconds."""
    try:
        return await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return f"error: no answer within {CHECK_TIMEOUT_SECONDS:g}s"
    except Exception as err:
        return redact(f"error: {err or type(err).__name__}")
