"""Applying sprint operations: `create_sprint` makes one sprint even when Jira's answer or the
record is lost, `move_to_sprint` does not send issues already in the sprint, and a worker
SIGKILLed in the middle of an assign of many chunks resumes without sending a recorded chunk
again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pydantic import SecretStr

from bot.config import JiraSettings
from bot.jira.applier import Applier
from bot.jira.client import JiraClient
from sandbox import Sandbox
from schemas.jobs import AppliedOperation, PlanOperation
from tests.fixtures.service import AugmentProcess, finished, wait_for_job
from tests.fixtures.workers import (
    jira_faults,
    kill_once_jira_saw,
    route_calls,
    sandbox_admin,
    sandboxed_api,
    worker_environment,
)

BOARD = 1
FUTURE = 3
MOVE_ROUTE = "POST /rest/agile/1.0/sprint/{sprint_id}/issue"
CREATE_ROUTE = "POST /rest/agile/1.0/sprint"


async def sprints_named(sandbox: Sandbox, name: str) -> list[dict[str, Any]]:
    page = await sandbox_admin(sandbox, "GET", f"/rest/agile/1.0/board/{BOARD}/sprint?maxResults=1000")
    return [sprint for sprint in page["values"] if sprint["name"] == name]


@pytest.fixture
async def jira(sandbox: Sandbox) -> AsyncIterator[JiraClient]:
    settings = JiraSettings(url=sandbox.jira_url, email=sandbox.bot.email, token=SecretStr(sandbox.bot.api_token))
    client = JiraClient(settings)
    yield client
    await client.close()


def create_sprint(op_id: str, name: str) -> PlanOperation:
    payload = {"board_id": BOARD, "name": name, "start_date": "2030-05-01", "end_date": "2030-05-14", "goal": "Plan"}
    return PlanOperation(op_id=op_id, kind="create_sprint", payload=payload)


async def nowhere(_: AppliedOperation) -> None:
    return None


class Crash(Exception):
    pass


async def crash(_: AppliedOperation) -> None:
    raise Crash  # the worker died after Jira answered, before the record was written


async def test_create_sprint_after_a_crash_between_jiras_answer_and_the_record_makes_one(
    sandbox: Sandbox, jira: JiraClient
) -> None:
    plan = [create_sprint("sprint:1", "Planned sprint 1")]
    with pytest.raises(Crash):
        await Applier(jira).apply(plan, [], crash)
    [made] = await sprints_named(sandbox, "Planned sprint 1")
    [entry] = await Applier(jira).apply(plan, [], nowhere)
    assert entry.outcome == {"status": "already_applied", "sprint_id": made["id"]}
    assert len(await sprints_named(sandbox, "Planned sprint 1")) == 1
    assert made["startDate"].startswith("2030-05-01") and made["goal"] == "Plan" and made["state"] == "future"


async def test_create_sprint_whose_answer_is_lost_looks_before_trying_again(sandbox: Sandbox, jira: JiraClient) -> None:
    # Jira makes the sprint, then the gateway answers 504.
    await jira_faults(sandbox, server_error_after_write_rate=1)
    [entry] = await Applier(jira).apply([create_sprint("sprint:1", "Lost answer")], [], nowhere)
    await jira_faults(sandbox, server_error_after_write_rate=0)
    [made] = await sprints_named(sandbox, "Lost answer")
    assert entry.outcome == {"status": "already_applied", "sprint_id": made["id"]}
    assert await route_calls(sandbox, CREATE_ROUTE) == 1


async def test_a_plan_with_two_sprints_of_one_name_is_refused_before_anything_is_made(
    sandbox: Sandbox, jira: JiraClient
) -> None:
    with pytest.raises(ValueError, match="same name"):
        await Applier(jira).apply([create_sprint("a", "Twice"), create_sprint("b", "Twice")], [], nowhere)
    assert await sprints_named(sandbox, "Twice") == []


async def test_a_move_into_a_created_sprint_and_a_move_already_done(sandbox: Sandbox, jira: JiraClient) -> None:
    move = PlanOperation(
        op_id="move:0",
        kind="move_to_sprint",
        payload={"sprint_id": {"created_by": "sprint:1"}, "issue_keys": ["DEMO-5", "DEMO-6"]},
    )
    applied = await Applier(jira).apply([create_sprint("sprint:1", "With issues"), move], [], nowhere)
    assert applied[1].outcome == {"status": "applied", "moved": ["DEMO-5", "DEMO-6"]}
    sprint_id = applied[0].outcome["sprint_id"]
    held = await sandbox_admin(sandbox, "GET", f"/rest/agile/1.0/sprint/{sprint_id}/issue?fields=key")
    assert {issue["key"] for issue in held["issues"]} == {"DEMO-5", "DEMO-6"}
    moves = await route_calls(sandbox, MOVE_ROUTE)
    again = await Applier(jira).apply([create_sprint("sprint:1", "With issues"), move], [], nowhere)
    assert [entry.outcome["status"] for entry in again] == ["already_applied", "already_applied"]
    assert await route_calls(sandbox, MOVE_ROUTE) == moves


# -- the kill test ---------------------------------------------------------------------------


async def test_a_worker_killed_midway_through_an_assign_resumes_without_resending_a_recorded_chunk(
    aiohttp_client: Callable[..., Any], nats_url: str, augment_processes: Callable[..., AugmentProcess]
) -> None:
    settings, api, sandbox = await sandboxed_api(aiohttp_client, nats_url)
    fields = {"project": {"key": "DEMO"}, "issuetype": {"name": "Task"}}
    keys = [
        (await sandbox_admin(sandbox, "POST", "/rest/api/2/issue", json={"fields": fields | {"summary": f"T{n}"}}))[
            "key"
        ]
        for n in range(240)
    ]
    chunks = 5  # 50, 50, 50, 50, 40
    doomed = augment_processes("worker", worker_environment(settings, sandbox))
    await jira_faults(sandbox, latency_ms=300)
    response = await api.post(
        f"/sprint/{FUTURE}/assign", json={"issue_keys": keys, "dry_run": False, "async_mode": True}
    )
    assert response.status == 202, await response.text()
    job_id = (await response.json())["job_id"]
    await kill_once_jira_saw(doomed, sandbox, MOVE_ROUTE, 2, "the worker sent two chunks to Jira")
    record = await (await api.get(f"/jobs/{job_id}")).json()
    recorded = len(record["applied"])
    assert 1 <= recorded < chunks, record["applied"]
    sent_before = await route_calls(sandbox, MOVE_ROUTE)

    await jira_faults(sandbox, latency_ms=0)
    augment_processes("worker", worker_environment(settings, sandbox))
    job = await wait_for_job(api, job_id, finished, timeout=90)
    assert job["status"] == "completed", job
    held = await sandbox_admin(sandbox, "GET", f"/rest/agile/1.0/sprint/{FUTURE}/issue?maxResults=5000&fields=key")
    assert {issue["key"] for issue in held["issues"]} >= set(keys)
    # Only the chunks not recorded are sent after the restart, and of those only the one in
    # flight at the kill may go a second time.
    sent_after = await route_calls(sandbox, MOVE_ROUTE) - sent_before
    assert sent_after <= chunks - recorded
    assert await route_calls(sandbox, MOVE_ROUTE) <= chunks + 1
    assert [chunk["op_id"] for chunk in job["result"]["chunks"]] == [f"move:{n}" for n in range(chunks)]
    assert sorted(job["result"]["issue_keys"]) == sorted(keys)
