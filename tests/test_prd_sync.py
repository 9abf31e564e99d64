"""`POST /plan/stories/sync-from-prd` end to end against the sandbox: the demo epic DEMO-1's PRD
has a story table of five stories in an expand macro in a page layout; one of them ("Export
account data as CSV") is the demo story DEMO-2 already."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.fixtures.service import SandboxedService, finished, start_sandboxed, wait_for_job

ROUTE = "/plan/stories/sync-from-prd"
CREATE_ROUTE = "POST /rest/api/{version}/issue"
NEW_TITLES = [
    "Choose the data sets to export",
    "Cancel a running export",
    "Download an export archive",
    "Show export progress",
]
APPLY = re.compile(r"^/augment apply (\S+)$", re.MULTILINE)


async def post(sandboxed: SandboxedService, body: dict[str, Any]) -> tuple[int, Any]:
    response = await sandboxed.client.post(ROUTE, json=body)
    return response.status, await response.json()


async def epic_stories(sandboxed: SandboxedService) -> dict[str, dict[str, Any]]:
    """The stories under DEMO-1 by summary, with their descriptions and labels."""
    found = await sandboxed.jira(
        "GET",
        "/rest/api/2/search/jql",
        params={"jql": "parent = DEMO-1 AND issuetype = Story", "fields": "summary,description,labels,parent"},
    )
    return {issue["fields"]["summary"]: issue for issue in found["issues"]}


async def creates(sandboxed: SandboxedService) -> int:
    return (await sandboxed.jira_requests())["by_route"].get(CREATE_ROUTE, 0)


def actions(body: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(story["title"], story["action"], story["ticket_key"]) for story in body["story_details"]]


async def test_preview_lists_the_stories_with_their_actions_and_creates_nothing(sandboxed: SandboxedService) -> None:
    status, body = await post(sandboxed, {"epic_key": "DEMO-1"})
    assert status == 200, body
    assert (body["epic_key"], body["operation_mode"], body["success"]) == ("DEMO-1", "preview", True)
    assert body["created_tickets"] == {"stories": [], "tasks": []}
    assert body["task_details"] == [] and body["execution_time_seconds"] >= 0
    assert actions(body) == [("Export account data as CSV", "skip", "DEMO-2")] + [
        (title, "create", None) for title in NEW_TITLES
    ]
    first = body["story_details"][0]
    assert first["acceptance_criteria"][:1] == [
        "Given I am a workspace owner when I request a CSV export then I receive a ZIP with one CSV file per data set.",
    ]
    assert "/wiki/spaces/AUG/pages/98305/" in body["prd_url"]  # the epic's PRD field
    assert await creates(sandboxed) == 0


async def test_a_sync_creates_the_new_stories_under_the_epic_once(sandboxed: SandboxedService) -> None:
    before = await epic_stories(sandboxed)
    status, body = await post(sandboxed, {"epic_key": "DEMO-1", "dry_run": False})
    assert status == 200, body
    assert (body["operation_mode"], body["success"]) == ("apply", True)
    created = body["created_tickets"]["stories"]
    assert len(created) == 4 and len(set(created)) == 4
    after = await epic_stories(sandboxed)
    assert set(after) - set(before) == set(NEW_TITLES)
    download = after["Download an export archive"]["fields"]
    assert download["description"] == (
        "Download an export archive\n\n"
        "h2. Acceptance Criteria\n\n"
        "* The archive downloads over HTTPS\n* The link works for 7 days\n* A second download counts in the history"
    )
    assert any(label.startswith("augment-") for label in download["labels"])
    assert (
        after["Export account data as CSV"]["fields"]["description"]
        == (before["Export account data as CSV"]["fields"]["description"])
    )

    # The same request again: every story exists now, nothing is created.
    status, again = await post(sandboxed, {"epic_key": "DEMO-1", "dry_run": False})
    assert status == 200, again
    assert again["created_tickets"]["stories"] == []
    assert {action for _, action, _ in actions(again)} == {"skip"}
    assert {key for _, _, key in actions(again)} == {"DEMO-2", *created}
    assert await creates(sandboxed) == 4

    # A job that wrote is not a preview: it cannot be applied again.
    written = (await sandboxed.jobs())[-1]  # newest first: the sync that created the stories
    response = await sandboxed.client.post(f"/jobs/{written['job_id']}/apply", json={})
    assert response.status == 409
    assert "dry_run was false" in (await response.json())["detail"]


async def test_update_rewrites_an_existing_storys_description(sandboxed: SandboxedService) -> None:
    status, body = await post(sandboxed, {"epic_key": "DEMO-1", "existing_ticket_action": "update", "dry_run": False})
    assert status == 200, body
    assert actions(body)[0] == ("Export account data as CSV", "update", "DEMO-2")
    description = await sandboxed.description("DEMO-2")
    assert description is not None
    assert description.startswith("As a workspace owner I want to download my account data as CSV files")
    assert "h2. Acceptance Criteria\n\n* Given I am a workspace owner when I request a CSV export" in description

    # Once written, a second update finds the same text and leaves it.
    status, again = await post(sandboxed, {"epic_key": "DEMO-1", "existing_ticket_action": "update"})
    assert status == 200, again
    assert actions(again)[0] == ("Export account data as CSV", "unchanged", "DEMO-2")


async def test_error_fails_naming_the_existing_story_before_anything_is_written(sandboxed: SandboxedService) -> None:
    status, body = await post(sandboxed, {"epic_key": "DEMO-1", "existing_ticket_action": "error", "dry_run": False})
    assert status == 422, body
    assert 'DEMO-2 "Export account data as CSV"' in body["detail"]
    assert "nothing was written" in body["detail"]
    assert await creates(sandboxed) == 0


async def test_a_page_without_a_story_table_and_a_request_naming_neither(sandboxed: SandboxedService) -> None:
    page = await sandboxed.jira(
        "POST",
        "/wiki/rest/api/content",
        json={
            "type": "page",
            "title": "PRD: no table",
            "space": {"key": "AUG"},
            "body": {"storage": {"value": "<h2>Overview</h2><p>Stories to come.</p>", "representation": "storage"}},
        },
    )
    url = f"{sandboxed.sandbox.jira_url}/wiki/spaces/AUG/pages/{page['id']}/PRD"
    status, body = await post(sandboxed, {"prd_url": url})
    assert status == 422, body
    assert body["detail"].startswith('No story table found: no heading named "Story Ticket List"')
    assert '"Overview"' in body["detail"]

    status, body = await post(sandboxed, {"prd_url": "https://elsewhere.example.com/wiki/spaces/X/pages/1/PRD"})
    assert status == 422, body
    assert body["detail"][0]["loc"] == ["body", "prd_url"]
    assert "it is on another site" in body["detail"][0]["msg"]
    status, body = await post(sandboxed, {"dry_run": True})
    assert status == 422, body
    assert "epic_key or prd_url is required" in str(body["detail"])
    status, body = await post(sandboxed, {"prd_url": url, "dry_run": False})
    assert status == 422, body
    assert "project_key is required" in str(body["detail"])


async def test_async_mode_answers_at_once_and_the_job_holds_the_result(sandboxed: SandboxedService) -> None:
    status, body = await post(sandboxed, {"epic_key": "DEMO-1", "async_mode": True})
    assert status == 202, body
    assert body["status"] == "started"
    assert body["message"] == "PRD story sync for epic DEMO-1 queued"
    job = await wait_for_job(sandboxed.client, body["job_id"], finished)
    assert job["status"] == "completed", job
    assert job["job_type"] == "prd_story_sync" and job["ticket_keys"] == ["DEMO-1"]
    assert len(job["result"]["story_details"]) == 5


async def test_a_preview_applied_later_creates_the_stories_once(sandboxed: SandboxedService) -> None:
    status, preview = await post(sandboxed, {"epic_key": "DEMO-1"})
    assert status == 200, preview
    [job] = await sandboxed.jobs()
    response = await sandboxed.client.post(f"/jobs/{job['job_id']}/apply", json={})
    assert response.status == 200, await response.text()
    assert (await response.json())["outcome"] == "applied"
    again = await sandboxed.client.post(f"/jobs/{job['job_id']}/apply", json={})
    assert again.status == 409
    assert set(NEW_TITLES) <= set(await epic_stories(sandboxed))
    assert await creates(sandboxed) == 4


async def test_creates_whose_answers_are_lost_are_found_by_their_marker_not_made_twice(
    aiohttp_client: Callable[..., Any], nats_url: str
) -> None:
    # Jira makes each story but answers 502/504: the applier finds it by its marker (and, the
    # sandbox's search being current, need not wait long for the search to settle).
    sandboxed = await start_sandboxed(aiohttp_client, nats_url, jira={"max_retries": 6, "search_settle_seconds": 0.2})
    await sandboxed.jira("PUT", "/_sandbox/faults", json={"server_error_after_write_rate": 1})
    status, body = await post(sandboxed, {"epic_key": "DEMO-1", "dry_run": False, "async_mode": True})
    assert status == 202, body
    job = await wait_for_job(sandboxed.client, body["job_id"], finished, timeout=90)
    await sandboxed.jira("PUT", "/_sandbox/faults", json={"server_error_after_write_rate": 0})
    assert job["status"] == "completed", job
    assert len(job["result"]["created_tickets"]["stories"]) == 4
    stories = await epic_stories(sandboxed)
    assert sorted(title for title in stories if title in NEW_TITLES) == sorted(NEW_TITLES)
    assert len(stories) == len(set(stories))


async def test_the_sync_prd_comment_command_previews_a_table_with_the_apply_line(
    sandboxed: SandboxedService,
) -> None:
    await sandboxed.subscribe()
    await sandboxed.comment("DEMO-1", "/augment sync-prd")
    found = await sandboxed.wait_for_comment("DEMO-1", "Preview: stories from the PRD of DEMO-1")
    preview = next(body for body in found if "Preview: stories" in body)
    assert "||Story||Action||Existing story||" in preview
    assert "|Export account data as CSV|skip|DEMO-2|" in preview
    assert "|Cancel a running export|create| |" in preview
    job_id = APPLY.search(preview).group(1)  # type: ignore[union-attr]
    assert any("Reading the PRD of DEMO-1" in body and job_id in body for body in found)
    assert await creates(sandboxed) == 0
