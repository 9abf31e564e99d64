"""`POST /jira/update-ticket` and `POST /jira/update-story-ticket` end to end, and the sandbox's links."""

from __future__ import annotations

from typing import Any

import aiohttp

from sandbox import Sandbox
from tests.fixtures.sandbox import WebhookReceiver
from tests.fixtures.service import SandboxedService, finished, wait_for_job

TEST_CASES = "customfield_10052"
MANDAYS = "customfield_10053"
BLOCKS_DEMO_4 = {"link_type": "Blocks", "target_key": "DEMO-4", "direction": "outward"}


def writes(requests: dict[str, Any]) -> int:
    return sum(
        count
        for route, count in requests["by_route"].items()
        if route.split(" ")[0] in ("PUT", "POST") and ("/issue/" in route or "issueLink" in route)
    )


async def fields(sandboxed: SandboxedService, key: str, names: str) -> dict[str, Any]:
    return (await sandboxed.jira("GET", f"/rest/api/2/issue/{key}?fields={names}"))["fields"]


async def post(sandboxed: SandboxedService, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    response = await sandboxed.client.post(path, json=body)
    return response.status, await response.json()


async def test_preview_shows_current_and_new_values_and_writes_nothing(sandboxed: SandboxedService) -> None:
    before = await fields(sandboxed, "DEMO-3", f"summary,{MANDAYS}")
    status, body = await post(
        sandboxed,
        "/jira/update-ticket",
        {"ticket_key": "DEMO-3", "summary": "Export to CSV, faster", "mandays": 3.5, "links": [BLOCKS_DEMO_4]},
    )
    assert status == 200, body
    assert body["success"] is True and body["updated_in_jira"] is False
    assert body["updates_applied"] == {"summary": True, "mandays": True}
    assert body["links_created"] == []
    assert body["preview"] == {
        "ticket_key": "DEMO-3",
        "current_summary": before["summary"],
        "new_summary": "Export to CSV, faster",
        "current_mandays": before[MANDAYS],
        "new_mandays": 3.5,
        "links": [{"link_type": "Blocks", "target_key": "DEMO-4", "direction": "outward", "exists": False}],
    }
    assert body["message"] == "Preview: Ticket DEMO-3 would be updated. Set update_jira=true to commit."
    assert await fields(sandboxed, "DEMO-3", f"summary,{MANDAYS}") == before
    assert writes(await sandboxed.jira_requests()) == 0


async def test_update_writes_fields_and_links_and_records_each_operation(sandboxed: SandboxedService) -> None:
    request = {
        "ticket_key": "DEMO-4",
        "summary": "Schedule exports",
        "description": "h2. Purpose\nExports on a schedule.",
        "test_cases": "# Given a schedule, an export runs",
        "mandays": 2,
        "links": [
            {"link_type": "Blocks", "target_key": "DEMO-2"},
            {"link_type": "relates", "target_key": "DEMO-7", "direction": "inward"},
        ],
        "update_jira": True,
    }
    status, body = await post(sandboxed, "/jira/update-ticket", request)
    assert status == 200, body
    assert body["updated_in_jira"] is True and body["success"] is True
    assert body["updates_applied"] == {"summary": True, "description": True, "test_cases": True, "mandays": True}
    assert body["links_created"] == [
        {"link_type": "Blocks", "source_key": "DEMO-4", "target_key": "DEMO-2", "status": "created"},
        {"link_type": "Relates", "source_key": "DEMO-7", "target_key": "DEMO-4", "status": "created"},
    ]
    assert body["message"] == "Successfully updated DEMO-4"

    held = await fields(sandboxed, "DEMO-4", f"summary,description,{TEST_CASES},{MANDAYS},issuelinks")
    assert held["summary"] == "Schedule exports"
    assert held["description"] == "h2. Purpose\nExports on a schedule."
    assert held[TEST_CASES] == "# Given a schedule, an export runs" and held[MANDAYS] == 2
    links = {
        (link["type"]["name"], link.get("outwardIssue", {}).get("key"), link.get("inwardIssue", {}).get("key"))
        for link in held["issuelinks"]
    }
    assert links == {("Blocks", "DEMO-2", None), ("Relates", None, "DEMO-7")}

    [job] = await sandboxed.jobs()
    record = await (await sandboxed.client.get(f"/jobs/{job['job_id']}")).json()
    assert record["job_type"] == "update_ticket"
    assert [op["kind"] for op in record["plan"]] == ["update_fields", "link_issues", "link_issues"]
    assert [entry["outcome"]["status"] for entry in record["applied"]] == ["applied"] * 3


async def test_the_same_update_again_changes_nothing_and_makes_no_second_link(sandboxed: SandboxedService) -> None:
    request = {"ticket_key": "DEMO-7", "mandays": 1.5, "links": [BLOCKS_DEMO_4], "update_jira": True}
    assert (await post(sandboxed, "/jira/update-ticket", request))[0] == 200
    status, body = await post(sandboxed, "/jira/update-ticket", request)
    assert status == 200, body
    assert body["updated_in_jira"] is True and body["updates_applied"] == {"mandays": True}
    assert body["links_created"] == [
        {"link_type": "Blocks", "source_key": "DEMO-7", "target_key": "DEMO-4", "status": "already_exists"}
    ]
    assert body["preview"]["links"][0]["exists"] is True
    assert len((await fields(sandboxed, "DEMO-7", "issuelinks"))["issuelinks"]) == 1
    latest = (await sandboxed.jobs())[0]
    record = await (await sandboxed.client.get(f"/jobs/{latest['job_id']}")).json()
    assert [entry["outcome"]["status"] for entry in record["applied"]] == ["already_applied"] * 2


async def test_update_story_ticket_refuses_another_issue_type(sandboxed: SandboxedService) -> None:
    status, body = await post(sandboxed, "/jira/update-story-ticket", {"story_key": "DEMO-8", "summary": "x"})
    assert status == 422, body
    assert body["detail"].startswith("story_key DEMO-8 is a Task, not a Story")
    assert writes(await sandboxed.jira_requests()) == 0


async def test_update_story_ticket_moves_the_story_to_another_epic(sandboxed: SandboxedService) -> None:
    epic = await sandboxed.jira(
        "POST",
        "/rest/api/2/issue",
        json={"fields": {"project": {"key": "DEMO"}, "issuetype": {"name": "Epic"}, "summary": "Imports"}},
    )
    request = {"story_key": "DEMO-7", "parent_key": epic["key"], "summary": "Import from JSON"}
    status, preview = await post(sandboxed, "/jira/update-story-ticket", request)
    assert status == 200, preview
    assert preview["preview"]["story_key"] == "DEMO-7"
    assert preview["preview"]["current_parent_key"] == "DEMO-1"
    assert preview["preview"]["new_parent_key"] == epic["key"]
    assert preview["message"] == "Preview: Story ticket DEMO-7 would be updated. Set update_jira=true to commit."

    status, body = await post(sandboxed, "/jira/update-story-ticket", request | {"update_jira": True})
    assert status == 200, body
    assert body["updates_applied"] == {"summary": True, "parent_key": True}
    held = await fields(sandboxed, "DEMO-7", "parent,summary")
    assert held["parent"]["key"] == epic["key"] and held["summary"] == "Import from JSON"

    status, body = await post(sandboxed, "/jira/update-story-ticket", {"story_key": "DEMO-7", "parent_key": "DEMO-2"})
    assert status == 422 and body["detail"] == "parent_key DEMO-2 is a Story, not an Epic"


async def test_unknown_link_type_and_ticket(sandboxed: SandboxedService) -> None:
    link = {"link_type": "Causes", "target_key": "DEMO-4"}
    status, body = await post(sandboxed, "/jira/update-ticket", {"ticket_key": "DEMO-3", "links": [link]})
    assert status == 422 and body["detail"].startswith("links[0].link_type 'Causes' is not a link type of this Jira")
    status, body = await post(sandboxed, "/jira/update-ticket", {"ticket_key": "DEMO-999", "summary": "x"})
    assert status == 404 and body["detail"] == "Ticket DEMO-999 not found in Jira"


async def test_a_held_ticket_is_409_and_async_mode_answers_202(sandboxed: SandboxedService) -> None:
    ping = {"ticket_key": "DEMO-2", "steps": 100, "step_seconds": 0.2, "async_mode": True}
    held_by = (await post(sandboxed, "/diagnostics/ping", ping))[1]["job_id"]
    response = await sandboxed.client.post("/jira/update-ticket", json={"ticket_key": "DEMO-2", "summary": "x"})
    assert response.status == 409
    assert response.headers["X-Active-Job-Id"] == held_by
    assert (await sandboxed.client.delete(f"/jobs/{held_by}")).status == 200
    await wait_for_job(sandboxed.client, held_by, finished)

    request = {"ticket_key": "DEMO-2", "summary": "Export, scheduled", "update_jira": True, "async_mode": True}
    status, accepted = await post(sandboxed, "/jira/update-ticket", request)
    assert status == 202, accepted
    assert accepted["update_jira"] is True and accepted["status_url"] == f"/jobs/{accepted['job_id']}"
    job = await wait_for_job(sandboxed.client, accepted["job_id"], finished)
    assert job["status"] == "completed" and job["result"]["updated_in_jira"] is True
    assert (await fields(sandboxed, "DEMO-2", "summary"))["summary"] == "Export, scheduled"


async def test_sandbox_refuses_a_duplicate_link_and_fires_issue_updated(
    sandbox: Sandbox, jira_http: aiohttp.ClientSession, webhook_receiver: WebhookReceiver
) -> None:
    admin = {"Authorization": aiohttp.encode_basic_auth(sandbox.admin.email, sandbox.admin.api_token)}
    hook = {"name": "augment", "url": webhook_receiver.url, "events": ["jira:issue_updated", "issuelink_created"]}
    async with jira_http.post("/rest/webhooks/1.0/webhook", json=hook, headers=admin) as response:
        assert response.status == 201
    link = {"type": {"name": "Blocks"}, "inwardIssue": {"key": "DEMO-2"}, "outwardIssue": {"key": "DEMO-3"}}
    for _ in range(2):
        async with jira_http.post("/rest/api/2/issueLink", json=link) as response:
            assert response.status == 201  # Jira answers a duplicate as created
    async with jira_http.get("/rest/api/2/issue/DEMO-2?fields=issuelinks") as response:
        assert len((await response.json())["fields"]["issuelinks"]) == 1
    assert await sandbox.wait_for_webhooks(10)
    assert len(webhook_receiver.events("issuelink_created")) == 1
    updated = webhook_receiver.events("jira:issue_updated")
    assert [(event["issue"]["key"], event["changelog"]["items"][0]["field"]) for event in updated] == [
        ("DEMO-2", "Link"),
        ("DEMO-3", "Link"),
    ]


async def test_a_preview_is_written_later_by_apply(sandboxed: SandboxedService) -> None:
    request = {"story_key": "DEMO-6", "summary": "Notify when ready", "links": [BLOCKS_DEMO_4]}
    assert (await post(sandboxed, "/jira/update-story-ticket", request))[0] == 200
    [preview] = await sandboxed.jobs()
    status, applied = await post(sandboxed, f"/jobs/{preview['job_id']}/apply", {})
    assert status == 200, applied
    assert applied["outcome"] == "applied" and applied["ticket_key"] == "DEMO-6"
    held = await fields(sandboxed, "DEMO-6", "summary,issuelinks")
    assert held["summary"] == "Notify when ready"
    assert ("Blocks", "DEMO-4") in {
        (link["type"]["name"], link.get("outwardIssue", {}).get("key")) for link in held["issuelinks"]
    }
