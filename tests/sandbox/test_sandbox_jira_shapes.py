"""Every sandbox answer has the shape Atlassian's OpenAPI documents promise."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from sandbox import Sandbox
from tests.fixtures.sandbox import OpenApiShapes

READS = [
    "/rest/api/{v}/serverInfo",
    "/rest/api/{v}/myself",
    "/rest/api/{v}/field",
    "/rest/api/{v}/project",
    "/rest/api/{v}/project/search",
    "/rest/api/{v}/project/DEMO",
    "/rest/api/{v}/project/DEMO/statuses",
    "/rest/api/{v}/issuetype",
    "/rest/api/{v}/status",
    "/rest/api/{v}/priority",
    "/rest/api/{v}/user?accountId=712020:3f0e6a9c-5a1b-4c7d-9e2f-000000000002",
    "/rest/api/{v}/user/search?query=sam",
    "/rest/api/{v}/issue/createmeta?projectKeys=DEMO&expand=projects.issuetypes.fields",
    "/rest/api/{v}/issue/createmeta/DEMO/issuetypes",
    "/rest/api/{v}/issue/createmeta/DEMO/issuetypes/10001",
    "/rest/api/{v}/issue/DEMO-1",
    "/rest/api/{v}/issue/DEMO-8?expand=names,schema,changelog",
    "/rest/api/{v}/issue/DEMO-10?expand=changelog",
    "/rest/api/{v}/issue/DEMO-3/editmeta",
    "/rest/api/{v}/issue/DEMO-3/transitions",
    "/rest/api/{v}/issue/DEMO-8/comment",
    "/rest/api/{v}/issue/DEMO-8/comment/10000",
    "/rest/api/{v}/issueLinkType",
    "/rest/api/{v}/issueLinkType/10004",
    "/rest/api/{v}/issueLink/10000",
    "/rest/api/{v}/search/jql?jql=project%3DDEMO",
    "/rest/api/{v}/search/jql?jql=project%3DDEMO&fields=*all&expand=names&maxResults=3",
    "/rest/api/{v}/search/jql?jql=project%3DDEMO&fields=-comment",
]
AGILE_READS = [
    "/rest/agile/1.0/board",
    "/rest/agile/1.0/board/1",
    "/rest/agile/1.0/board/1/sprint",
    "/rest/agile/1.0/board/1/sprint?state=future&maxResults=1",
    "/rest/agile/1.0/board/1/issue",
    "/rest/agile/1.0/board/1/backlog",
    "/rest/agile/1.0/sprint/1",
    "/rest/agile/1.0/sprint/2/issue",
]


async def _call(session: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with session.request(method, path, json=body) as response:
        text = await response.text()
        return response.status, (await response.json(content_type=None)) if text else None


@pytest.mark.parametrize("version", ["2", "3"])
async def test_platform_reads_match_the_spec(
    jira_http: aiohttp.ClientSession, openapi: OpenApiShapes, version: str
) -> None:
    for template in READS:
        path = template.format(v=version)
        status, body = await _call(jira_http, "GET", path)
        assert status == 200, (path, body)
        openapi.check("GET", path.split("?")[0], status, body)


async def test_agile_reads_match_the_spec(jira_http: aiohttp.ClientSession, openapi: OpenApiShapes) -> None:
    for path in AGILE_READS:
        status, body = await _call(jira_http, "GET", path)
        assert status == 200, (path, body)
        openapi.check("GET", path.split("?")[0], status, body)


@pytest.mark.parametrize("version", ["2", "3"])
async def test_platform_writes_match_the_spec(
    jira_http: aiohttp.ClientSession, openapi: OpenApiShapes, version: str
) -> None:
    rich = (
        "Plain words."
        if version == "2"
        else {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Plain words."}]}],
        }
    )
    writes = [
        (
            "POST",
            f"/rest/api/{version}/issue",
            {
                "fields": {
                    "project": {"key": "DEMO"},
                    "issuetype": {"name": "Story"},
                    "summary": "Shape check",
                    "description": rich,
                    "parent": {"key": "DEMO-1"},
                }
            },
            201,
        ),
        ("POST", f"/rest/api/{version}/issue/DEMO-4/comment", {"body": rich}, 201),
        ("PUT", f"/rest/api/{version}/issue/DEMO-8/comment/10000", {"body": rich}, 403),  # Alex wrote it
        ("POST", f"/rest/api/{version}/search/jql", {"jql": "project = DEMO", "fields": ["summary"]}, 200),
        ("POST", f"/rest/api/{version}/search/approximate-count", {"jql": "project = DEMO"}, 200),
        ("POST", f"/rest/api/{version}/issue", {"fields": {"project": {"key": "NOPE"}}}, 400),
        ("GET", f"/rest/api/{version}/issue/NOPE-1", None, 404),
        ("GET", f"/rest/api/{version}/search/jql?jql=project%20%3D", None, 400),
    ]
    for method, path, body, expected in writes:
        status, answer = await _call(jira_http, method, path, body)
        assert status == expected, (method, path, answer)
        openapi.check(method, path.split("?")[0], status, answer)


async def test_agile_writes_match_the_spec(jira_http: aiohttp.ClientSession, openapi: OpenApiShapes) -> None:
    status, created = await _call(jira_http, "POST", "/rest/agile/1.0/sprint", {"name": "S", "originBoardId": 1})
    assert status == 201
    openapi.check("POST", "/rest/agile/1.0/sprint", status, created)
    path = f"/rest/agile/1.0/sprint/{created['id']}"
    for method, body in (("POST", {"goal": "Go"}), ("PUT", {"name": "S2", "goal": "Full"})):
        status, answer = await _call(jira_http, method, path, body)
        assert status == 200, answer
        openapi.check(method, path, status, answer)


async def test_v2_bodies_are_wiki_strings_and_v3_bodies_are_adf(jira_http: aiohttp.ClientSession) -> None:
    _, v2 = await _call(jira_http, "GET", "/rest/api/2/issue/DEMO-10?fields=description,comment")
    _, v3 = await _call(jira_http, "GET", "/rest/api/3/issue/DEMO-10?fields=description,comment")

    assert v2["fields"]["description"] == "Names like *Zoë* come out as {{Zo?}} in the CSV."
    paragraph = v3["fields"]["description"]["content"][0]
    assert paragraph["type"] == "paragraph"
    assert {"type": "text", "text": "Zoë", "marks": [{"type": "strong"}]} in paragraph["content"]
    assert {"type": "text", "text": "Zo?", "marks": [{"type": "code"}]} in paragraph["content"]
    assert v2["fields"]["comment"]["comments"][0]["body"] == "Reproduced with the Latin-1 writer."
    assert v3["fields"]["comment"]["comments"][0]["body"]["type"] == "doc"


async def test_v3_writes_need_adf_and_are_stored_as_wiki(jira_http: aiohttp.ClientSession) -> None:
    adf = {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "heading", "attrs": {"level": 3}, "content": [{"type": "text", "text": "Scope"}]},
            {
                "type": "bulletList",
                "content": [
                    {
                        "type": "listItem",
                        "content": [
                            {
                                "type": "paragraph",
                                "content": [{"type": "text", "text": "CSV", "marks": [{"type": "strong"}]}],
                            }
                        ],
                    }
                ],
            },
        ],
    }
    status, refused = await _call(
        jira_http, "PUT", "/rest/api/3/issue/DEMO-6", {"fields": {"description": "just a string"}}
    )
    assert status == 400
    assert refused["errors"]["description"].startswith("Operation value must be an Atlassian Document")

    status, _ = await _call(jira_http, "PUT", "/rest/api/3/issue/DEMO-6", {"fields": {"description": adf}})
    assert status == 204
    _, v2 = await _call(jira_http, "GET", "/rest/api/2/issue/DEMO-6?fields=description")
    assert v2["fields"]["description"] == "h3. Scope\n\n* *CSV*"


async def test_self_links_are_absolute_and_lead_back(jira_http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    _, issue = await _call(jira_http, "GET", "/rest/api/2/issue/DEMO-3")
    assert issue["self"] == f"{sandbox.jira_url}/rest/api/2/issue/10002"
    status, again = await _call(jira_http, "GET", issue["self"].removeprefix(sandbox.jira_url))
    assert status == 200 and again["key"] == "DEMO-3"
    sprint_self = issue["fields"]["customfield_10020"][0]
    status, sprint = await _call(jira_http, "GET", f"/rest/agile/1.0/sprint/{sprint_self['id']}")
    assert status == 200
    status, _ = await _call(jira_http, "GET", sprint["self"].removeprefix(sandbox.jira_url))
    assert status == 200


async def test_dates_use_jira_formats(jira_http: aiohttp.ClientSession) -> None:
    _, issue = await _call(jira_http, "GET", "/rest/api/2/issue/DEMO-2")
    _, sprint = await _call(jira_http, "GET", "/rest/agile/1.0/sprint/1")
    assert issue["fields"]["created"].endswith("+0000") and len(issue["fields"]["created"]) == 28
    assert sprint["startDate"].endswith("+00:00") and len(sprint["startDate"]) == 29
    assert sprint["completeDate"] and sprint["state"] == "closed"


async def test_unknown_rest_paths_answer_like_jersey(jira_http: aiohttp.ClientSession) -> None:
    status, body = await _call(jira_http, "GET", "/rest/api/2/nothing-here")
    assert status == 404
    assert body["message"].startswith("null for uri:")
