"""Ticket keys and job ids are bounded at every edge: no request takes a process off NATS.

An over-long key used to reach NATS as a subject; nats-server closed the connection and the
process stayed off NATS for good (every route 503, a split worker silently idle).
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from bot.config import Settings
from bot.runtime import subscribe_to_sandbox
from sandbox import Sandbox
from tests.fixtures.nats import NatsServer
from tests.fixtures.service import free_port, service_environment, wait_until_up

LONG_KEY = "A" * 4_100 + "-1"  # the shape of a Jira key, but 4 KiB long
LONG_ID = "a" * 4_100
SECRET = "bounds-secret"
POLL_SECONDS = 0.1


def field_error(body: dict[str, Any]) -> list[Any]:
    return [item["loc"] for item in body["detail"]]


async def test_a_path_ticket_key_that_is_not_a_jira_key_is_422_naming_it(client: TestClient) -> None:
    for key in (
        LONG_KEY,
        "DEMO",
        "DEMO-",
        "1DEMO-3",
        "DEMO-3.outcome",
        "DEMO-3*",
        f"{'P' * 33}-1",
        "DEMO-1234567890123456789",
    ):
        response = await client.get(f"/jobs/ticket/{key}")
        assert response.status == 422, key
        body = await response.json()
        assert field_error(body) == [["path", "ticket_key"]]
        assert "pattern" in body["detail"][0]["msg"] or "at most" in body["detail"][0]["msg"]
        assert len(body["detail"][0]["input"]) <= 201  # a 4 KiB key is not sent back whole
    assert (await client.post("/diagnostics/ping", json={"ticket_key": "demo-3"})).status == 200
    found = await client.get("/jobs/ticket/demo-3")  # lower case is still accepted
    assert found.status == 200


async def test_a_path_job_id_that_is_not_a_job_id_is_422_and_an_unknown_one_404(client: TestClient) -> None:
    for method in ("GET", "DELETE"):
        response = await client.request(method, f"/jobs/{LONG_ID}")
        assert response.status == 422
        assert field_error(await response.json()) == [["path", "job_id"]]
        unknown = await client.request(method, f"/jobs/{uuid.uuid4()}")
        assert unknown.status == 404
    done = await (await client.post("/diagnostics/ping", json={})).json()
    job_id = (await (await client.get("/jobs?limit=1")).json())["jobs"][0]["job_id"]
    assert done["steps"] == 1
    assert (await client.get(f"/jobs/{job_id.upper()}")).status == 200  # ids are case-insensitive


async def test_a_results_key_spelled_into_the_path_is_422_not_500(client: TestClient) -> None:
    job_id = uuid.uuid4()
    response = await client.get(f"/jobs/{job_id}.outcome/tickets/DEMO-3")
    assert response.status == 422
    assert field_error(await response.json()) == [["path", "job_id"]]
    wrong_key = await client.get(f"/jobs/{job_id}/tickets/{LONG_KEY}")
    assert field_error(await wrong_key.json()) == [["path", "ticket_key"]]
    assert (await client.get(f"/jobs/{job_id}/tickets/DEMO-3")).status == 404


async def test_body_ticket_keys_are_bounded(client: TestClient) -> None:
    for path in ("/generate/single", "/diagnostics/ping"):
        response = await client.post(path, json={"ticket_key": LONG_KEY})
        assert response.status == 422, path
        assert field_error(await response.json()) == [["body", "ticket_key"]]
    assert (await client.post("/diagnostics/ping", json={"ticket_key": "DEMO-3"})).status == 200


async def test_the_openapi_document_shows_what_a_key_and_an_id_may_be(client: TestClient) -> None:
    document = await (await client.get("/openapi.json")).json()
    operation = document["paths"]["/jobs/{job_id}/tickets/{ticket_key}"]["get"]
    schemas = {parameter["name"]: parameter["schema"] for parameter in operation["parameters"]}
    assert schemas["job_id"]["maxLength"] == 36
    assert schemas["job_id"]["pattern"].startswith("^[0-9a-fA-F]{8}-")
    assert schemas["ticket_key"]["pattern"] == "^[A-Za-z][A-Za-z0-9_]{0,31}-[0-9]{1,18}$"
    assert "422" in operation["responses"]
    single = document["components"]["schemas"]["GenerateSingleRequest"]["properties"]["ticket_key"]
    assert single["pattern"] == schemas["ticket_key"]["pattern"]


# --- against real `augment` processes -------------------------------------------------------


@dataclass
class Deployment:
    """`augment serve`, or `augment api` + `augment worker`, on a sandbox Jira of the test's own."""

    api_url: str
    sandbox: Sandbox
    session: aiohttp.ClientSession
    worker_health_url: str | None = None

    async def comment(self, key: str, body: str) -> None:
        admin = self.sandbox.admin
        headers = {"Authorization": aiohttp.encode_basic_auth(admin.email, admin.api_token)}
        url = f"{self.sandbox.jira_url}/rest/api/2/issue/{key}/comment"
        async with self.session.post(url, json={"body": body}, headers=headers) as response:
            assert response.status == 201, await response.text()

    async def wait_for_comment(self, key: str, text: str, seconds: float = 30.0) -> str:
        admin = self.sandbox.admin
        headers = {"Authorization": aiohttp.encode_basic_auth(admin.email, admin.api_token)}
        url = f"{self.sandbox.jira_url}/rest/api/2/issue/{key}/comment"
        for _ in range(int(seconds / POLL_SECONDS)):
            async with self.session.get(url, headers=headers) as response:
                bodies = [comment["body"] for comment in (await response.json())["comments"]]
            found = [body for body in bodies if text in body]
            if found:
                return found[0]
            await asyncio.sleep(POLL_SECONDS)
        raise AssertionError(f"no comment with {text!r} on {key}: {bodies}")


