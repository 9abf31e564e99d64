"""Snapshots, reset, the movable clock and the composite Sandbox."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import aiohttp
import openai
import pytest

from sandbox import Sandbox


def _auth(sandbox: Sandbox) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(sandbox.bot.email, sandbox.bot.api_token)}


async def test_snapshot_file_survives_a_restart(tmp_path: Path) -> None:
    snapshot = tmp_path / "site.json"
    async with Sandbox(snapshot=snapshot) as first:
        async with aiohttp.ClientSession(base_url=first.jira_url, headers=_auth(first)) as session:
            async with session.put("/rest/api/2/issue/DEMO-4", json={"fields": {"summary": "Kept"}}) as response:
                assert response.status == 204
        saved = json.loads(snapshot.read_text())
        assert any(issue["summary"] == "Kept" for issue in saved["site"]["issues"])

    async with Sandbox(snapshot=snapshot) as second:
        async with aiohttp.ClientSession(base_url=second.jira_url, headers=_auth(second)) as session:
            async with session.get("/rest/api/2/issue/DEMO-4?fields=summary") as response:
                assert (await response.json())["fields"]["summary"] == "Kept"


async def test_a_start_that_fails_on_a_busy_port_leaves_the_snapshot_as_it_was(tmp_path: Path) -> None:
    snapshot = tmp_path / "sandbox.json"
    async with Sandbox(snapshot=snapshot) as first:
        async with aiohttp.ClientSession(base_url=first.jira_url, headers=_auth(first)) as session:
            async with session.put("/rest/api/2/issue/DEMO-4", json={"fields": {"summary": "Kept"}}) as response:
                assert response.status == 204
    kept = snapshot.read_text(encoding="utf-8")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        failed = Sandbox(snapshot=snapshot, jira_port=busy.getsockname()[1])
        with pytest.raises(OSError):
            await failed.start()
        await failed.stop()
    assert snapshot.read_text(encoding="utf-8") == kept
    async with Sandbox(snapshot=snapshot) as again:  # starts, with the change kept
        assert any(issue.summary == "Kept" for issue in again.jira.site.issues())


async def test_reset_and_snapshot_export_import(jira_http: aiohttp.ClientSession) -> None:
    async with jira_http.get("/_sandbox/snapshot") as response:
        original = await response.json()
    async with jira_http.put("/rest/api/2/issue/DEMO-4", json={"fields": {"summary": "Changed"}}):
        pass
    async with jira_http.put("/_sandbox/snapshot", json=original) as response:
        assert response.status == 204
    async with jira_http.get("/rest/api/2/issue/DEMO-4?fields=summary") as response:
        assert (await response.json())["fields"]["summary"] == "Show export history"
    async with jira_http.put("/rest/api/2/issue/DEMO-4", json={"fields": {"summary": "Changed again"}}):
        pass
    async with jira_http.post("/_sandbox/reset") as response:
        assert response.status == 204
    async with jira_http.get("/rest/api/2/issue/DEMO-4?fields=summary") as response:
        assert (await response.json())["fields"]["summary"] == "Show export history"
    async with jira_http.put("/_sandbox/snapshot", json={"site": {"users": "nope"}}) as response:
        assert response.status == 400


async def test_clock_offset_moves_now(jira_http: aiohttp.ClientSession) -> None:
    async with jira_http.put("/_sandbox/clock", json={"offset_seconds": 86400 * 365}) as response:
        clock = await response.json()
    assert clock["offset_seconds"] == 86400 * 365
    async with jira_http.get("/rest/api/2/serverInfo") as response:
        server_time = (await response.json())["serverTime"]
    assert server_time[:4] == clock["now"][:4]
    async with jira_http.get("/rest/api/2/search/jql", params={"jql": "created >= -30d", "fields": "key"}) as response:
        assert (await response.json())["issues"] == []


async def test_sandbox_exposes_urls_credentials_and_the_llm(sandbox: Sandbox) -> None:
    assert sandbox.confluence_url == sandbox.jira_url + "/wiki"
    assert sandbox.bot.email == "augment-bot@example.com"
    assert sandbox.admin.email == "alex@example.com"
    assert sandbox.custom_fields == {
        "prd": "customfield_10050",
        "rfc": "customfield_10051",
        "test_cases": "customfield_10052",
        "mandays": "customfield_10053",
        "sprint": "customfield_10020",
        "story_points": "customfield_10016",
    }
    assert (sandbox.board_id, sandbox.project_key) == (1, "DEMO")
    client = openai.AsyncOpenAI(base_url=f"{sandbox.llm_url}/openai/v1", api_key="sandbox")
    models = await client.models.list()
    assert models.data
    await client.close()


async def test_request_counters(jira_http: aiohttp.ClientSession) -> None:
    async with jira_http.delete("/_sandbox/requests"):
        pass
    for _ in range(3):
        async with jira_http.get("/rest/api/2/issue/DEMO-1"):
            pass
    async with jira_http.get("/rest/api/2/issue/NOPE-1"):
        pass
    async with jira_http.get("/_sandbox/requests") as response:
        counters = await response.json()
    assert counters["by_route"] == {"GET /rest/api/{version}/issue/{issue}": 4}
    assert counters["by_status"] == {"200": 3, "404": 1} and counters["total"] == 4


async def test_two_sandboxes_run_side_by_side() -> None:
    async with Sandbox() as one, Sandbox() as two:
        assert one.jira_url != two.jira_url
        results = await asyncio.gather(*(_summary(sb) for sb in (one, two)))
    assert results == ["Self-serve data export"] * 2


async def _summary(sandbox: Sandbox) -> str:
    async with aiohttp.ClientSession(base_url=sandbox.jira_url, headers=_auth(sandbox)) as session:
        async with session.get("/rest/api/2/issue/DEMO-1?fields=summary") as response:
            return (await response.json())["fields"]["summary"]
