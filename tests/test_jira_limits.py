"""Jira's real limits, met by the applier and the comment poster against the sandbox Jira:
32,767 characters per text, faults after a write, 429s without Retry-After."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import SecretStr

from bot.config import JiraSettings
from bot.formatting.limits import JIRA_TEXT_LIMIT, fit_wiki, job_ticket_path
from bot.jira.applier import Applier, fingerprint
from bot.jira.client import JiraClient
from bot.jira.comments import post_once, signature
from sandbox import Sandbox
from schemas.jobs import AppliedOperation, PlanOperation
from tests.fixtures.service import eventually

NOTE = "cut to fit Jira's 32,767-character limit; the full text is at"


@pytest.fixture
async def jira(sandbox: Sandbox) -> AsyncIterator[JiraClient]:
    settings = JiraSettings(
        url=sandbox.jira_url, email=sandbox.bot.email, token=SecretStr(sandbox.bot.api_token), max_retries=6
    )
    client = JiraClient(settings)
    yield client
    await client.close()


async def _comments(sandbox: Sandbox, key: str) -> list[str]:
    person = sandbox.admin
    headers = {"Authorization": aiohttp.encode_basic_auth(person.email, person.api_token)}
    async with aiohttp.ClientSession(base_url=sandbox.jira_url, headers=headers) as session:
        async with session.get(f"/rest/api/2/issue/{key}/comment") as response:
            return [comment["body"] for comment in (await response.json())["comments"]]


def _long_description(sections: int = 12) -> str:
    return "\n\n".join(f"h2. Section {n}\n" + f"Paragraph {n}. " * 400 for n in range(sections))


async def _apply(applier: Applier, plan: list[PlanOperation]) -> list[AppliedOperation]:
    async def record(_: AppliedOperation) -> None:
        return None

    return await applier.apply(plan, [], record)


def _describe(key: str, description: str, before: str | None) -> PlanOperation:
    return PlanOperation(
        op_id=f"describe:{key}",
        kind="update_fields",
        ticket_key=key,
        payload={"fields": {"description": description}, "expect_sha256": {"description": fingerprint(before)}},
    )


async def test_a_too_long_description_is_cut_at_a_section_with_a_note(jira: JiraClient) -> None:
    full = _long_description()
    assert len(full) > JIRA_TEXT_LIMIT
    fitted = fit_wiki(full, job_ticket_path("job-1", "DEMO-3"))
    before = (await jira.ticket("DEMO-3")).description

    applied = await _apply(Applier(jira), [_describe("DEMO-3", fitted, before)])

    written = (await jira.ticket("DEMO-3")).description
    assert applied[0].outcome["status"] == "applied"
    assert written == fitted and len(written) <= JIRA_TEXT_LIMIT
    kept, note = written.rsplit("\n\n", 1)
    assert note == f"_… {NOTE} /jobs/job-1/tickets/DEMO-3_"
    assert full.startswith(kept) and full[len(kept) :].lstrip().startswith("h2. Section ")  # a whole section ends it
    assert re.findall(r"^h2\. ", kept, re.MULTILINE)


async def test_the_applier_never_sends_more_than_jira_takes(jira: JiraClient) -> None:
    """A plan holding an over-long value (made before plans were fitted) is cut, and a
    redelivered job sees that what it would write is already there."""
    full = _long_description()
    before = (await jira.ticket("DEMO-4")).description
    plan = [_describe("DEMO-4", full, before)]

    first = await _apply(Applier(jira), plan)
    again = await _apply(Applier(jira), plan)

    written = (await jira.ticket("DEMO-4")).description
    assert len(written) <= JIRA_TEXT_LIMIT and NOTE in written
    assert [first[0].outcome["status"], again[0].outcome["status"]] == ["applied", "already_applied"]


async def test_a_too_long_preview_comment_is_shortened_and_names_the_job(sandbox: Sandbox, jira: JiraClient) -> None:
    preview = "h4. Preview: a description for DEMO-1\n{panel}\n" + _long_description() + "\n{panel}\nThe plan: ..."

    assert await post_once(jira, "DEMO-1", preview, "reply job-7", full_text_at="/jobs/job-7")

    [posted] = [body for body in await _comments(sandbox, "DEMO-1") if signature("reply job-7") in body]
    assert len(posted) <= JIRA_TEXT_LIMIT
    assert f"{NOTE} /jobs/job-7" in posted
    assert posted.count("{panel}") == 2  # the panel the cut left open is closed


async def test_a_comment_answered_502_after_the_write_is_not_posted_twice(sandbox: Sandbox, jira: JiraClient) -> None:
    sandbox.set_faults(server_error_after_write_rate=1.0)

    assert await post_once(jira, "DEMO-2", "Wrote the description.", "reply job-8")

    sandbox.set_faults(server_error_after_write_rate=0.0)
    signed = [body for body in await _comments(sandbox, "DEMO-2") if signature("reply job-8") in body]
    assert len(signed) == 1
    posts = [count for name, count in sandbox.jira.request_counts.items() if re.fullmatch(r"POST .*/comment", name)]
    assert posts == [1]
    assert not await post_once(jira, "DEMO-2", "Wrote the description.", "reply job-8")


async def test_a_write_gets_through_429s_without_retry_after(sandbox: Sandbox, jira: JiraClient) -> None:
    before = (await jira.ticket("DEMO-5")).description
    sandbox.set_faults(rate_limit_without_retry_after_rate=1.0, retry_after_seconds=0)
    write = asyncio.create_task(_apply(Applier(jira), [_describe("DEMO-5", "h2. Purpose\nShort.", before)]))

    async def refused() -> int:
        return sandbox.jira.request_counts["status 429"]

    await eventually(refused, "the applier has been refused without Retry-After", seconds=10)
    sandbox.set_faults(rate_limit_without_retry_after_rate=0.0)
    applied = await asyncio.wait_for(write, timeout=60)

    assert applied[0].outcome["status"] == "applied"
    assert (await jira.ticket("DEMO-5")).description == "h2. Purpose\nShort."
