"""Jobs live in JetStream, not in a process: restarts of the service or of NATS lose nothing."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.config import Settings
from bot.runtime import subscribe_to_sandbox
from sandbox import Sandbox
from tests.fixtures.nats import NatsServer, make_settings
from tests.fixtures.service import eventually, finished, free_port, service_environment, wait_for_job, wait_until_up


async def test_a_restarted_service_keeps_its_jobs_and_runs_what_was_queued(aiohttp_client, settings: Settings) -> None:
    before = await aiohttp_client(create_app(settings, with_worker=False))
    done_by_nobody = await before.post("/diagnostics/ping", json={"ticket_key": "DEMO-20", "async_mode": True})
    queued_id = (await done_by_nobody.json())["job_id"]
    await before.close()

    after = await aiohttp_client(create_app(settings))
    job = await wait_for_job(after, queued_id, finished)
    assert job["status"] == "completed"
    listing = await (await after.get("/jobs")).json()
    assert [row["job_id"] for row in listing["jobs"]] == [queued_id]
    assert (await (await after.get("/jobs/ticket/DEMO-20")).json())["job_id"] == queued_id


def embedded_env(port: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("NATS_")}
    env.update(SERVER_PORT=str(port), SANDBOX_ENABLED="false", LOG_FORMAT="json")
    return env


async def test_the_embedded_nats_keeps_jobs_across_a_restart_and_stops_with_the_service(
    augment_processes, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        first = augment_processes("serve", embedded_env(port))
        await wait_until_up(session, url)
        async with session.post(url + "/diagnostics/ping", json={"ticket_key": "DEMO-21", "steps": 2}) as response:
            assert response.status == 200
        assert first.terminate() == 0
        lines = [json.loads(line) for line in first.output.splitlines() if line.startswith("{")]
        nats_pid = next(line["pid"] for line in lines if line["event"] == "embedded nats-server started")
        with pytest.raises(ProcessLookupError):
            os.kill(nats_pid, 0)  # the embedded server stopped with the service
        assert (tmp_path / ".augment" / "nats").is_dir()

        second = augment_processes("serve", embedded_env(port))
        await wait_until_up(session, url)
        async with session.get(url + "/jobs/ticket/DEMO-21") as response:
            job = await response.json()
        assert job["status"] == "completed"
        assert job["result"]["steps"] == 2
        assert second.terminate() == 0


async def nats_reported(client: TestClient, state: str) -> bool:
    """Whether /health reports NATS as `state` (`connected`, `disconnected: ...`)."""
    return (await (await client.get("/health")).json())["services"]["nats"].startswith(state)


async def answers_jobs(client: TestClient) -> bool:
    return (await client.get("/jobs")).status == 200


async def test_nats_going_away_answers_503_and_service_recovers(aiohttp_client, tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "own-nats")
    server.start()
    try:
        client = await aiohttp_client(create_app(make_settings(server.url)))
        assert (await client.post("/diagnostics/ping", json={})).status == 200

        server.stop()
        await eventually(lambda: nats_reported(client, "disconnected"), "the service noticed NATS was gone")
        down = await client.post("/diagnostics/ping", json={})
        assert down.status == 503
        assert await down.json() == {"detail": "NATS is unreachable; try again shortly"}
        assert (await client.get("/jobs")).status == 503
        # Bad input is still refused for what it is, not sent away to retry later.
        assert (await client.post("/diagnostics/ping", json={"steps": "3"})).status == 422
        assert (await client.get("/jobs/ticket/" + "A" * 4_100)).status == 422
        health = await (await client.get("/health")).json()
        assert health["status"] == "degraded"
        assert health["services"]["nats"].startswith("disconnected")

        server.start(port=int(server.url.rsplit(":", 1)[1]))
        await eventually(lambda: answers_jobs(client), "the service reconnected to NATS")
        assert (await client.post("/diagnostics/ping", json={"ticket_key": "DEMO-22"})).status == 200
    finally:
        server.stop()


async def test_augment_worker_without_nats_url_says_what_it_needs(augment_processes) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("NATS_")}
    worker = augment_processes("worker", env)
    assert worker.wait() == 1
    assert "nats.url (env NATS_URL)" in worker.output
    assert sys.executable  # the same interpreter ran it


async def test_a_webhook_accepted_before_a_crash_is_processed_after_it(
    augment_processes, settings: Settings, tmp_path: Path
) -> None:
    """The API takes a webhook and dies (SIGKILL) before any worker saw it; a worker started
    afterwards still turns it into a job and answers on the ticket."""
    rule = {"name": "new", "on": "issue_created", "action": {"job_type": "single", "reply": "comment"}}
    port = free_port()
    async with Sandbox() as sandbox, aiohttp.ClientSession() as session:
        bot, admin = sandbox.bot, sandbox.admin
        env = service_environment(
            settings,
            SERVER_PORT=str(port),
            JIRA_URL=sandbox.jira_url,
            JIRA_EMAIL=bot.email,
            JIRA_TOKEN=bot.api_token,
            OPENAI_API_KEY="sandbox",
            OPENAI_BASE_URL=f"{sandbox.llm_url}/openai/v1",
            WEBHOOKS_SECRET="restart-secret",
            TRIGGERS_RULES=json.dumps([rule]),
        )
        api = augment_processes("api", env)
        await wait_until_up(session, f"http://127.0.0.1:{port}")
        full = Settings.model_validate({"webhooks": {"secret": "restart-secret"}})
        await subscribe_to_sandbox(sandbox, full, f"http://127.0.0.1:{port}/webhooks/jira")
        auth = {"Authorization": aiohttp.encode_basic_auth(admin.email, admin.api_token)}
        fields = {"project": {"key": "DEMO"}, "issuetype": {"name": "Story"}, "summary": "Survives a crash"}
        async with session.post(f"{sandbox.jira_url}/rest/api/2/issue", json={"fields": fields}, headers=auth) as made:
            key = (await made.json())["key"]
        assert await sandbox.wait_for_webhooks(timeout=30)
        assert [attempt["status"] for attempt in sandbox.webhook_deliveries()] == [202]
        api.kill()

        augment_processes("worker", env)
        comments = f"{sandbox.jira_url}/rest/api/2/issue/{key}/comment"

        async def previewed() -> bool:
            async with session.get(comments, headers=auth) as response:
                bodies = [comment["body"] for comment in (await response.json())["comments"]]
            return any(f"Preview: a description for {key}" in body for body in bodies)

        await eventually(previewed, f"the worker commented a preview on {key}", seconds=30)
