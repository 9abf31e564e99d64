"""Logs: JSON lines with the job id and ticket key bound, and never a secret."""

from __future__ import annotations

import asyncio
import base64
import json
import os

import aiohttp

from bot.logs import configure_logging, redact
from tests.fixtures.service import free_port, wait_until_up

SECRETS = {
    "JIRA_TOKEN": "jira-token-5ecret-value",
    "OPENAI_API_KEY": "sk-openai-5ecret-value",
    "WEBHOOKS_SECRET": "webhook-5ecret-value",
    "WEBHOOKS_URL_TOKEN": "url-token-5ecret-value",
}


def test_redact_removes_known_secrets_and_secret_looking_parts() -> None:
    configure_logging("info", "json", secrets=["abcd-secret-1234"])
    assert (
        redact("calling https://x/?token=zzz&a=1 with abcd-secret-1234") == "calling https://x/?token=***&a=1 with ***"
    )
    assert redact("Authorization: Bearer eyJhbGciOi.J9") == "Authorization: Bearer ***"
    assert redact("Basic YWRtaW46cGFzcw==") == "Basic ***"


async def test_a_running_service_never_logs_a_secret(augment_processes, settings) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("NATS_", "JIRA_", "OPENAI_"))}
    env.update(
        SECRETS,
        NATS_URL=settings.nats.url,
        SERVER_PORT=str(port),
        SANDBOX_ENABLED="false",
        LOG_FORMAT="json",
        LOG_LEVEL="debug",
        JIRA_URL="http://127.0.0.1:9",  # nothing listens: health checks fail and say why
        JIRA_EMAIL="bot@example.com",
    )
    service = augment_processes("serve", env)
    async with aiohttp.ClientSession() as session:
        await wait_until_up(session, url)
        async with session.get(url + "/health") as response:
            health = await response.text()
        async with session.get(url + f"/jobs?token={SECRETS['WEBHOOKS_URL_TOKEN']}") as response:
            assert response.status == 200
        async with session.post(url + "/diagnostics/ping", json={"ticket_key": "DEMO-31"}) as response:
            assert response.status == 200
        async with session.get(url + "/jobs/ticket/" + "A" * 4_100) as response:
            assert response.status == 422
    assert service.terminate() == 0

    output = service.output
    for secret in SECRETS.values():
        assert secret not in output
        assert secret not in health
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    starting = next(line for line in lines if line["event"] == "augment starting")
    assert starting["event_loop"] == "uvloop"  # server.event_loop's default
    completed = next(line for line in lines if line["event"] == "job completed")
    assert completed["ticket_key"] == "DEMO-31"
    assert len(completed["job_id"]) == 36
    assert {"timestamp", "level", "event"} <= set(completed)
    logged_paths = [line["path"] for line in lines if line["event"] == "request"]
    assert max(len(path) for path in logged_paths) <= 201  # an over-long path is cut in the log


def test_redact_hides_any_authorization_value_keeping_its_scheme() -> None:
    configure_logging("info", "json")
    assert redact("b'Authorization: Token abc123\\r\\nHost: x'") == "b'Authorization: Token ***\\r\\nHost: x'"
    assert redact("authorization: abc123") == "authorization: ***"


async def raw_request(port: int, head: str) -> bytes:
    """Send a request head as it is (no client would send these) and read the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode())
        await writer.drain()
        return await asyncio.wait_for(reader.read(4096), timeout=10)
    finally:
        writer.close()


async def test_aiohttp_error_lines_are_redacted_too(augment_processes, settings) -> None:
    """Over 8,190 bytes of headers, aiohttp logs the offending line itself; it must pass redaction."""
    token, password = SECRETS["WEBHOOKS_URL_TOKEN"], "hunter2-5ecret-password"
    credentials = base64.b64encode(f"admin:{password}{'x' * 9000}".encode()).decode()
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("NATS_", "JIRA_", "WEBHOOKS_"))}
    env.update(
        WEBHOOKS_URL_TOKEN=token,
        NATS_URL=settings.nats.url,
        SERVER_PORT=str(port),
        SANDBOX_ENABLED="false",
        LOG_FORMAT="json",
        JIRA_URL="http://127.0.0.1:9",
        JIRA_EMAIL="bot@example.com",
        JIRA_TOKEN=SECRETS["JIRA_TOKEN"],
    )
    service = augment_processes("serve", env)
    async with aiohttp.ClientSession() as session:
        await wait_until_up(session, f"http://127.0.0.1:{port}")
    long_url = f"POST /webhooks/jira?token={token}&pad={'p' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n"
    long_credentials = f"GET /jobs?token={token} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {credentials}\r\n\r\n"
    for head in (long_url, long_credentials):
        assert (await raw_request(port, head)).startswith(b"HTTP/1.0 400")
    assert service.terminate() == 0

    output = service.output
    assert token not in output
    assert credentials[:40] not in output
    errors = [json.loads(line) for line in output.splitlines() if "Error handling request" in line]
    assert len(errors) == 2 and all(line["logger"] == "aiohttp.server" for line in errors)
    assert "token=***" in errors[0]["exception"] and "Basic ***" in errors[1]["exception"]
