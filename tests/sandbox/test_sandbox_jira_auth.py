"""Basic auth on every call: 401 without or with wrong credentials, 403 without permission."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from jira import JIRA, JIRAError

from sandbox import Sandbox


async def test_missing_and_wrong_credentials_get_401(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession(base_url=sandbox.jira_url) as session:
        async with session.get("/rest/api/2/myself") as anonymous:
            body = await anonymous.json()
        wrong = {"Authorization": aiohttp.encode_basic_auth(sandbox.bot.email, "not-the-token")}
        async with session.get("/rest/api/2/issue/DEMO-1", headers=wrong) as bad:
            assert bad.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
        async with session.get("/wiki/rest/api/content/98305") as wiki:
            wiki_body = await wiki.json()
        async with session.get("/rest/api/2/serverInfo") as server_info:
            assert server_info.status == 200  # anonymous, as on Cloud

    assert anonymous.status == 401 and body["errorMessages"]
    assert bad.status == 401
    assert wiki.status == 401 and wiki_body["statusCode"] == 401


async def test_jira_client_reports_401(sandbox: Sandbox) -> None:
    client = await asyncio.to_thread(JIRA, server=sandbox.jira_url, basic_auth=(sandbox.bot.email, "wrong"))
    with pytest.raises(JIRAError) as raised:
        await asyncio.to_thread(client.myself)
    assert raised.value.status_code == 401


async def test_read_only_user_can_read_but_not_write(sandbox: Sandbox) -> None:
    viewer = sandbox.credentials("robin@example.com")
    headers = {"Authorization": aiohttp.encode_basic_auth(viewer.email, viewer.api_token)}
    async with aiohttp.ClientSession(base_url=sandbox.jira_url, headers=headers) as session:
        async with session.get("/rest/api/2/issue/DEMO-1") as read:
            assert read.status == 200
        async with session.put("/rest/api/2/issue/DEMO-1", json={"fields": {"summary": "x"}}) as edit:
            edit_body = await edit.json()
        async with session.post("/rest/api/2/issue/DEMO-1/comment", json={"body": "hi"}) as comment:
            assert comment.status == 403
        async with session.post("/rest/agile/1.0/sprint", json={"name": "x", "originBoardId": 1}) as sprint:
            assert sprint.status == 403

    assert edit.status == 403 and edit_body["errorMessages"]


async def test_webhook_admin_needs_an_administrator(sandbox: Sandbox, jira_http: aiohttp.ClientSession) -> None:
    async with jira_http.get("/rest/webhooks/1.0/webhook") as as_bot:
        assert as_bot.status == 403
    headers = {"Authorization": aiohttp.encode_basic_auth(sandbox.admin.email, sandbox.admin.api_token)}
    async with aiohttp.ClientSession(base_url=sandbox.jira_url, headers=headers) as session:
        async with session.get("/rest/webhooks/1.0/webhook") as as_admin:
            assert as_admin.status == 200
