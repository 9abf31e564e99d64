"""Fault injection: rate limits with Jira's headers, server errors, latency."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from jira import JIRA

from sandbox import Sandbox
from sandbox.jira import FaultSettings
from tests.fixtures.service import eventually


async def test_rate_limited_answers_carry_jira_headers(sandbox: Sandbox, jira_http: aiohttp.ClientSession) -> None:
    sandbox.set_faults(rate_limit_rate=1.0, retry_after_seconds=3)
    async with jira_http.get("/rest/api/2/issue/DEMO-1") as response:
        body = await response.json()
    assert response.status == 429
    assert response.headers["Retry-After"] == "3"
    assert int(response.headers["X-RateLimit-Limit"]) > 0
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert response.headers["X-RateLimit-Reset"].endswith("Z")
    assert response.headers["X-RateLimit-NearLimit"] == "true"
    assert response.headers["RateLimit-Reason"]
    assert body["errorMessages"]


async def test_jira_client_retries_a_429_and_succeeds(
    sandbox: Sandbox, jira_client: JIRA, jira_http: aiohttp.ClientSession
) -> None:
    sandbox.set_faults(rate_limit_rate=1.0, retry_after_seconds=0)
    call = asyncio.create_task(asyncio.to_thread(jira_client.issue, "DEMO-1"))

    async def refused() -> int:
        return sandbox.jira.request_counts["status 429"]

    await eventually(refused, "the client has been refused once", seconds=10)
    sandbox.set_faults(rate_limit_rate=0.0)
    issue = await asyncio.wait_for(call, timeout=30)

    assert issue.key == "DEMO-1"
    assert sandbox.jira.request_counts["status 429"] >= 1
    async with jira_http.get("/_sandbox/requests") as response:
        counters = await response.json()
    assert counters["by_status"]["429"] >= 1 and counters["by_status"]["200"] >= 1


async def test_server_error_rate(sandbox: Sandbox, jira_http: aiohttp.ClientSession) -> None:
    sandbox.set_faults(server_error_rate=0.4)
    statuses = []
    retry_afters = []
    for _ in range(60):
        async with jira_http.get("/rest/api/2/myself") as response:
            statuses.append(response.status)
            if response.status == 503:
                retry_afters.append(response.headers.get("Retry-After"))
    failures = [status for status in statuses if status != 200]
    assert 0 < len(failures) < len(statuses)
    assert set(failures) <= {500, 502, 503, 504}
    assert all(value == "1" for value in retry_afters)


async def test_latency_slows_every_answer(sandbox: Sandbox, jira_http: aiohttp.ClientSession) -> None:
    sandbox.set_faults(latency_ms=1000)
    with pytest.raises(TimeoutError):
        async with jira_http.get("/rest/api/2/myself", timeout=aiohttp.ClientTimeout(total=0.2)):
            pass


async def test_admin_routes_are_never_faulted(sandbox: Sandbox, jira_http: aiohttp.ClientSession) -> None:
    async with jira_http.put("/_sandbox/faults", json={"rate_limit_rate": 1.0, "server_error_rate": 1.0}) as response:
        settings = await response.json()
    assert settings["rate_limit_rate"] == 1.0 and settings["server_error_rate"] == 1.0
    async with jira_http.get("/_sandbox/faults") as response:
        assert response.status == 200
    async with jira_http.get("/rest/api/2/myself") as response:
        assert response.status == 429


async def test_fault_settings_are_validated(sandbox: Sandbox, jira_http: aiohttp.ClientSession) -> None:
    with pytest.raises(ValueError):
        sandbox.set_faults(rate_limit_rate=2)
    with pytest.raises(ValueError):
        sandbox.set_faults(no_such_fault=1)
    async with jira_http.put("/_sandbox/faults", json={"latency_ms": -1}) as response:
        assert response.status == 400
    async with jira_http.get("/_sandbox/faults") as response:
        assert (await response.json())["latency_ms"] == 0


async def test_faults_from_the_constructor() -> None:
    async with Sandbox(faults=FaultSettings(server_error_rate=1.0)) as sandbox:
        headers = {"Authorization": aiohttp.encode_basic_auth(sandbox.bot.email, sandbox.bot.api_token)}
        async with aiohttp.ClientSession(base_url=sandbox.jira_url, headers=headers) as session:
            async with session.get("/wiki/api/v2/pages/98305") as response:
                assert response.status in (500, 502, 503, 504)


async def test_same_seed_same_faults() -> None:
    outcomes = []
    for _ in range(2):
        async with Sandbox(seed=42) as sandbox:
            sandbox.set_faults(rate_limit_rate=0.5)
            headers = {"Authorization": aiohttp.encode_basic_auth(sandbox.bot.email, sandbox.bot.api_token)}
            async with aiohttp.ClientSession(base_url=sandbox.jira_url, headers=headers) as session:
                run = []
                for _ in range(20):
                    async with session.get("/rest/api/2/myself") as response:
                        run.append(response.status)
                outcomes.append(run)
    assert outcomes[0] == outcomes[1]
    assert set(outcomes[0]) == {200, 429}


async def test_a_429_without_retry_after_still_says_when_to_come_back(
    sandbox: Sandbox, jira_http: aiohttp.ClientSession
) -> None:
    sandbox.set_faults(rate_limit_without_retry_after_rate=1.0)
    async with jira_http.get("/rest/api/2/issue/DEMO-1") as response:
        body = await response.json()
    assert response.status == 429
    assert "Retry-After" not in response.headers
    assert response.headers["X-RateLimit-Reset"].endswith("Z")
    assert response.headers["RateLimit-Reason"]
    assert body == {"errorMessages": ["Rate limit exceeded."], "errors": {}}


async def test_a_server_error_after_a_write_keeps_the_write(sandbox: Sandbox, jira_http: aiohttp.ClientSession) -> None:
    sandbox.set_faults(server_error_after_write_rate=1.0)
    async with jira_http.post("/rest/api/2/issue/DEMO-1/comment", json={"body": "written anyway"}) as response:
        body = await response.json()
    assert response.status in (502, 504)
    assert body["errorMessages"] and body["errors"] == {}
    async with jira_http.get("/rest/api/2/issue/DEMO-1/comment") as response:
        assert response.status == 200  # reads are never struck
        comments = (await response.json())["comments"]
    assert [comment["body"] for comment in comments].count("written anyway") == 1


async def test_a_refused_write_is_not_struck_after_the_fact(sandbox: Sandbox, jira_http: aiohttp.ClientSession) -> None:
    sandbox.set_faults(server_error_after_write_rate=1.0)
    async with jira_http.post("/rest/api/2/issue/DEMO-1/comment", json={"body": ""}) as response:
        assert response.status == 400
