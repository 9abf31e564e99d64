"""`JiraClient.add_attachment` against the sandbox Jira: multipart with Jira's XSRF header, and
once only when Jira answers 5xx after storing the file."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from bot.config import JiraSettings
from bot.jira.client import JiraClient, JiraNotFoundError
from sandbox import Sandbox

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
async def jira(sandbox: Sandbox) -> AsyncIterator[JiraClient]:
    settings = JiraSettings(
        url=sandbox.jira_url, email=sandbox.bot.email, token=SecretStr(sandbox.bot.api_token), max_retries=3
    )
    client = JiraClient(settings)
    yield client
    await client.close()


async def _attachments(sandbox: Sandbox, key: str) -> list[dict[str, Any]]:
    headers = {"Authorization": aiohttp.encode_basic_auth(sandbox.admin.email, sandbox.admin.api_token)}
    async with aiohttp.ClientSession(base_url=sandbox.jira_url, headers=headers) as session:
        async with session.get(f"/rest/api/2/issue/{key}", params={"fields": "attachment"}) as response:
            return list((await response.json())["fields"]["attachment"])


async def test_an_attachment_arrives_with_its_name_type_and_bytes(sandbox: Sandbox, jira: JiraClient) -> None:
    attachment_id = await jira.add_attachment("DEMO-1", "timeline.png", PNG, "image/png")
    [stored] = await _attachments(sandbox, "DEMO-1")
    assert (stored["id"], stored["filename"], stored["mimeType"], stored["size"]) == (
        attachment_id,
        "timeline.png",
        "image/png",
        len(PNG),
    )


async def test_a_502_after_the_write_does_not_attach_twice(sandbox: Sandbox, jira: JiraClient) -> None:
    sandbox.set_faults(server_error_after_write_rate=1.0)
    attachment_id = await jira.add_attachment("DEMO-2", "timeline.png", PNG, "image/png")
    sandbox.set_faults(server_error_after_write_rate=0.0)

    stored = await _attachments(sandbox, "DEMO-2")
    assert [a["id"] for a in stored] == [attachment_id]
    posts = [n for name, n in sandbox.jira.request_counts.items() if re.fullmatch(r"POST .*/attachments", name)]
    assert posts == [1]


async def test_a_missing_issue_is_not_found_and_a_bad_filename_never_leaves(sandbox: Sandbox, jira: JiraClient) -> None:
    with pytest.raises(JiraNotFoundError):
        await jira.add_attachment("DEMO-404", "timeline.png", PNG, "image/png")
    with pytest.raises(ValueError, match="filename"):
        await jira.add_attachment("DEMO-1", "x" * 256, PNG, "image/png")
    assert await _attachments(sandbox, "DEMO-1") == []
