"""GET /health reports every dependency (in the background, with last_ok); /health/ready is NATS and its streams."""

from __future__ import annotations

from datetime import datetime

from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.services import SERVICES
from tests.fixtures.nats import make_settings
from tests.fixtures.service import start_sandboxed

SANDBOX = {"enabled": "true", "jira_port": 0, "llm_port": 0, "snapshot": None}


async def test_with_the_sandbox_everything_is_healthy(aiohttp_client, nats_url: str) -> None:
    client = await aiohttp_client(create_app(make_settings(nats_url, sandbox=SANDBOX)))
    health = await client.get("/health")
    assert health.status == 200
    body = await health.json()
    assert body["services"] == {
        "nats": "connected",
        "jira": "connected",
        "jira_fields": "ready",
        "confluence": "connected",
        "llm": "connected",
        "team_member_db": "empty: no teams (import with augment teams import FILE.yaml)",
    }
    assert body["status"] == "healthy"
    assert (await client.get("/health/ready")).status == 200


async def test_each_provider_is_checked_against_its_own_api(aiohttp_client, nats_url: str) -> None:
    for provider in ("claude", "gemini", "kimi"):
        settings = make_settings(nats_url, sandbox=SANDBOX, llm={"default_provider": provider})
        client = await aiohttp_client(create_app(settings))
        body = await (await client.get("/health")).json()
        assert body["services"]["llm"] == "connected", provider
        await client.close()


async def test_without_jira_the_service_is_degraded_but_alive(client: TestClient) -> None:
    health = await client.get("/health")
    assert health.status == 200
    body = await health.json()
    assert body["status"] == "degraded"
    assert body["services"]["jira"] == "not configured: set jira.url, jira.email and jira.token"
    assert body["services"]["llm"] == "not configured: set OPENAI_API_KEY for openai"
    assert body["services"]["nats"] == "connected"
    assert body["last_ok"]["jira"] is None  # never seen good
    # Readiness is "can take work": NATS and its streams, not Jira or the LLM.
    ready = await client.get("/health/ready")
    assert ready.status == 200
    assert await ready.json() == {
        "status": "healthy",
        "timestamp": (await ready.json())["timestamp"],
        "services": {"nats": "connected"},
        "last_ok": {},
    }


async def test_wrong_jira_credentials_are_reported(aiohttp_client, nats_url: str) -> None:
    from sandbox import Sandbox

    async with Sandbox() as sandbox:
        settings = make_settings(
            nats_url, jira={"url": sandbox.jira_url, "email": sandbox.bot.email, "token": "wrong-token"}
        )
        client = await aiohttp_client(create_app(settings))
        body = await (await client.get("/health")).json()
    assert body["services"]["jira"] == "error: HTTP 401 (check the credentials)"
    assert "wrong-token" not in str(body)


async def test_root_answers_like_the_guide(client: TestClient) -> None:
    body = await (await client.get("/")).json()
    assert body["message"] == "Augment API"
    assert body["status"] == "healthy"
    assert body["version"]


async def test_an_llm_outage_leaves_readiness_alone_and_health_says_when_it_was_last_good(
    aiohttp_client, nats_url: str
) -> None:
    service = await start_sandboxed(aiohttp_client, nats_url)
    client, checker = service.client, service.client.app[SERVICES].health
    body = await (await client.get("/health")).json()
    assert body["services"]["llm"] == "connected"
    seen_good = datetime.fromisoformat(body["last_ok"]["llm"])

    await service.llm_faults(error_rate=1.0)
    await checker.refresh()  # what the background check does every 30 s
    body = await (await client.get("/health")).json()
    assert body["status"] == "degraded"
    assert body["services"]["llm"].startswith("error: HTTP 5"), body["services"]["llm"]
    assert datetime.fromisoformat(body["last_ok"]["llm"]) == seen_good
    assert body["services"]["jira"] == "connected"
    assert datetime.fromisoformat(body["last_ok"]["jira"]) >= seen_good

    ready = await client.get("/health/ready")
    assert ready.status == 200
    assert (await ready.json())["services"] == {"nats": "connected"}
    # Webhooks and jobs still go through.
    ping = await client.post("/diagnostics/ping", json={"ticket_key": "DEMO-2", "steps": 1})
    assert ping.status == 200, await ping.text()


async def test_a_dead_llm_url_is_reported_by_health_only(aiohttp_client, nats_url: str) -> None:
    settings = make_settings(nats_url, openai={"api_key": "sk-test", "base_url": "http://127.0.0.1:9/v1"})
    client = await aiohttp_client(create_app(settings))
    body = await (await client.get("/health")).json()
    assert body["services"]["llm"].startswith("error"), body["services"]["llm"]
    assert body["last_ok"]["llm"] is None
    assert (await client.get("/health/ready")).status == 200


async def test_readiness_is_503_without_nats(aiohttp_client, nats_url: str) -> None:
    client = await aiohttp_client(create_app(make_settings(nats_url), with_worker=False))
    assert (await client.get("/health/ready")).status == 200
    await client.app[SERVICES].runtime.nc.close()
    ready = await client.get("/health/ready")
    assert ready.status == 503
    body = await ready.json()
    assert body["status"] == "degraded"
    assert body["services"]["nats"].startswith("disconnected")
    assert (await client.get("/health")).status == 200  # liveness: the process runs
    metrics = await (await client.get("/metrics")).text()
    assert "augment_nats_connected 0.0" in metrics
