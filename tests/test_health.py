"""GET /health reports every dependency; /health/ready turns "degraded" into 503."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from bot.app import create_app
from tests.fixtures.nats import make_settings

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
    ready = await client.get("/health/ready")
    assert ready.status == 503
    assert (await ready.json())["status"] == "degraded"


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
