"""`POST /plan/stories/generate` end to end against the sandbox: the demo epic DEMO-1 ("Self-serve
data export") has stories already (DEMO-2 "Export account data as CSV", ...); the sandbox LLM
plans "[sandbox] ..." stories and, with the `break_rule` fault, breaks one planning rule first."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import aiohttp

from sandbox import Sandbox
from tests.fixtures.service import AugmentProcess, SandboxedService, finished, start_sandboxed, wait_for_job
from tests.fixtures.workers import (
    jira_faults,
    kill_once_jira_saw,
    route_calls,
    sandbox_admin,
    sandboxed_api,
    worker_environment,
)

ROUTE = "/plan/stories/generate"
CREATE_ROUTE = "POST /rest/api/{version}/issue"
APPLY = re.compile(r"^/augment apply (\S+)$", re.MULTILINE)
PRIORITIES = {"Highest", "High", "Medium", "Low", "Lowest"}


async def post(sandboxed: SandboxedService, body: dict[str, Any]) -> tuple[int, Any]:
    response = await sandboxed.client.post(ROUTE, json=body)
    return response.status, await response.json()


async def epic_stories(sandbox: Sandbox) -> list[dict[str, Any]]:
    """Every story under DEMO-1, with the fields a created story is checked by."""
    found = await sandbox_admin(
        sandbox,
        "GET",
        "/rest/api/2/search/jql",
        params={
            "jql": "parent = DEMO-1 AND issuetype = Story",
            "fields": "summary,description,labels,parent,priority",
            "maxResults": "100",
        },
    )
    return found["issues"]


async def creates(sandbox: Sandbox) -> int:
    return await route_calls(sandbox, CREATE_ROUTE)


async def llm_requests(sandboxed: SandboxedService) -> int:
    return sum(counts["requests"] for counts in (await sandboxed.llm_stats()).values())


async def break_rule(sandbox: Sandbox, rule: str, attempts: int) -> None:
    """The sandbox LLM breaks `rule` in the first `attempts` answers of a conversation."""
    faults = {"break_rule": rule, "break_rule_attempts": attempts}
    async with aiohttp.ClientSession() as session:
        async with session.put(f"{sandbox.llm_url}/_sandbox/llm/faults", json=faults) as response:
            assert response.status == 200, await response.text()


async def only_job(sandboxed: SandboxedService) -> dict[str, Any]:
    """The record of the one job run so far, in full (`GET /jobs/{job_id}`)."""
    [listed] = await sandboxed.jobs()
    return await (await sandboxed.client.get(f"/jobs/{listed['job_id']}")).json()


def titles(body: dict[str, Any]) -> list[str]:
    return [story["title"] for story in body["story_details"]]


async def test_a_preview_proposes_new_stories_creates_nothing_and_records_the_cost(
    sandboxed: SandboxedService,
) -> None:
    existing = {issue["fields"]["summary"] for issue in await epic_stories(sandboxed.sandbox)}
    status, body = await post(sandboxed, {"epic_key": "DEMO-1"})
    assert status == 200, body
    assert (body["epic_key"], body["operation_mode"], body["success"]) == ("DEMO-1", "preview", True)
    assert body["created_tickets"] == {"stories": [], "tasks": []}
    assert body["task_details"] == [] and body["execution_time_seconds"] >= 0
    assert 1 <= len(body["story_details"]) <= 15  # planning.max_stories
    for story in body["story_details"]:
        assert story["title"].startswith("[sandbox] ") and story["title"] not in existing
        assert story["description"] and story["acceptance_criteria"] and story["priority"] in PRIORITIES
        assert (story["action"], story["ticket_key"]) == ("create", None)
    assert {"key": "DEMO-2", "title": "Export account data as CSV"} in body["existing_stories"]
    assert {story["title"] for story in body["existing_stories"]} == existing
    assert body["usage"]["input_tokens"] > 0 and body["usage"]["output_tokens"] > 0
    assert await creates(sandboxed.sandbox) == 0

    job = await only_job(sandboxed)
    assert job["job_type"] == "story_generation" and job["ticket_keys"] == ["DEMO-1"]
    assert job["usage"]["total_tokens"] > 0
    assert job["usage"]["cost_usd"] > 0  # the default model has a price in the defaults
    assert len(job["plan"]) == len(body["story_details"])


async def test_dry_run_false_creates_each_story_once_under_the_epic(sandboxed: SandboxedService) -> None:
    before = {issue["key"] for issue in await epic_stories(sandboxed.sandbox)}
    status, body = await post(sandboxed, {"epic_key": "DEMO-1", "dry_run": False, "max_stories": 3})
    assert status == 200, body
    assert (body["operation_mode"], body["success"]) == ("apply", True)
    created = body["created_tickets"]["stories"]
    assert 1 <= len(created) <= 3 and len(set(created)) == len(created)
    assert [story["ticket_key"] for story in body["story_details"]] == created

    new = {
        issue["key"]: issue["fields"] for issue in await epic_stories(sandboxed.sandbox) if issue["key"] not in before
    }
    assert set(new) == set(created)
    for story, key in zip(body["story_details"], created, strict=True):
        fields = new[key]
        assert fields["summary"] == story["title"]
        assert fields["parent"]["key"] == "DEMO-1"
        assert fields["priority"]["name"] == story["priority"]
        assert "h2. Acceptance Criteria" in fields["description"]
        for criterion in story["acceptance_criteria"]:
            assert f"* {criterion}" in fields["description"]
        [marker] = [label for label in fields["labels"] if label.startswith("augment-")]
        assert len(marker) == len("augment-") + 12
    assert await creates(sandboxed.sandbox) == len(created)

    # A job that wrote is not a preview: it cannot be applied again.
    [job] = await sandboxed.jobs()
    response = await sandboxed.client.post(f"/jobs/{job['job_id']}/apply", json={})
    assert response.status == 409
    assert "dry_run was false" in (await response.json())["detail"]


async def test_a_preview_applied_twice_creates_the_stories_once(sandboxed: SandboxedService) -> None:
    status, preview = await post(sandboxed, {"epic_key": "DEMO-1", "max_stories": 2})
    assert status == 200, preview
    [job] = await sandboxed.jobs()
    response = await sandboxed.client.post(f"/jobs/{job['job_id']}/apply", json={})
    assert response.status == 200, await response.text()
    assert (await response.json())["outcome"] == "applied"
    again = await sandboxed.client.post(f"/jobs/{job['job_id']}/apply", json={})
    assert again.status == 409
    assert "is already applied by job" in (await again.json())["detail"]
    summaries = [issue["fields"]["summary"] for issue in await epic_stories(sandboxed.sandbox)]
    for title in titles(preview):
        assert summaries.count(title) == 1
    assert await creates(sandboxed.sandbox) == len(titles(preview))


async def test_a_key_that_is_not_an_epic_and_too_many_stories_are_refused(sandboxed: SandboxedService) -> None:
    status, body = await post(sandboxed, {"epic_key": "DEMO-2"})
    assert status == 422, body
    assert body["detail"] == "epic_key DEMO-2 is a Story, not an Epic"

    status, body = await post(sandboxed, {"epic_key": "DEMO-1", "max_stories": 16})
    assert status == 422, body
    assert body["detail"][0]["loc"] == ["body", "max_stories"]
    assert "at most 15 (planning.max_stories)" in body["detail"][0]["msg"]
    assert await llm_requests(sandboxed) == 0


async def test_async_mode_answers_at_once_and_the_job_holds_the_result(sandboxed: SandboxedService) -> None:
    status, body = await post(sandboxed, {"epic_key": "DEMO-1", "async_mode": True})
    assert status == 202, body
    assert body["status"] == "started"
    assert body["message"] == "Story generation for epic DEMO-1 queued"
    assert body["update_jira"] is False
    job = await wait_for_job(sandboxed.client, body["job_id"], finished)
    assert job["status"] == "completed", job
    assert job["result"]["operation_mode"] == "preview" and job["result"]["story_details"]


async def test_an_answer_proposing_an_existing_story_is_asked_again(sandboxed: SandboxedService) -> None:
    existing = {issue["fields"]["summary"] for issue in await epic_stories(sandboxed.sandbox)}
    await break_rule(sandboxed.sandbox, "existing_title", attempts=1)
    status, body = await post(sandboxed, {"epic_key": "DEMO-1"})
    assert status == 200, body
    assert not set(titles(body)) & existing
    assert await llm_requests(sandboxed) == 2  # the broken answer and the repaired one


async def test_an_answer_that_keeps_breaking_a_rule_fails_the_job_naming_it(sandboxed: SandboxedService) -> None:
    await break_rule(sandboxed.sandbox, "item_count", attempts=100)
    status, body = await post(sandboxed, {"epic_key": "DEMO-1", "max_stories": 3, "dry_run": False})
    assert status == 502, body
    assert "broke rule item_count" in body["detail"]
    assert "give between 1 and 3" in body["detail"]
    job = await only_job(sandboxed)
    assert job["status"] == "failed"
    assert job["usage"]["total_tokens"] > 0  # the unusable answers were paid for all the same
    assert await creates(sandboxed.sandbox) == 0


async def test_the_stories_command_previews_a_table_and_apply_writes_it(sandboxed: SandboxedService) -> None:
    await sandboxed.subscribe()
    await sandboxed.comment("DEMO-1", "/augment stories")
    found = await sandboxed.wait_for_comment("DEMO-1", "Preview: new stories for DEMO-1")
    preview = next(body for body in found if "Preview: new stories" in body)
    assert "||Story||Priority||Acceptance criteria||" in preview
    rows = re.findall(r"^\|\\\[sandbox\\\] (.+)\|(\w+)\|(\d+)\|$", preview, re.MULTILINE)
    assert rows and all(priority in PRIORITIES and int(count) >= 1 for _, priority, count in rows)
    job_id = APPLY.search(preview).group(1)  # type: ignore[union-attr]
    assert any("Proposing stories for DEMO-1" in body and job_id in body for body in found)
    assert await creates(sandboxed.sandbox) == 0

    await sandboxed.comment("DEMO-1", f"/augment apply {job_id}")
    await sandboxed.wait_for_comment("DEMO-1", f"Wrote the plan of job {job_id}")
    summaries = [issue["fields"]["summary"] for issue in await epic_stories(sandboxed.sandbox)]
    for title, _, _ in rows:
        assert summaries.count(f"[sandbox] {title}") == 1
    assert await creates(sandboxed.sandbox) == len(rows)


async def test_a_trigger_rule_previews_stories_for_a_new_epic(
    aiohttp_client: Callable[..., Any], nats_url: str
) -> None:
    rule = {  # the example in config.yaml.example
        "name": "propose-stories-for-new-epics",
        "on": "issue_created",
        "issue_types": ["Epic"],
        "action": {"job_type": "story_generation", "update_jira": False, "reply": "comment"},
    }
    service = await start_sandboxed(aiohttp_client, nats_url, triggers={"rules": [rule]})
    await service.subscribe()
    fields = {"project": {"key": "DEMO"}, "issuetype": {"name": "Epic"}, "summary": "Scheduled report emails"}
    key = (await service.jira("POST", "/rest/api/2/issue", json={"fields": fields}))["key"]
    found = await service.wait_for_comment(key, f"Preview: new stories for {key}")
    assert any(APPLY.search(body) for body in found)
    assert await creates(service.sandbox) == 1  # the epic itself


def worker(settings: Any, sandbox: Sandbox) -> dict[str, str]:
    return worker_environment(settings, sandbox, JIRA_SEARCH_SETTLE_SECONDS="3")


async def test_a_worker_killed_after_a_story_create_while_search_lags_creates_each_story_once(
    aiohttp_client: Callable[..., Any], nats_url: str, augment_processes: Callable[..., AugmentProcess]
) -> None:
    settings, api, sandbox = await sandboxed_api(aiohttp_client, nats_url)
    doomed = augment_processes("worker", worker(settings, sandbox))
    # Jira makes the story but its answer is lost (504), every call is slow, and the search
    # lags writes by 1.5 s: a story has no link to find it by, only the search, which the
    # applier trusts no sooner than jira.search_settle_seconds (3 s: the lag plus the 0.7 s the
    # create took to land) after the create was sent.
    faults = {"latency_ms": 700, "server_error_after_write_rate": 1, "search_lag_ms": 1500}
    await jira_faults(sandbox, **faults)
    body = {"epic_key": "DEMO-1", "dry_run": False, "async_mode": True, "max_stories": 3}
    response = await api.post(ROUTE, json=body)
    assert response.status == 202, await response.text()
    job_id = (await response.json())["job_id"]
    await kill_once_jira_saw(doomed, sandbox, CREATE_ROUTE, 1, "the worker's first story create reached Jira")
    record = await (await api.get(f"/jobs/{job_id}")).json()
    assert record["applied"] == []  # Jira made the story; the job never recorded it
    assert list(record["create_attempts"]) == ["create:0"]  # but it recorded that it asked
    planned = [operation["payload"]["fields"]["summary"] for operation in record["plan"]]

    await jira_faults(sandbox, latency_ms=0, server_error_after_write_rate=0)
    augment_processes("worker", worker(settings, sandbox))
    job = await wait_for_job(api, job_id, finished, timeout=60)
    assert job["status"] == "completed", job
    assert job["applied"][0]["outcome"]["status"] == "already_applied", (job["applied"], job.get("create_attempts"))
    assert len(job["result"]["created_tickets"]["stories"]) == len(planned)
    await jira_faults(sandbox, search_lag_ms=0)
    summaries = [issue["fields"]["summary"] for issue in await epic_stories(sandbox)]
    for title in planned:
        assert summaries.count(title) == 1
    assert await creates(sandbox) == len(planned)
    async with aiohttp.ClientSession() as session:
        async with session.get(sandbox.llm_url + "/_sandbox/llm/stats") as stats:
            asked = sum(counts["requests"] for counts in (await stats.json()).values())
    assert asked == 1  # the redelivered job kept its plan: the LLM was not asked again
