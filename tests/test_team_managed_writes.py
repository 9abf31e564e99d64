"""Writes to a team-managed project go to its own fields: update-ticket and create-ticket
put test cases and mandays in TEAM's fields (found on its edit and create screens), a DEMO
ticket keeps the site's, and a field the project lacks is a 422 before anything is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.fixtures.service import SandboxedService, start_sandboxed

SITE_TEST_CASES = "customfield_10052"
SITE_MANDAYS = "customfield_10053"
TEAM_TEST_CASES = "customfield_10101"
TEAM_MANDAYS = "customfield_10102"
ALL = f"{SITE_TEST_CASES},{SITE_MANDAYS},{TEAM_TEST_CASES},{TEAM_MANDAYS}"


async def fields(sandboxed: SandboxedService, key: str) -> dict[str, Any]:
    found = (await sandboxed.jira("GET", f"/rest/api/2/issue/{key}?fields={ALL}"))["fields"]
    return {field_id: found.get(field_id) for field_id in ALL.split(",")}


async def post(sandboxed: SandboxedService, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    response = await sandboxed.client.post(path, json=body)
    return response.status, await response.json()


def writes(requests: dict[str, Any]) -> int:
    return sum(count for route, count in requests["by_route"].items() if route.split(" ")[0] in ("PUT", "POST"))


async def test_update_ticket_writes_the_team_projects_own_fields(sandboxed: SandboxedService) -> None:
    await sandboxed.jira("PUT", "/rest/api/2/issue/TEAM-2", json={"fields": {TEAM_MANDAYS: 1}})
    request = {"ticket_key": "TEAM-2", "test_cases": "# Given an export, its exporter is logged", "mandays": 2.5}
    status, preview = await post(sandboxed, "/jira/update-ticket", request)
    assert status == 200, preview
    assert preview["preview"]["current_mandays"] == 1  # read from TEAM's own field
    assert preview["preview"]["current_test_cases"] is None
    status, body = await post(sandboxed, "/jira/update-ticket", request | {"update_jira": True})
    assert status == 200, body
    assert body["updated_in_jira"] is True and body["updates_applied"] == {"test_cases": True, "mandays": True}
    assert await fields(sandboxed, "TEAM-2") == {
        SITE_TEST_CASES: None,
        SITE_MANDAYS: None,
        TEAM_TEST_CASES: "# Given an export, its exporter is logged",
        TEAM_MANDAYS: 2.5,
    }


async def test_update_story_ticket_writes_the_team_projects_test_cases(sandboxed: SandboxedService) -> None:
    request = {"story_key": "TEAM-2", "test_cases": "# Given a log, it is kept", "update_jira": True}
    status, body = await post(sandboxed, "/jira/update-story-ticket", request)
    assert status == 200, body
    assert body["updates_applied"] == {"test_cases": True}
    assert (await fields(sandboxed, "TEAM-2"))[TEAM_TEST_CASES] == "# Given a log, it is kept"


async def test_create_ticket_under_a_team_epic_fills_the_projects_own_fields(sandboxed: SandboxedService) -> None:
    request = {
        "parent_key": "TEAM-1",
        "story_key": "TEAM-2",
        "summary": "Write the audit record",
        "description": "Store who exported what.",
        "test_cases": "# Given an export, a record",
        "mandays": 3,
        "create_ticket": True,
    }
    status, body = await post(sandboxed, "/jira/create-ticket", request)
    assert status == 200, body
    key = body["ticket_key"]
    assert key.startswith("TEAM-") and body["created_in_jira"] is True
    assert await fields(sandboxed, key) == {
        SITE_TEST_CASES: None,
        SITE_MANDAYS: None,
        TEAM_TEST_CASES: "# Given an export, a record",
        TEAM_MANDAYS: 3,
    }


async def test_a_demo_ticket_still_uses_the_site_fields(sandboxed: SandboxedService) -> None:
    request = {"ticket_key": "DEMO-5", "test_cases": "# Given a viewer, no export", "mandays": 4, "update_jira": True}
    status, body = await post(sandboxed, "/jira/update-ticket", request)
    assert status == 200, body
    assert await fields(sandboxed, "DEMO-5") == {
        SITE_TEST_CASES: "# Given a viewer, no export",
        SITE_MANDAYS: 4,
        TEAM_TEST_CASES: None,
        TEAM_MANDAYS: None,
    }


async def test_a_field_the_team_project_lacks_is_422_before_any_write(
    aiohttp_client: Callable[..., Any], nats_url: str
) -> None:
    # Mandays configured as "Effort": no field of TEAM's screens has that name.
    sandboxed = await start_sandboxed(
        aiohttp_client, nats_url, jira={"max_retries": 6, "fields": {"mandays": "Effort"}}
    )
    update = {"ticket_key": "TEAM-2", "summary": "Record exporters", "mandays": 2, "update_jira": True}
    status, body = await post(sandboxed, "/jira/update-ticket", update)
    assert status == 422, body
    assert body["detail"] == (
        "mandays: the team-managed project TEAM has no field named 'Effort' (jira.fields.mandays) "
        "on the edit screen of TEAM-2"
    )
    create = {
        "parent_key": "TEAM-1",
        "story_key": "TEAM-2",
        "summary": "Write the audit record",
        "description": "Store who exported what.",
        "mandays": 1,
        "create_ticket": True,
    }
    status, body = await post(sandboxed, "/jira/create-ticket", create)
    assert status == 422, body
    assert body["detail"].startswith("mandays: the team-managed project TEAM has no field named 'Effort'")
    assert body["detail"].endswith("on its Task create screen")
    assert writes(await sandboxed.jira_requests()) == 0
    assert (await sandboxed.jira("GET", "/rest/api/2/issue/TEAM-2?fields=summary"))["fields"]["summary"] == (
        "Record who exported what"
    )
