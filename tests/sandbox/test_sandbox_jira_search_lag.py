"""The fault ``search_lag_ms``: JQL search sees issues as they were, GET sees them as they are."""

from __future__ import annotations

from typing import Any

import aiohttp

from sandbox import Sandbox

NEW_TASK = {
    "fields": {
        "project": {"key": "DEMO"},
        "issuetype": {"name": "Task"},
        "summary": "Lagging task",
        "labels": ["lag-probe"],
    }
}


async def _send(session: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with session.request(method, path, json=body) as response:
        return response.status, await response.json(content_type=None)


async def _found(session: aiohttp.ClientSession, jql: str) -> dict[str, dict[str, Any]]:
    status, body = await _send(
        session, "POST", "/rest/api/2/search/jql", {"jql": jql, "fields": ["description", "updated"]}
    )
    assert status == 200, body
    return {issue["key"]: issue["fields"] for issue in body["issues"]}


async def _count(session: aiohttp.ClientSession, jql: str) -> int:
    status, body = await _send(session, "POST", "/rest/api/2/search/approximate-count", {"jql": jql})
    assert status == 200, body
    return int(body["count"])


async def _move_clock(session: aiohttp.ClientSession, seconds: float) -> None:
    status, body = await _send(session, "PUT", "/_sandbox/clock", {"offset_seconds": seconds})
    assert status == 200, body


async def _write(session: aiohttp.ClientSession) -> tuple[str, str]:
    """A new task and a new description on DEMO-8; the new key and DEMO-8's old `updated`."""
    status, before = await _send(session, "GET", "/rest/api/2/issue/DEMO-8?fields=updated")
    assert status == 200, before
    status, created = await _send(session, "POST", "/rest/api/2/issue", NEW_TASK)
    assert status == 201, created
    status, body = await _send(session, "PUT", "/rest/api/2/issue/DEMO-8", {"fields": {"description": "zebra text"}})
    assert status == 204, body
    return created["key"], before["fields"]["updated"]


async def test_with_the_lag_on_search_sees_the_issues_as_they_were_until_the_lag_passes(
    sandbox: Sandbox, jira_http: aiohttp.ClientSession
) -> None:
    sandbox.set_faults(search_lag_ms=60_000)
    key, old_updated = await _write(jira_http)

    assert await _found(jira_http, "labels = lag-probe") == {}
    assert await _count(jira_http, "labels = lag-probe") == 0
    assert await _found(jira_http, 'text ~ "zebra"') == {}
    [demo8] = (await _found(jira_http, "key = DEMO-8")).values()
    assert demo8["updated"] == old_updated and "zebra" not in (demo8["description"] or "")
    # Reading the issue itself is current, as in Jira.
    status, held = await _send(jira_http, "GET", "/rest/api/2/issue/DEMO-8?fields=description,updated")
    assert status == 200 and held["fields"]["description"] == "zebra text"
    status, created = await _send(jira_http, "GET", f"/rest/api/2/issue/{key}")
    assert status == 200, created

    await _move_clock(jira_http, 61)
    assert list(await _found(jira_http, "labels = lag-probe")) == [key]
    assert await _count(jira_http, "labels = lag-probe") == 1
    found = await _found(jira_http, 'text ~ "zebra"')
    assert list(found) == ["DEMO-8"] and found["DEMO-8"]["updated"] == held["fields"]["updated"]


async def test_without_the_lag_search_sees_writes_at_once(sandbox: Sandbox, jira_http: aiohttp.ClientSession) -> None:
    key, _ = await _write(jira_http)
    assert list(await _found(jira_http, "labels = lag-probe")) == [key]
    assert list(await _found(jira_http, 'text ~ "zebra"')) == ["DEMO-8"]


async def test_turning_the_lag_off_shows_the_site_as_it_is(sandbox: Sandbox, jira_http: aiohttp.ClientSession) -> None:
    status, body = await _send(jira_http, "PUT", "/_sandbox/faults", {"search_lag_ms": 60_000})
    assert status == 200, body
    key, _ = await _write(jira_http)
    assert await _found(jira_http, "labels = lag-probe") == {}
    status, body = await _send(jira_http, "PUT", "/_sandbox/faults", {"search_lag_ms": 0})
    assert status == 200, body
    assert list(await _found(jira_http, "labels = lag-probe")) == [key]


async def test_a_negative_lag_is_refused(jira_http: aiohttp.ClientSession) -> None:
    status, body = await _send(jira_http, "PUT", "/_sandbox/faults", {"search_lag_ms": -1})
    assert status == 400, body
    status, settings = await _send(jira_http, "GET", "/_sandbox/faults")
    assert settings["search_lag_ms"] == 0
