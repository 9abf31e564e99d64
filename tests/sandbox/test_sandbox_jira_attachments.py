"""Attachments: Jira's XSRF rule, its size limit, the issue's `attachment` field, metadata and
content download; also through the `jira` library, as Augment's client uses it."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import aiohttp
import pytest
from jira import JIRA

from sandbox import Sandbox
from sandbox.jira.routes import attachments

NO_CHECK = {"X-Atlassian-Token": "no-check"}


def _form(*files: tuple[str, bytes, str]) -> aiohttp.FormData:
    form = aiohttp.FormData()
    for name, content, media_type in files:
        form.add_field("file", content, filename=name, content_type=media_type)
    return form


@pytest.mark.parametrize("version", ["2", "3"])
async def test_an_attachment_is_stored_shown_on_the_issue_and_downloadable(
    jira_http: aiohttp.ClientSession, version: str
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    async with jira_http.post(
        f"/rest/api/{version}/issue/DEMO-1/attachments",
        data=_form(("timeline.png", png, "image/png"), ("notes.txt", b"hello", "text/plain")),
        headers=NO_CHECK,
    ) as response:
        assert response.status == 200
        added = await response.json()
    assert [(a["filename"], a["size"], a["mimeType"]) for a in added] == [
        ("timeline.png", len(png), "image/png"),
        ("notes.txt", 5, "text/plain"),
    ]
    assert added[0]["author"]["displayName"] and added[0]["created"]

    async with jira_http.get(f"/rest/api/{version}/issue/DEMO-1", params={"fields": "attachment"}) as response:
        shown = (await response.json())["fields"]["attachment"]
    assert [a["id"] for a in shown] == [a["id"] for a in added]

    async with jira_http.get(f"/rest/api/2/attachment/{added[0]['id']}") as response:
        assert response.status == 200 and (await response.json())["filename"] == "timeline.png"
    async with jira_http.get(added[0]["content"]) as response:
        assert response.status == 200 and response.content_type == "image/png"
        assert await response.read() == png
        assert "timeline.png" in response.headers["Content-Disposition"]


async def test_without_the_no_check_token_jira_refuses_as_xsrf(jira_http: aiohttp.ClientSession) -> None:
    async with jira_http.post(
        "/rest/api/2/issue/DEMO-1/attachments", data=_form(("a.txt", b"x", "text/plain"))
    ) as response:
        assert response.status == 403 and await response.text() == "XSRF check failed"
    async with jira_http.get("/rest/api/2/issue/DEMO-1", params={"fields": "attachment"}) as response:
        assert (await response.json())["fields"]["attachment"] == []


async def test_a_file_over_the_limit_is_413_and_nothing_is_stored(
    jira_http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attachments, "MAX_ATTACHMENT_BYTES", 1000)
    async with jira_http.post(
        "/rest/api/2/issue/DEMO-1/attachments",
        data=_form(("small.txt", b"x", "text/plain"), ("big.bin", b"y" * 1001, "application/octet-stream")),
        headers=NO_CHECK,
    ) as response:
        assert response.status == 413
        assert (await response.json())["errorMessages"] == [
            "The field file exceeds its maximum permitted size of 1000 bytes."
        ]
    async with jira_http.get("/rest/api/2/issue/DEMO-1", params={"fields": "attachment"}) as response:
        assert (await response.json())["fields"]["attachment"] == []


async def test_unknown_issue_unknown_attachment_and_a_viewer_are_refused(
    sandbox: Sandbox, jira_http: aiohttp.ClientSession
) -> None:
    async with jira_http.post(
        "/rest/api/2/issue/DEMO-404/attachments", data=_form(("a.txt", b"x", "text/plain")), headers=NO_CHECK
    ) as response:
        assert response.status == 404
    async with jira_http.get("/rest/api/2/attachment/99999") as response:
        assert response.status == 404
    viewer = sandbox.credentials("robin@example.com")
    headers = {"Authorization": aiohttp.encode_basic_auth(viewer.email, viewer.api_token)}
    async with aiohttp.ClientSession(base_url=sandbox.jira_url, headers=headers) as session:
        async with session.post(
            "/rest/api/2/issue/DEMO-1/attachments", data=_form(("a.txt", b"x", "text/plain")), headers=NO_CHECK
        ) as response:
            assert response.status == 403
            assert "create attachments" in (await response.json())["errorMessages"][0]


async def test_the_jira_library_attaches_and_reads_back(jira_client: JIRA) -> None:
    attachment = await asyncio.to_thread(
        jira_client.add_attachment, "DEMO-2", attachment=io.BytesIO(b"<svg/>"), filename="plan.svg"
    )
    assert attachment.filename == "plan.svg" and attachment.size == 6
    issue = await asyncio.to_thread(jira_client.issue, "DEMO-2", fields="attachment")
    assert [a.filename for a in issue.fields.attachment] == ["plan.svg"]
    assert await asyncio.to_thread(issue.fields.attachment[0].get) == b"<svg/>"


async def test_the_answers_have_the_shapes_of_atlassians_spec(jira_http: aiohttp.ClientSession, openapi: Any) -> None:
    path = "/rest/api/3/issue/DEMO-1/attachments"
    async with jira_http.post(path, data=_form(("a.txt", b"x", "text/plain")), headers=NO_CHECK) as response:
        added = await response.json()
        openapi.check("POST", path, response.status, added)
    metadata = f"/rest/api/3/attachment/{added[0]['id']}"
    async with jira_http.get(metadata) as response:
        openapi.check("GET", metadata, response.status, await response.json())
