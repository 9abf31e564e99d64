"""Trigger rules end to end, driven by the sandbox Jira's own webhooks."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any

from bot.services import SERVICES
from tests.fixtures.clock import ManualClock
from tests.fixtures.service import SandboxedService, finished, start_sandboxed, wait_for_job

NEW_STORIES = {
    "name": "describe-new-stories",
    "on": "issue_created",
    "issue_types": ["Story"],
    "description_empty": True,
    "action": {"job_type": "single", "update_jira": False, "reply": "comment"},
}
ON_LABEL = {
    "name": "describe-on-label",
    "on": "label_added",
    "label": "augment-describe",
    "action": {"job_type": "single", "update_jira": True, "reply": "comment"},
}
ANY_UPDATE = {
    "name": "any-update",
    "on": "issue_updated",
    "projects": ["DEMO"],
    "action": {"job_type": "single", "update_jira": False, "reply": "none"},
}


async def create_issue(service: SandboxedService, summary: str, **fields: Any) -> str:
    body = {"fields": {"project": {"key": "DEMO"}, "issuetype": {"name": "Story"}, "summary": summary, **fields}}
    return (await service.jira("POST", "/rest/api/2/issue", json=body))["key"]


async def settle(service: SandboxedService) -> list[dict[str, Any]]:
    """Every job, once the sandbox has delivered its webhooks and every job has ended."""
    for _ in range(3):  # a job's own writes cause new webhooks
        await service.events_handled()
        for job in await service.jobs():
            await wait_for_job(service.client, job["job_id"], finished, timeout=60)
    return await service.jobs()


async def test_a_new_story_without_description_gets_a_preview_comment(aiohttp_client, nats_url: str) -> None:
    service = await start_sandboxed(aiohttp_client, nats_url, triggers={"rules": [NEW_STORIES]})
    await service.subscribe()
    empty = await create_issue(service, "Export audit logs")
    described = await create_issue(service, "Import contacts", description="Already described.")
    task = await create_issue(service, "Rotate keys", issuetype={"name": "Task"})

    found = await service.wait_for_comment(empty, f"Preview: a description for {empty}")
    preview = next(body for body in found if "Preview" in body)
    assert "/augment apply " in preview and "Nothing was written" in preview
    jobs = await settle(service)
    assert [job["ticket_keys"] for job in jobs] == [[empty]]
    assert await service.description(empty) is None
    assert await service.comments(described) == [] and await service.comments(task) == []


async def test_adding_the_label_writes_the_description(aiohttp_client, nats_url: str) -> None:
    service = await start_sandboxed(aiohttp_client, nats_url, triggers={"rules": [ON_LABEL]})
    await service.subscribe()
    await service.jira("PUT", "/rest/api/2/issue/DEMO-4", json={"update": {"labels": [{"add": "augment-describe"}]}})

    await service.wait_for_comment("DEMO-4", "Wrote the description of DEMO-4")
    assert (await service.description("DEMO-4")).startswith("h2. ")
    await service.jira("PUT", "/rest/api/2/issue/DEMO-4", json={"update": {"labels": [{"add": "unrelated"}]}})
    jobs = await settle(service)
    assert len(jobs) == 1  # only when augment-describe is added now, not whenever the ticket has it


async def test_changes_made_by_the_bots_account_start_nothing(aiohttp_client, nats_url: str) -> None:
    service = await start_sandboxed(aiohttp_client, nats_url, triggers={"rules": [ANY_UPDATE]})
    await service.subscribe()
    bot = service.sandbox.bot.email
    await service.jira("PUT", "/rest/api/2/issue/DEMO-6", as_email=bot, json={"fields": {"summary": "By the bot"}})
    await service.jira("POST", "/rest/api/2/issue/DEMO-6/comment", as_email=bot, json={"body": "/augment describe"})
    assert await settle(service) == []

    await service.jira("PUT", "/rest/api/2/issue/DEMO-6", as_email="sam@example.com", json={"fields": {"summary": "X"}})
    assert [job["ticket_keys"] for job in await settle(service)] == [["DEMO-6"]]


async def test_a_rule_fires_at_most_the_configured_times_per_ticket_per_hour(aiohttp_client, nats_url: str) -> None:
    clock = ManualClock()
    quiet = {**ON_LABEL, "action": {"job_type": "single", "update_jira": False, "reply": "none"}}
    triggers = {"rules": [quiet], "max_runs_per_ticket_per_hour": 2}
    service = await start_sandboxed(aiohttp_client, nats_url, clock=clock, triggers=triggers)
    await service.subscribe()

    async def relabel() -> None:
        for change in ("remove", "add"):
            update = {"update": {"labels": [{change: "augment-describe"}]}}
            await service.jira("PUT", "/rest/api/2/issue/DEMO-5", json=update)
        await settle(service)

    for _ in range(3):
        await relabel()
    assert len(await service.jobs()) == 2
    clock.advance(timedelta(minutes=61))
    await relabel()
    assert len(await service.jobs()) == 3


async def test_one_delivery_five_times_two_at_once_makes_one_job(aiohttp_client, nats_url: str) -> None:
    every_new_issue = {"name": "every-new-issue", "on": "issue_created", "action": {"job_type": "single"}}
    service = await start_sandboxed(aiohttp_client, nats_url, triggers={"rules": [every_new_issue]})
    secret = service.client.app[SERVICES].runtime.settings.webhooks.secret.get_secret_value()
    issue = await service.jira("GET", "/rest/api/2/issue/DEMO-3")
    body = json.dumps(
        {
            "webhookEvent": "jira:issue_created",
            "timestamp": int(time.time() * 1000),
            "user": {"accountId": "alex"},
            "issue": issue,
        }
    ).encode()
    headers = {
        "X-Atlassian-Webhook-Identifier": "f00d-1",
        "X-Hub-Signature": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        "Content-Type": "application/json",
    }

    async def deliver() -> int:
        return (await service.client.post("/webhooks/jira", data=body, headers=headers)).status

    statuses = [*await asyncio.gather(deliver(), deliver()), *[await deliver() for _ in range(3)]]
    assert sorted(statuses) == [200, 200, 200, 200, 202]
    await service.wait_for_comment("DEMO-3", "Preview: a description for DEMO-3")
    jobs = await settle(service)
    assert [job["ticket_keys"] for job in jobs] == [["DEMO-3"]]


async def test_an_event_sent_by_five_webhooks_fires_its_rule_once(aiohttp_client, nats_url: str) -> None:
    """Five matching webhooks send one label change five times, under five identifiers: one
    job, and one run counted against the hourly limit, so the next change still fires."""
    quiet = {**ON_LABEL, "action": {"job_type": "single", "update_jira": False, "reply": "none"}}
    triggers = {"rules": [quiet], "max_runs_per_ticket_per_hour": 2}
    service = await start_sandboxed(aiohttp_client, nats_url, webhooks={"secret": "five-hooks"}, triggers=triggers)
    await service.subscribe()
    [augment] = await service.jira("GET", "/rest/webhooks/1.0/webhook")
    for n in range(4):
        copy = {"name": f"Augment copy {n}", "url": augment["url"], "events": augment["events"], "secret": "five-hooks"}
        await service.jira("POST", "/rest/webhooks/1.0/webhook", json=copy)

    await service.jira("PUT", "/rest/api/2/issue/DEMO-5", json={"update": {"labels": [{"add": "augment-describe"}]}})
    assert len(await settle(service)) == 1
    for change in ("remove", "add"):
        await service.jira(
            "PUT", "/rest/api/2/issue/DEMO-5", json={"update": {"labels": [{change: "augment-describe"}]}}
        )
    assert len(await settle(service)) == 2
