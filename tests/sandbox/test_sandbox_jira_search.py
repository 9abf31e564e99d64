"""JQL search over HTTP: results, paging tokens, Jira's errors, the removed endpoint."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

REMOVED = "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."


async def _get(session: aiohttp.ClientSession, path: str, **params: Any) -> tuple[int, Any]:
    async with session.get(path, params=params) as response:
        return response.status, await response.json(content_type=None)


async def _keys(session: aiohttp.ClientSession, jql: str) -> list[str]:
    status, body = await _get(session, "/rest/api/2/search/jql", jql=jql, fields="key", maxResults="100")
    assert status == 200, body
    return [issue["key"] for issue in body["issues"]]


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        (
            "parent = DEMO-1 AND issuetype = Story ORDER BY key",
            ["DEMO-2", "DEMO-3", "DEMO-4", "DEMO-5", "DEMO-6", "DEMO-7"],
        ),
        ("sprint in openSprints() ORDER BY key", ["DEMO-3", "DEMO-4", "DEMO-8"]),
        ('labels = "needs-refinement"', ["DEMO-7"]),
        ('"PRD Link" is not EMPTY', ["DEMO-1"]),
        ("status = Done", ["DEMO-2"]),
        ('project = DEMO AND text ~ "bucket"', ["DEMO-8"]),
        ("issuetype in (Task, Bug) AND key <= DEMO-10 ORDER BY key DESC", ["DEMO-10", "DEMO-9", "DEMO-8"]),
    ],
)
async def test_queries_select_and_order(jira_http: aiohttp.ClientSession, jql: str, expected: list[str]) -> None:
    assert await _keys(jira_http, jql) == expected


RANKED = ["DEMO-12", "DEMO-16", "DEMO-13", "DEMO-19", "DEMO-14", "DEMO-17", "DEMO-20", "DEMO-15", "DEMO-18"]


async def test_order_by_rank_is_board_order_with_unranked_issues_last(jira_http: aiohttp.ClientSession) -> None:
    tail = ["DEMO-21", "DEMO-22", "DEMO-23"]
    assert await _keys(jira_http, "parent = DEMO-11 ORDER BY Rank ASC") == [*RANKED, *tail]
    assert await _keys(jira_http, "parent = DEMO-11 ORDER BY rank DESC") == [*reversed(tail), *reversed(RANKED)]
    # The epic itself has no rank: after its ranked tasks.
    assert (await _keys(jira_http, "key in (DEMO-11, DEMO-23, DEMO-12) ORDER BY Rank")) == [
        "DEMO-12",
        "DEMO-23",
        "DEMO-11",
    ]
    status, body = await _get(jira_http, "/rest/api/2/search/jql", jql='rank = "0|i00004:"')
    assert status == 400 and "not supported by the 'rank' field" in body["errorMessages"][0]


async def test_current_user_is_the_caller(jira_http: aiohttp.ClientSession) -> None:
    assert await _keys(jira_http, "reporter = currentUser()") == []
    status, _ = await _get(jira_http, "/rest/api/2/search/jql", jql="assignee = currentUser()")
    assert status == 200


async def test_default_fields_are_ids_only_and_there_is_no_total(jira_http: aiohttp.ClientSession) -> None:
    status, body = await _get(jira_http, "/rest/api/3/search/jql", jql="project = DEMO", maxResults="2")
    assert status == 200
    assert body["issues"] == [{"id": "10000"}, {"id": "10001"}]
    assert "total" not in body and "startAt" not in body
    assert body["isLast"] is False and body["nextPageToken"]


async def test_next_page_token_walks_to_the_last_page(jira_http: aiohttp.ClientSession) -> None:
    seen: list[str] = []
    token: str | None = None
    for _ in range(10):
        params = {"jql": "project = DEMO ORDER BY key", "maxResults": "3", "fields": "summary"}
        if token:
            params["nextPageToken"] = token
        status, body = await _get(jira_http, "/rest/api/2/search/jql", **params)
        assert status == 200
        seen += [issue["key"] for issue in body["issues"]]
        token = body.get("nextPageToken")
        if body["isLast"]:
            break
    assert token is None
    assert seen == [f"DEMO-{n}" for n in range(1, 24)]


async def test_malformed_queries_get_jira_errors(jira_http: aiohttp.ClientSession) -> None:
    status, body = await _get(jira_http, "/rest/api/2/search/jql", jql="project = ")
    assert status == 400
    assert body["errors"] == {} and body["errorMessages"][0].startswith("Error in the JQL Query")

    status, body = await _get(jira_http, "/rest/api/2/search/jql", jql="project = NOPE")
    assert status == 400
    assert body["errorMessages"] == ["The value 'NOPE' does not exist for the field 'project'."]

    status, body = await _get(jira_http, "/rest/api/2/search/jql", jql="ORDER BY created")
    assert status == 400
    assert "Unbounded JQL queries are not allowed" in body["errorMessages"][0]


async def test_tokens_belong_to_their_query(jira_http: aiohttp.ClientSession) -> None:
    _, first = await _get(jira_http, "/rest/api/2/search/jql", jql="project = DEMO", maxResults="2")
    status, body = await _get(
        jira_http, "/rest/api/2/search/jql", jql="status = Done", nextPageToken=first["nextPageToken"]
    )
    assert status == 400 and body["errorMessages"]
    status, _ = await _get(jira_http, "/rest/api/2/search/jql", jql="project = DEMO", nextPageToken="garbage")
    assert status == 400


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("version", ["2", "3"])
async def test_old_search_is_gone(jira_http: aiohttp.ClientSession, method: str, version: str) -> None:
    async with jira_http.request(
        method,
        f"/rest/api/{version}/search",
        params={"jql": "project = DEMO"},
        json={"jql": "project = DEMO"} if method == "POST" else None,
    ) as response:
        body = await response.json()
    assert response.status == 410
    assert body["errorMessages"][0].startswith(REMOVED)


async def test_post_search_takes_a_body(jira_http: aiohttp.ClientSession) -> None:
    async with jira_http.post(
        "/rest/api/3/search/jql",
        json={
            "jql": "issuetype = Epic",
            "fields": ["summary", "customfield_10050"],
            "maxResults": 5,
            "expand": None,
            "reconcileIssues": [],
        },
    ) as response:
        body = await response.json()
    assert response.status == 200
    assert body["issues"][0]["fields"]["summary"] == "Self-serve data export"
    assert body["issues"][0]["fields"]["customfield_10050"].endswith(
        "/wiki/spaces/AUG/pages/98305/PRD%3A+Self-serve+data+export"
    )
