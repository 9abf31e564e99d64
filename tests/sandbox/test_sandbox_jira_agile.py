"""Jira's sprint rules: states only move forward, starting needs dates, closed is final,
moving issues is limited to 50 and to open sprints."""

from __future__ import annotations

from typing import Any

import aiohttp

START, END = "2030-03-02T09:00:00.000+00:00", "2030-03-16T09:00:00.000+00:00"


async def _call(session: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with session.request(method, f"/rest/agile/1.0{path}", json=body) as response:
        text = await response.text()
        return response.status, (await response.json(content_type=None)) if text else None


async def _new_sprint(session: aiohttp.ClientSession, **fields: Any) -> dict[str, Any]:
    status, sprint = await _call(session, "POST", "/sprint", {"name": "Planned", "originBoardId": 1, **fields})
    assert status == 201, sprint
    return sprint


async def test_created_sprints_are_future(jira_http: aiohttp.ClientSession) -> None:
    sprint = await _new_sprint(jira_http, goal="Ship")
    assert sprint["state"] == "future" and sprint["originBoardId"] == 1 and sprint["goal"] == "Ship"
    status, body = await _call(jira_http, "POST", "/sprint", {"originBoardId": 1})
    assert status == 400 and "name" in body["errors"]
    status, _ = await _call(jira_http, "POST", "/sprint", {"name": "x", "originBoardId": 99})
    assert status == 404


async def test_starting_needs_dates_and_a_free_board(jira_http: aiohttp.ClientSession) -> None:
    sprint = await _new_sprint(jira_http)
    path = f"/sprint/{sprint['id']}"

    status, body = await _call(jira_http, "POST", path, {"state": "active"})
    assert status == 400 and "start date" in body["errorMessages"][0]

    status, body = await _call(jira_http, "POST", path, {"state": "active", "startDate": START, "endDate": END})
    assert status == 400 and "another sprint is already active" in body["errorMessages"][0]

    status, closed = await _call(jira_http, "POST", "/sprint/2", {"state": "closed"})
    assert status == 200 and closed["state"] == "closed" and closed["completeDate"]
    status, started = await _call(jira_http, "POST", path, {"state": "active", "startDate": START, "endDate": END})
    assert status == 200 and started["state"] == "active" and started["startDate"] == START


async def test_closed_sprints_cannot_change_and_states_never_go_back(jira_http: aiohttp.ClientSession) -> None:
    status, body = await _call(jira_http, "POST", "/sprint/1", {"name": "Renamed"})
    assert status == 400 and "closed" in body["errorMessages"][0]
    status, body = await _call(jira_http, "POST", "/sprint/2", {"state": "future"})
    assert status == 400
    status, body = await _call(jira_http, "POST", "/sprint/3", {"state": "closed"})
    assert status == 400


async def test_put_is_a_full_update_and_post_a_partial_one(jira_http: aiohttp.ClientSession) -> None:
    sprint = await _new_sprint(jira_http, goal="Keep me", startDate=START, endDate=END)
    path = f"/sprint/{sprint['id']}"

    status, partial = await _call(jira_http, "POST", path, {"name": "Renamed"})
    assert status == 200 and partial["goal"] == "Keep me" and partial["startDate"] == START

    status, full = await _call(jira_http, "PUT", path, {"name": "Full"})
    assert status == 200 and full["goal"] == "" and "startDate" not in full

    status, body = await _call(jira_http, "PUT", path, {"goal": "no name"})
    assert status == 400 and "name" in body["errors"]


async def test_end_must_follow_start(jira_http: aiohttp.ClientSession) -> None:
    status, body = await _call(
        jira_http, "POST", "/sprint", {"name": "x", "originBoardId": 1, "startDate": END, "endDate": START}
    )
    assert status == 400 and "endDate" in body["errors"]


async def test_moving_issues_is_limited(jira_http: aiohttp.ClientSession) -> None:
    status, body = await _call(jira_http, "POST", "/sprint/3/issue", {"issues": [f"DEMO-{n}" for n in range(51)]})
    assert status == 400 and "50" in body["errorMessages"][0]

    status, body = await _call(jira_http, "POST", "/sprint/1/issue", {"issues": ["DEMO-5"]})
    assert status == 400

    status, body = await _call(jira_http, "POST", "/sprint/3/issue", {"issues": ["DEMO-404"]})
    assert status == 400

    status, _ = await _call(jira_http, "POST", "/sprint/3/issue", {"issues": ["DEMO-5", "DEMO-3"]})
    assert status == 204
    status, page = await _call(jira_http, "GET", "/sprint/3/issue?maxResults=1")
    assert status == 200 and page["total"] == 2 and len(page["issues"]) == 1
    _, active = await _call(jira_http, "GET", "/sprint/2/issue")
    assert "DEMO-3" not in [issue["key"] for issue in active["issues"]]


async def test_sprint_field_on_issues_keeps_closed_sprints(jira_http: aiohttp.ClientSession) -> None:
    async with jira_http.put("/rest/api/2/issue/DEMO-2", json={"fields": {"customfield_10020": 3}}) as response:
        assert response.status == 204
    async with jira_http.get("/rest/api/2/issue/DEMO-2?fields=customfield_10020") as response:
        sprints = (await response.json())["fields"]["customfield_10020"]
    assert [(s["id"], s["state"]) for s in sprints] == [(1, "closed"), (3, "future")]
    async with jira_http.put("/rest/api/2/issue/DEMO-2", json={"fields": {"customfield_10020": 1}}) as response:
        assert response.status == 400


async def test_board_sprints_page_and_filter(jira_http: aiohttp.ClientSession) -> None:
    status, page = await _call(jira_http, "GET", "/board/1/sprint?maxResults=2")
    assert status == 200 and [s["id"] for s in page["values"]] == [1, 2] and page["isLast"] is False
    status, page = await _call(jira_http, "GET", "/board/1/sprint?startAt=2&maxResults=2")
    assert [s["id"] for s in page["values"]] == [3, 4] and page["isLast"] is True
    status, _ = await _call(jira_http, "GET", "/board/1/sprint?state=open")
    assert status == 400
