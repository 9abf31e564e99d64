"""Confluence pages through atlassian-python-api's v1 and v2 clients, and their URLs."""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser

import aiohttp
import pytest
from atlassian import Confluence, ConfluenceV2
from atlassian.errors import ApiError
from requests import HTTPError

from sandbox import Sandbox

_ENTITIES = {
    "nbsp": "\u00a0",
    "ndash": "\u2013",
    "rarr": "\u2192",
    "asymp": "\u2248",
    "ldquo": "\u201c",
    "rdquo": "\u201d",
    "amp": "&",
    "gt": ">",
    "lt": "<",
}


def _table_rows(storage: str, heading: str) -> list[list[str]]:
    """Rows of the first table after ``heading``, read the way a PRD parser would."""

    class Cells(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.rows: list[list[str]] = []
            self.in_cell = False

        def handle_starttag(self, tag: str, attrs: object) -> None:
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.in_cell = True
                self.rows[-1].append("")

        def handle_endtag(self, tag: str) -> None:
            if tag in ("td", "th"):
                self.in_cell = False

        def handle_data(self, data: str) -> None:
            if self.in_cell:
                self.rows[-1][-1] += data

    section = storage.split(f"<h2>{heading}</h2>", 1)[1]
    parser = Cells()
    parser.feed(section.split("</table>", 1)[0])
    return parser.rows


async def test_v1_page_by_id_with_storage_body(confluence: Confluence) -> None:
    page = await asyncio.to_thread(confluence.get_page_by_id, "98305", expand="body.storage")
    storage = page["body"]["storage"]
    assert page["type"] == "page" and page["title"] == "PRD: Self-serve data export"
    assert storage["representation"] == "storage"
    assert page["_links"]["webui"].startswith("/spaces/AUG/pages/98305/")

    rows = _table_rows(storage["value"], "&#x1F4CB; Story Ticket List")
    assert rows[0] == ["Title", "Description", "Acceptance Criteria", "Notes"]
    assert 4 <= len(rows) - 1 <= 6
    assert any("Given" in row[2] and "then" in row[2] for row in rows[1:])
    assert "<thead>" not in storage["value"] and "ac:structured-macro" in storage["value"]


async def test_storage_is_well_formed_xml_with_entities(confluence: Confluence) -> None:
    for page_id in ("98305", "98306"):
        page = await asyncio.to_thread(confluence.get_page_by_id, page_id, expand="body.storage")
        value = page["body"]["storage"]["value"]
        assert re.search(r"&[a-z]+;", value)
        for name, char in _ENTITIES.items():
            value = value.replace(f"&{name};", char) if name not in ("amp", "gt", "lt") else value
        ElementTree.fromstring(f'<root xmlns:ac="urn:ac" xmlns:ri="urn:ri">{value}</root>')


async def test_rfc_has_its_sections(confluence_v2: ConfluenceV2) -> None:
    page = await asyncio.to_thread(confluence_v2.get_page_by_id, "98306", body_format="storage")
    headings = re.findall(r"<h2>(.*?)</h2>", page["body"]["storage"]["value"])
    assert headings == ["Overview", "Technical Design", "Security &amp; Performance", "Rollout", "Concerns"]
    assert page["title"] == "RFC: Data export service" and page["spaceId"]


async def test_missing_pages_answer_in_confluence_shapes(
    confluence: Confluence, confluence_v2: ConfluenceV2, sandbox: Sandbox
) -> None:
    with pytest.raises(ApiError):
        await asyncio.to_thread(confluence.get_page_by_id, "1")
    with pytest.raises(HTTPError):
        await asyncio.to_thread(confluence_v2.get_page_by_id, "1", body_format="storage")
    headers = {"Authorization": aiohttp.encode_basic_auth(sandbox.bot.email, sandbox.bot.api_token)}
    async with aiohttp.ClientSession(base_url=sandbox.jira_url, headers=headers) as session:
        async with session.get("/wiki/rest/api/content/1") as v1:
            v1_body = await v1.json()
        async with session.get("/wiki/api/v2/pages/1") as v2:
            v2_body = await v2.json()
    assert v1.status == 404 and v1_body["statusCode"] == 404 and v1_body["reason"] == "Not Found"
    assert v2.status == 404 and v2_body["errors"][0]["code"] == "NOT_FOUND"


async def test_epic_links_open_the_pages(sandbox: Sandbox, jira_http: aiohttp.ClientSession) -> None:
    async with jira_http.get("/rest/api/2/issue/DEMO-1") as response:
        fields = (await response.json())["fields"]
    prd_url, rfc_url = fields[sandbox.custom_fields["prd"]], fields[sandbox.custom_fields["rfc"]]
    assert re.fullmatch(rf"{sandbox.confluence_url}/spaces/AUG/pages/98305/[^/]+", prd_url)
    assert re.fullmatch(rf"{sandbox.confluence_url}/spaces/AUG/pages/98306/[^/]+", rfc_url)
    async with aiohttp.ClientSession() as browser:
        async with browser.get(prd_url) as page:
            html = await page.text()
        async with browser.get(f"{sandbox.confluence_url}/pages/viewpage.action?pageId=98306") as old_style:
            assert old_style.status == 200
    assert page.status == 200 and page.content_type == "text/html"
    assert "<h1>PRD: Self-serve data export</h1>" in html


# --- page writes: bring your own PRD --------------------------------------------------

_PRD = (
    "<h2>Story Ticket List</h2><table><tbody><tr><th>Title</th></tr>"
    "<tr><td>Export &amp; import</td></tr></tbody></table>"
)


def _status_and_message(error: HTTPError) -> tuple[int, str]:
    assert error.response is not None
    return error.response.status_code, error.response.json()["message"]


async def test_v1_create_and_update_a_page(confluence: Confluence, sandbox: Sandbox) -> None:
    created = await asyncio.to_thread(confluence.create_page, "AUG", "PRD: Bulk import", _PRD)
    page_id = created["id"]
    assert created["version"]["number"] == 1
    assert created["version"]["by"]["accountId"] == sandbox.bot.account_id

    updated = await asyncio.to_thread(confluence.update_page, page_id, "PRD: Bulk import", _PRD + "<p>v2</p>")
    assert updated["version"]["number"] == 2
    read = await asyncio.to_thread(confluence.get_page_by_id, page_id, expand="body.storage,version")
    assert read["body"]["storage"]["value"] == _PRD + "<p>v2</p>"
    assert read["version"]["number"] == 2

    async with aiohttp.ClientSession() as browser:
        async with browser.get(f"{sandbox.confluence_url}/spaces/AUG/pages/{page_id}") as response:
            assert response.status == 200 and "Export &amp; import" in await response.text()


async def test_v1_update_with_a_stale_version_is_a_conflict(confluence: Confluence) -> None:
    stale = {"id": "98305", "type": "page", "title": "PRD: Self-serve data export", "version": {"number": 4}}
    with pytest.raises(HTTPError) as raised:
        await asyncio.to_thread(confluence.put, "rest/api/content/98305", data=stale)
    assert _status_and_message(raised.value) == (409, "Version must be incremented on update. Current version is: 4")
    page = await asyncio.to_thread(confluence.get_page_by_id, "98305", expand="version")
    assert page["version"]["number"] == 4


async def test_v1_a_second_page_with_the_same_title_is_refused(confluence: Confluence) -> None:
    with pytest.raises(HTTPError) as raised:
        await asyncio.to_thread(confluence.create_page, "AUG", "PRD: Self-serve data export", _PRD)
    status, message = _status_and_message(raised.value)
    assert status == 400 and "already exists" in message


async def test_v2_create_and_update_a_page(confluence_v2: ConfluenceV2, confluence: Confluence) -> None:
    created = await asyncio.to_thread(confluence_v2.create_page, "65538", "RFC: Bulk import", _PRD)
    page_id = created["id"]
    assert created["version"]["number"] == 1 and created["body"]["storage"]["value"] == _PRD

    updated = await asyncio.to_thread(confluence_v2.update_page, page_id, body="<p>rewritten</p>")
    assert updated["version"]["number"] == 2 and updated["title"] == "RFC: Bulk import"
    # The v1 API sees the same page.
    read = await asyncio.to_thread(confluence.get_page_by_id, page_id, expand="body.storage")
    assert read["body"]["storage"]["value"] == "<p>rewritten</p>"

    with pytest.raises(HTTPError) as raised:
        await asyncio.to_thread(confluence_v2.update_page, page_id, body="<p>late</p>", version=1)
    assert raised.value.response is not None and raised.value.response.status_code == 409