def deployment_environment(settings: Settings, sandbox: Sandbox, **extra: str) -> dict[str, str]:
    bot = sandbox.bot
    return service_environment(
        settings,
        JIRA_URL=sandbox.jira_url,
        JIRA_EMAIL=bot.email,
        JIRA_TOKEN=bot.api_token,
        OPENAI_API_KEY="sandbox",
        OPENAI_BASE_URL=f"{sandbox.llm_url}/openai/v1",
        WEBHOOKS_SECRET=SECRET,
        COMMANDS_USERS=json.dumps(["*"]),
        COMMANDS_PROJECTS=json.dumps(["*"]),
        LIMITS_SYNC_TIMEOUT_SECONDS="10",
        **extra,
    )


@pytest.fixture(params=["serve", "api+worker"])
async def deployment(
    request: pytest.FixtureRequest, augment_processes, settings: Settings
) -> AsyncIterator[Deployment]:
    port = free_port()
    async with Sandbox() as sandbox, aiohttp.ClientSession() as session:
        if request.param == "serve":
            augment_processes("serve", deployment_environment(settings, sandbox, SERVER_PORT=str(port)))
            health_url = None
        else:
            health_port = free_port()
            augment_processes("api", deployment_environment(settings, sandbox, SERVER_PORT=str(port)))
            augment_processes("worker", deployment_environment(settings, sandbox, WORKER_HEALTH_PORT=str(health_port)))
            health_url = f"http://127.0.0.1:{health_port}"
        api_url = f"http://127.0.0.1:{port}"
        await wait_until_up(session, api_url)
        if health_url is not None:
            await wait_until_up(session, health_url, path="/health")
        full = Settings.model_validate({"webhooks": {"secret": SECRET}})
        await subscribe_to_sandbox(sandbox, full, f"{api_url}/webhooks/jira")
        yield Deployment(api_url, sandbox, session, health_url)


async def test_the_three_probes_of_the_issue_leave_every_process_on_nats(deployment: Deployment) -> None:
    session, api = deployment.session, deployment.api_url
    async with session.get(f"{api}/jobs/ticket/{LONG_KEY}") as response:
        assert response.status == 422
    async with session.post(f"{api}/generate/single", json={"ticket_key": LONG_KEY}) as response:
        assert response.status == 422
    await deployment.comment("DEMO-3", f"/augment cancel {LONG_ID}")
    answer = await deployment.wait_for_comment("DEMO-3", "is not a job id")
    assert "Cannot run" in answer

    # Still on NATS: a job goes through the queue and a worker, and /health says so.
    async with session.post(f"{api}/diagnostics/ping", json={"ticket_key": "DEMO-3", "steps": 2}) as response:
        assert response.status == 200, await response.text()
        assert (await response.json())["steps"] == 2
    async with session.get(f"{api}/health") as response:
        assert (await response.json())["services"]["nats"] == "connected"
    if deployment.worker_health_url is not None:
        async with session.get(deployment.worker_health_url + "/health/ready") as response:
            assert response.status == 200
            assert (await response.json())["services"] == {"nats": "connected"}


async def get_json(session: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, Any]]:
    async with session.get(url) as response:
        return response.status, await response.json()


async def wait_for_status(session: aiohttp.ClientSession, url: str, status: int) -> dict[str, Any]:
    for _ in range(150):
        answered, body = await get_json(session, url)
        if answered == status:
            return body
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"{url} kept answering {answered}: {body}")


async def test_the_worker_health_says_when_nats_is_away(augment_processes, tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "own-nats")
    server.start()
    health_port = free_port()
    settings = Settings.model_validate({"nats": {"url": server.url}})
    worker = augment_processes("worker", service_environment(settings, WORKER_HEALTH_PORT=str(health_port)))
    url = f"http://127.0.0.1:{health_port}"
    try:
        async with aiohttp.ClientSession() as session:
            await wait_until_up(session, url, path="/health")
            status, body = await get_json(session, url + "/health")
            assert (status, body["status"], body["services"]) == (200, "healthy", {"nats": "connected"})

            server.stop()
            body = await wait_for_status(session, url + "/health/ready", 503)
            assert body["status"] == "degraded"
            assert body["services"]["nats"].startswith("disconnected")
            status, _ = await get_json(session, url + "/health")
            assert status == 200  # liveness: the process runs

            server.start(port=int(server.url.rsplit(":", 1)[1]))
            body = await wait_for_status(session, url + "/health/ready", 200)
            assert body["services"] == {"nats": "connected"}
        assert worker.terminate() == 0
    finally:
        server.stop()


async def test_a_worker_whose_health_port_is_taken_says_which_setting_to_change(
    augment_processes, settings: Settings
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        worker = augment_processes("worker", service_environment(settings, WORKER_HEALTH_PORT=str(port)))
        assert worker.wait(timeout=30) != 0
    assert "worker.health_port" in worker.output
    assert "WORKER_HEALTH_PORT" in worker.output
