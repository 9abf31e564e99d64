"""`/augment` comment commands end to end: the sandbox Jira's own webhooks, the service, the bot's comments."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from bot.jira.comments import SIGNED
from tests.fixtures.clock import ManualClock
from tests.fixtures.service import SandboxedService, eventually, finished, start_sandboxed, wait_for_job

SECRET = "comment-webhook-secret"

APPLY = re.compile(r"^/augment apply (\S+)$", re.MULTILINE)


def issue_writes(requests: dict) -> int:
    return sum(
        count for route, count in requests["by_route"].items() if route.startswith("PUT ") and "/issue/" in route
    )


async def test_describe_then_apply_writes_the_description_exactly_once(aiohttp_client, nats_url: str) -> None:
    service = await start_sandboxed(aiohttp_client, nats_url)
    await service.subscribe()
    before = await service.description("DEMO-3")
    writes_before = issue_writes(await service.jira_requests())

    await service.comment("DEMO-3", "Could the bot help?\n/augment describe")
    found = await service.wait_for_comment("DEMO-3", "Preview: a description for DEMO-3")
    acknowledgement = next(body for body in found if "Writing a description for DEMO-3" in body)
    preview = next(body for body in found if "Preview" in body)
    job_id = APPLY.search(preview).group(1)
    assert job_id in acknowledgement
    assert "The plan:\n# set description of DEMO-3" in preview
    assert await service.description("DEMO-3") == before  # a preview writes nothing

    await service.comment("DEMO-3", f"/augment apply {job_id}")
    await service.wait_for_comment("DEMO-3", f"Wrote the plan of job {job_id} to DEMO-3")
    job = await (await service.client.get(f"/jobs/{job_id}")).json()
    assert await service.description("DEMO-3") == job["result"]["description_wiki"]
    assert job["approved_by"] == service.sandbox.admin.account_id  # who commented the apply

    await service.comment("DEMO-3", f"/augment apply {job_id}")
    await service.wait_for_comment("DEMO-3", "is already applied")
    assert issue_writes(await service.jira_requests()) - writes_before == 1
    # The bot's own comments and its write started nothing: describe + apply are the only jobs.
    assert sorted(job["job_type"] for job in await service.jobs()) == ["apply", "single"]


async def test_unknown_commands_get_help_and_strangers_a_refusal(aiohttp_client, nats_url: str) -> None:
    service = await start_sandboxed(aiohttp_client, nats_url)
    admin = service.sandbox.admin.account_id
    await service.client.close()
    service = await start_sandboxed(aiohttp_client, nats_url, commands={"users": [admin], "projects": ["DEMO"]})
    await service.subscribe()

    await service.comment("DEMO-4", "/augment frobnicate")
    found = await service.wait_for_comment("DEMO-4", "Augment commands")
    assert any("Unknown command {{/augment frobnicate}}" in body for body in found)
    assert any("/augment describe [provider] [model]" in body for body in found)

    await service.comment("DEMO-4", "/augment describe", as_email="sam@example.com")
    await service.wait_for_comment("DEMO-4", "are not enabled for you in DEMO")
    assert await service.jobs() == []


async def test_status_and_cancel_answer_about_the_running_job(aiohttp_client, nats_url: str) -> None:
    service = await start_sandboxed(aiohttp_client, nats_url)
    await service.subscribe()
    await service.llm_faults(latency_ms=3000)
    await service.comment("DEMO-5", "/augment describe")
    found = await service.wait_for_comment("DEMO-5", "Writing a description for DEMO-5")
    job_id = re.search(r"job \{\{([0-9a-f-]{36})\}\}", found[-1]).group(1)

    await service.comment("DEMO-5", "/augment status")
    found = await service.wait_for_comment("DEMO-5", f"Job {{{{{job_id}}}}} (single) is")
    await service.comment("DEMO-5", "/augment cancel")
    await service.wait_for_comment("DEMO-5", f"Cancelled job {{{{{job_id}}}}}.")
    await service.wait_for_comment("DEMO-5", f"Job {{{{{job_id}}}}} was cancelled.")
    job = await (await service.client.get(f"/jobs/{job_id}")).json()
    assert job["status"] == "cancelled"
    await service.comment("DEMO-5", "/augment status")
    await service.wait_for_comment("DEMO-5", "No Augment job is working on DEMO-5 right now.")


async def test_describe_with_a_provider_then_apply_the_latest_preview(aiohttp_client, nats_url: str) -> None:
    service = await start_sandboxed(aiohttp_client, nats_url)
    await service.subscribe()
    await service.comment("DEMO-6", "/augment describe nope")
    found = await service.wait_for_comment("DEMO-6", "Cannot run {{/augment describe nope}}")
    assert any("Unknown LLM provider 'nope'; use one of: openai, claude" in body for body in found), found

    await service.comment("DEMO-6", "/augment describe claude")
    found = await service.wait_for_comment("DEMO-6", "Preview: a description for DEMO-6")
    assert any("with claude (claude-sonnet-5)" in body for body in found)
    job_id = APPLY.search(next(body for body in found if "Preview" in body)).group(1)
    await service.comment("DEMO-6", "/augment apply")
    await service.wait_for_comment("DEMO-6", f"Wrote the plan of job {job_id} to DEMO-6")
    job = await (await service.client.get(f"/jobs/{job_id}")).json()
    assert job["result"]["llm_provider"] == "claude"
    assert await service.description("DEMO-6") == job["result"]["description_wiki"]


async def test_commands_still_run_after_augment_and_its_sandbox_restart(aiohttp_client, nats_url: str) -> None:
    """Webhook identifiers never repeat, so a restarted sandbox's deliveries are not taken
    for ones Augment saw (and remembers for a day) before the restart."""
    job_ids = []
    for _ in range(2):
        service = await start_sandboxed(aiohttp_client, nats_url)
        await service.subscribe()
        await service.comment("DEMO-7", "/augment describe")
        found = await service.wait_for_comment("DEMO-7", "Preview: a description for DEMO-7")
        job_ids.append(APPLY.search(next(body for body in found if "Preview" in body)).group(1))
        await service.client.close()
    assert job_ids[0] != job_ids[1]


async def test_apply_and_cancel_of_jobs_that_do_not_exist_are_answered(aiohttp_client, nats_url: str) -> None:
    service = await start_sandboxed(aiohttp_client, nats_url)
    await service.subscribe()
    await service.comment("DEMO-2", "/augment apply 00000000-0000-0000-0000-000000000000")
    await service.wait_for_comment(
        "DEMO-2", "There is no preview job {{00000000-0000-0000-0000-000000000000}} for DEMO-2."
    )
    await service.comment("DEMO-2", "/augment cancel not-a-job")
    await service.wait_for_comment("DEMO-2", "Cannot run {{/augment cancel not-a-job}}: not-a-job is not a job id")
    await service.comment("DEMO-2", "/augment apply")
    await service.wait_for_comment("DEMO-2", "There is no preview on DEMO-2 to apply.")
    assert await service.jobs() == []


async def register_copies(service: SandboxedService, copies: int) -> None:
    """`copies` more webhooks to the service, as when an admin registers it twice: Jira then
    sends every event once per webhook, each under its own identifier."""
    hooks = await service.jira("GET", "/rest/webhooks/1.0/webhook")
    [augment] = hooks
    for n in range(copies):
        copy = {"name": f"Augment copy {n}", "url": augment["url"], "events": augment["events"], "secret": SECRET}
        await service.jira("POST", "/rest/webhooks/1.0/webhook", json=copy)


def signed_by_bot(bodies: list[str], marker: str) -> list[str]:
    return [body for body in bodies if f"{SIGNED}{marker}" in body]


async def test_a_comment_delivered_by_five_webhooks_runs_its_commands_once(aiohttp_client, nats_url: str) -> None:
    service = await start_sandboxed(aiohttp_client, nats_url, webhooks={"secret": SECRET})
    await service.subscribe()
    await register_copies(service, 4)

    await service.comment("DEMO-3", "/augment describe")
    await service.wait_for_comment("DEMO-3", "Preview: a description for DEMO-3")
    await service.comment("DEMO-3", "/augment help")
    await service.wait_for_comment("DEMO-3", "Augment commands")
    for job in await service.jobs():
        await wait_for_job(service.client, job["job_id"], finished)
    await service.events_handled()

    assert len(await service.jira("GET", "/rest/webhooks/1.0/webhook")) == 5  # every comment came 5 times
    bodies = await service.comments("DEMO-3")
    assert len(signed_by_bot(bodies, "ack ")) == 2  # the describe's acknowledgement and the help
    assert len(signed_by_bot(bodies, "reply ")) == 1
    assert len([body for body in bodies if "Augment commands" in body]) == 1
    assert [job["job_type"] for job in await service.jobs()] == ["single"]
    assert (await service.llm_stats())["openai"]["requests"] == 1


async def test_a_comment_storm_runs_a_few_commands_and_asks_once_to_slow_down(aiohttp_client, nats_url: str) -> None:
    service = await start_sandboxed(aiohttp_client, nats_url, commands={"users": ["*"], "projects": ["*"]})
    await service.subscribe()
    await asyncio.gather(*(service.comment("DEMO-4", "/augment describe") for _ in range(50)))
    await service.events_handled(timeout=60)
    for job in await service.jobs():
        await wait_for_job(service.client, job["job_id"], finished)
    await service.events_handled()

    bodies = await service.comments("DEMO-4")
    slow_downs = [body for body in bodies if "Slow down a little, please" in body]
    assert len(slow_downs) == 1
    assert "at most 5 commands a minute on DEMO-4" in slow_downs[0]
    assert len(signed_by_bot(bodies, "ack ")) == 5  # commands.max_per_ticket_per_minute
    assert 1 <= len(await service.jobs()) <= 5  # one job per ticket at a time still holds


async def test_one_person_is_limited_across_tickets(aiohttp_client, nats_url: str) -> None:
    clock = ManualClock()
    commands = {"users": ["*"], "projects": ["*"], "max_per_user_per_minute": 2}
    service = await start_sandboxed(aiohttp_client, nats_url, clock=clock, commands=commands)
    await service.subscribe()
    for key in ("DEMO-2", "DEMO-4", "DEMO-6"):
        await service.comment(key, "/augment status")
        await service.events_handled()
    answered = [bool(signed_by_bot(await service.comments(key), "ack ")) for key in ("DEMO-2", "DEMO-4", "DEMO-6")]
    assert answered == [True, True, False]
    assert sum("Slow down a little, please" in body for body in await service.comments("DEMO-6")) == 1

    clock.advance(timedelta(seconds=61))
    await service.comment("DEMO-6", "/augment status")
    await service.wait_for_comment("DEMO-6", "No Augment job is working on DEMO-6 right now.")


async def test_a_command_is_answered_with_one_call_to_jira(aiohttp_client, nats_url: str) -> None:
    """A command judged for the first time cannot have been answered yet: the answer is posted
    without reading the ticket's comments first (one Jira call, not two, in Jira's rate limit)."""
    service = await start_sandboxed(aiohttp_client, nats_url)
    await service.subscribe()
    read_comments = "GET /rest/api/{version}/issue/{issue}/comment"
    post_comment = "POST /rest/api/{version}/issue/{issue}/comment"
    before = (await service.jira_requests())["by_route"]

    await service.comment("DEMO-3", "/augment help")

    async def answered() -> bool:  # the comments as part of the issue: not the route counted here
        issue = await service.jira("GET", "/rest/api/2/issue/DEMO-3?fields=comment")
        return any("Augment commands" in comment["body"] for comment in issue["fields"]["comment"]["comments"])

    await eventually(answered, "the help was posted")
    await service.events_handled()
    after = (await service.jira_requests())["by_route"]
    assert after.get(post_comment, 0) - before.get(post_comment, 0) == 2  # the person's, then the bot's
    assert after.get(read_comments, 0) == before.get(read_comments, 0)
