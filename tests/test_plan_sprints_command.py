"""`/augment plan-sprints` on the demo epic, end to end through the sandbox's webhooks: the
preview comment with its table, the chart attached to the epic (a PNG) and shown in the comment,
a second delivery of the reply attaching and posting nothing more, `/augment apply` creating
the sprints and moving the issues; and the refusal on a ticket that is not an epic."""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp

from bot.jetstream import layout
from bot.services import SERVICES
from tests.fixtures.service import SandboxedService, finished, wait_for_job

EPIC = "DEMO-11"
TASKS = {f"DEMO-{n}" for n in range(12, 24)}
APPLY = re.compile(r"/augment apply ([0-9a-f-]{36})")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def attachments(sandboxed: SandboxedService, key: str) -> list[dict[str, Any]]:
    issue = await sandboxed.jira("GET", f"/rest/api/2/issue/{key}?fields=attachment")
    return list(issue["fields"]["attachment"] or [])


async def content(sandboxed: SandboxedService, url: str) -> bytes:
    person = sandboxed.sandbox.admin
    headers = {"Authorization": aiohttp.encode_basic_auth(person.email, person.api_token)}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        assert response.status == 200, await response.text()
        return await response.read()


async def sprint_of_tasks(sandboxed: SandboxedService) -> dict[str, str | None]:
    found = await sandboxed.jira("GET", f"/rest/api/2/search/jql?jql=parent={EPIC}&fields=customfield_10020")
    sprints = {issue["key"]: issue["fields"]["customfield_10020"] for issue in found["issues"]}
    return {key: (value[-1]["name"] if value else None) for key, value in sprints.items()}


async def test_plan_sprints_previews_a_table_with_the_chart_attached_once_and_apply_moves_the_issues(
    sandboxed: SandboxedService,
) -> None:
    await sandboxed.subscribe()
    await sandboxed.comment(EPIC, "/augment plan-sprints capacity 8")
    found = await sandboxed.wait_for_comment(EPIC, "Preview: sprint plan for DEMO-11", timeout=60)
    preview = next(body for body in found if "Preview: sprint plan" in body)
    job_id = APPLY.search(preview).group(1)  # type: ignore[union-attr]
    assert any("Planning the tasks of DEMO-11 into the sprints of board 1" in body for body in found)
    assert "||Sprint||Tasks||Days||Capacity||Utilisation||" in preview
    rows = re.findall(r"^\|([^|]+)\|([^|]+)\|([\d.]+)\|([\d.]+)\|([\d.]+)%\|$", preview, re.MULTILINE)
    planned = {key.strip() for _, keys, *_ in rows for key in keys.split(",")}
    assert planned == TASKS and all(float(capacity) == 8 for *_, capacity, _ in rows)
    filename = f"timeline-{job_id[:8]}.png"
    assert f"!{filename}|thumbnail!" in preview
    [attached] = [a for a in await attachments(sandboxed, EPIC) if a["filename"] == filename]
    picture = await content(sandboxed, attached["content"])
    assert picture.startswith(PNG_MAGIC) and len(picture) == attached["size"] and attached["mimeType"] == "image/png"
    assert set((await sprint_of_tasks(sandboxed)).values()) == {None}  # a preview writes nothing

    # The reply delivered again (a redelivery after a crash): no second attachment, no second comment.
    js = sandboxed.client.app[SERVICES].runtime.js
    await js.publish(
        layout.JOB_FINISHED_SUBJECT,
        json.dumps({"job_id": job_id}).encode(),
        headers={layout.MESSAGE_ID_HEADER: f"{job_id}-again"},
        stream=layout.EVENTS_STREAM,
    )
    await sandboxed.events_handled()
    assert [a["filename"] for a in await attachments(sandboxed, EPIC)].count(filename) == 1
    assert sum("Preview: sprint plan" in body for body in await sandboxed.comments(EPIC)) == 1

    await sandboxed.comment(EPIC, f"/augment apply {job_id}")
    await sandboxed.wait_for_comment(EPIC, f"Wrote the plan of job {job_id}", timeout=60)
    job = await wait_for_job(sandboxed.client, job_id, finished)
    by_name = {line["task_key"]: line["sprint_name"] for line in job["result"]["assignments"]}
    assert await sprint_of_tasks(sandboxed) == by_name
    board = await sandboxed.jira("GET", "/rest/agile/1.0/board/1/sprint")
    names = [sprint["name"] for sprint in board["values"]]
    assert all(names.count(sprint["name"]) == 1 for sprint in job["result"]["sprints_created"])
    assert {sprint["name"] for sprint in job["result"]["sprints_created"]} <= set(names)


async def test_plan_sprints_refuses_a_ticket_that_is_not_an_epic_and_bad_options(
    sandboxed: SandboxedService,
) -> None:
    await sandboxed.subscribe()
    await sandboxed.comment("DEMO-12", "/augment plan-sprints")
    found = await sandboxed.wait_for_comment("DEMO-12", "is a Task, not an Epic")
    assert not any("Preview: sprint plan" in body for body in found)
    await sandboxed.comment(EPIC, "/augment plan-sprints board")
    await sandboxed.wait_for_comment(EPIC, "options come in pairs")
    await sandboxed.comment(EPIC, "/augment plan-sprints capacity lots")
    await sandboxed.wait_for_comment(EPIC, "capacity takes a number, not lots")
    assert await attachments(sandboxed, EPIC) == []
