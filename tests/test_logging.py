"""Logs: JSON lines with the job id and ticket key bound, and never a secret."""

from __future__ import annotations

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
    assert service.terminate() == 0

    output = service.output
    for secret in SECRETS.values():
        assert secret not in output
        assert secret not in health
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    completed = next(line for line in lines if line["event"] == "job completed")
    assert completed["ticket_key"] == "DEMO-31"
    assert len(completed["job_id"]) == 36
    assert {"timestamp", "level", "event"} <= set(completed)
