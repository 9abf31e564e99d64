"""Applying sprint operations: `create_sprint` makes one sprint even when Jira's answer or the
record is lost, `move_to_sprint` does not send issues already in the sprint, and a worker
SIGKILLed in the middle of an assign of many chunks resumes without sending a recorded chunk
again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from bot.app import create_app
from bot.config import JiraSettings, Settings
from bot.jira.applier import Applier
from bot.jira.client import JiraClient
from bot.services import SERVICES
from sandbox import Sandbox
from schemas.jobs import AppliedOperation, PlanOperation
from tests.fixtures.nats import make_settings
from tests.fixtures.service import SANDBOXED, AugmentProcess, eventually, finished, service_environment, wait_for_job

BOARD = 1
FUTURE = 3
MOVE_ROUTE = "POST /rest/agile/1.0/sprint/{sprint_id}/issue"
CREATE_ROUTE = "POST /rest/agile/1.0/sprint"


async def sandbox_call(sandbox: Sandbox, method: str, path: str, **kwargs: Any) -> Any:
    """A REST call to the sandbox as its admin (a person, not the bot)."""
    person = sandbox.admin
    headers = {"Authorization": aiohttp.encode_basic_auth(person.email, person.api_token)}
    async with aiohttp.ClientSession() as session:
        async with session.request(method, sandbox.jira_url + path, headers=headers, **kwargs) as response:
            assert response.status < 300, await response.text()
            return await response.json() if response.content_type == "application/json" else None


async def sprints_named(sandbox: Sandbox, name: str) -> list[dict[str, Any]]:
    page = await sandbox_call(sandbox, "GET", f"/rest/agile/1.0/board/{BOARD}/sprint?maxResults=1000")
    return [sprint for sprint in page["values"] if sprint["name"] == name]


async def route_calls(sandbox: Sandbox, route: str) -> int:
    return int((await sandbox_call(sandbox, "GET", "/_sandbox/requests"))["by_route"].get(route, 0))


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
    await sandbox_call(sandbox, "PUT", "/_sandbox/faults", json={"server_error_after_write_rate": 1})
    [entry] = await Applier(jira).apply([create_sprint("sprint:1", "Lost answer")], [], nowhere)
    await sandbox_call(sandbox, "PUT", "/_sandbox/faults", json={"server_error_after_write_rate": 0})
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
    held = await sandbox_call(sandbox, "GET", f"/rest/agile/1.0/sprint/{sprint_id}/issue?fields=key")
    assert {issue["key"] for issue in held["issues"]} == {"DEMO-5", "DEMO-6"}
    moves = await route_calls(sandbox, MOVE_ROUTE)
    again = await Applier(jira).apply([create_sprint("sprint:1", "With issues"), move], [], nowhere)
    assert [entry.outcome["status"] for entry in again] == ["already_applied", "already_applied"]
    assert await route_calls(sandbox, MOVE_ROUTE) == moves


# -- the kill test ---------------------------------------------------------------------------


def worker_environment(settings: Settings, sandbox: Sandbox) -> dict[str, str]:
    bot = sandbox.bot
    return service_environment(
        settings, JIRA_URL=sandbox.jira_url, JIRA_EMAIL=bot.email, JIRA_TOKEN=bot.api_token, JIRA_MAX_RETRIES="6"
    )


async def test_a_worker_killed_midway_through_an_assign_resumes_without_resending_a_recorded_chunk(
    aiohttp_client: Callable[..., Any], nats_url: str, augment_processes: Callable[..., AugmentProcess]
) -> None:
    settings = make_settings(nats_url, sandbox=SANDBOXED, jira={"max_retries": 6})
    api = await aiohttp_client(create_app(settings, with_worker=False))
    sandbox = api.app[SERVICES].runtime.sandbox
    assert sandbox is not None
    fields = {"project": {"key": "DEMO"}, "issuetype": {"name": "Task"}}
    keys = [
        (await sandbox_call(sandbox, "POST", "/rest/api/2/issue", json={"fields": fields | {"summary": f"T{n}"}}))[
            "key"
        ]
        for n in range(240)
    ]
    chunks = 5  # 50, 50, 50, 50, 40
    doomed = augment_processes("worker", worker_environment(settings, sandbox))
    await sandbox_call(sandbox, "PUT", "/_sandbox/faults", json={"latency_ms": 300})
    response = await api.post(
        f"/sprint/{FUTURE}/assign", json={"issue_keys": keys, "dry_run": False, "async_mode": True}
    )
    assert response.status == 202, await response.text()
    job_id = (await response.json())["job_id"]

    async def two_chunks_sent() -> bool:
        return await route_calls(sandbox, MOVE_ROUTE) >= 2

    await eventually(two_chunks_sent, "the worker sent two chunks to Jira", seconds=60)
    doomed.kill()
    record = await (await api.get(f"/jobs/{job_id}")).json()
    recorded = len(record["applied"])
    assert 1 <= recorded < chunks, record["applied"]
    sent_before = await route_calls(sandbox, MOVE_ROUTE)

    await sandbox_call(sandbox, "PUT", "/_sandbox/faults", json={"latency_ms": 0})
    augment_processes("worker", worker_environment(settings, sandbox))
    job = await wait_for_job(api, job_id, finished, timeout=90)
    assert job["status"] == "completed", job
    held = await sandbox_call(sandbox, "GET", f"/rest/agile/1.0/sprint/{FUTURE}/issue?maxResults=5000&fields=key")
    assert {issue["key"] for issue in held["issues"]} >= set(keys)
    # Only the chunks not recorded are sent after the restart, and of those only the one in
    # flight at the kill may go a second time.
    sent_after = await route_calls(sandbox, MOVE_ROUTE) - sent_before
    assert sent_after <= chunks - recorded
    assert await route_calls(sandbox, MOVE_ROUTE) <= chunks + 1
    assert [chunk["op_id"] for chunk in job["result"]["chunks"]] == [f"move:{n}" for n in range(chunks)]
    assert sorted(job["result"]["issue_keys"]) == sorted(keys)
