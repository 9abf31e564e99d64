"""`POST /jira/create-ticket` end to end: preview, create, the link fallback, and a worker
SIGKILLed after Jira made the task but before the job recorded it (also while Jira's search
lags); the applier's create look-up when one plan creates several issues."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from bot.config import JiraSettings
from bot.jira.applier import Applier
from bot.jira.client import JiraClient
from sandbox import Sandbox
from schemas.jobs import AppliedOperation, PlanOperation
from tests.fixtures.service import AugmentProcess, SandboxedService, finished, wait_for_job
from tests.fixtures.workers import (
    jira_faults,
    kill_once_jira_saw,
    route_calls,
    sandbox_admin,
    sandboxed_api,
    worker_environment,
)

TEST_CASES = "customfield_10052"
MANDAYS = "customfield_10053"
CREATE_ROUTE = "POST /rest/api/{version}/issue"
REQUEST = {
    "parent_key": "DEMO-1",
    "summary": "Write the CSV encoder",
    "description": "h2. Purpose\nEncode rows as CSV.",
    "story_key": "DEMO-2",
    "test_cases": "# Given rows, a CSV file",
    "blocks": ["DEMO-8"],
    "mandays": 2.5,
}


async def post(sandboxed: SandboxedService, body: dict[str, Any]) -> tuple[int, Any]:
    response = await sandboxed.client.post("/jira/create-ticket", json=body)
    return response.status, await response.json()


async def labelled(sandbox: Sandbox, marker: str) -> list[dict[str, Any]]:
    """The issues carrying `marker`, read as the sandbox's admin."""
    person = sandbox.admin
    headers = {"Authorization": aiohttp.encode_basic_auth(person.email, person.api_token)}
    async with aiohttp.ClientSession() as session:
        url = f"{sandbox.jira_url}/rest/api/2/search/jql"
        params = {"jql": f"labels = {marker}", "fields": f"summary,issuetype,parent,labels,issuelinks,{MANDAYS}"}
        async with session.get(url, params=params, headers=headers) as response:
            assert response.status == 200, await response.text()
            return (await response.json())["issues"]


def link_set(issue: dict[str, Any]) -> set[tuple[str, str | None, str | None]]:
    return {
        (link["type"]["name"], link.get("outwardIssue", {}).get("key"), link.get("inwardIssue", {}).get("key"))
        for link in issue["fields"]["issuelinks"]
    }


async def test_preview_shows_the_task_and_its_links_and_creates_nothing(sandboxed: SandboxedService) -> None:
    status, body = await post(sandboxed, REQUEST)
    assert status == 200, body
    assert body["created_in_jira"] is False and body["ticket_key"] is None
    assert body["story_link_type"] == "Work item split"
    assert body["marker"].startswith("augment-")
    assert body["preview"] == {
        "project": "DEMO",
        "parent_key": "DEMO-1",
        "summary": REQUEST["summary"],
        "description": REQUEST["description"],
        "test_cases": REQUEST["test_cases"],
        "mandays": 2.5,
        "links": [
            {"link_type": "Work item split", "source_key": "DEMO-2", "target_key": "TASK"},
            {"link_type": "Blocks", "source_key": "TASK", "target_key": "DEMO-8"},
        ],
    }
    assert body["message"].startswith("Preview: a Task under DEMO-1 split from DEMO-2 would be created.")
    assert await labelled(sandboxed.sandbox, body["marker"]) == []
    assert (await sandboxed.jira_requests())["by_route"].get(CREATE_ROUTE, 0) == 0


async def test_create_makes_one_task_under_the_epic_with_links_test_cases_and_mandays(
    sandboxed: SandboxedService,
) -> None:
    status, body = await post(sandboxed, REQUEST | {"create_ticket": True})
    assert status == 200, body
    key = body["ticket_key"]
    assert body["success"] is True and body["created_in_jira"] is True
    assert body["message"] == f"Successfully created task {key}."
    assert body["links_created"] == [
        {"link_type": "Work item split", "source_key": "DEMO-2", "target_key": key, "status": "created"},
        {"link_type": "Blocks", "source_key": key, "target_key": "DEMO-8", "status": "created"},
    ]
    [issue] = await labelled(sandboxed.sandbox, body["marker"])
    assert issue["key"] == key
    held = await sandboxed.jira(
        "GET",
        f"/rest/api/2/issue/{key}?fields=summary,description,issuetype,parent,labels,issuelinks,{TEST_CASES},{MANDAYS}",
    )
    fields = held["fields"]
    assert fields["issuetype"]["name"] == "Task" and fields["parent"]["key"] == "DEMO-1"
    assert fields["summary"] == REQUEST["summary"] and fields["description"] == REQUEST["description"]
    assert fields[TEST_CASES] == REQUEST["test_cases"] and fields[MANDAYS] == 2.5
    assert fields["labels"] == [body["marker"]]
    assert link_set(held) == {("Work item split", None, "DEMO-2"), ("Blocks", "DEMO-8", None)}

    [job] = await sandboxed.jobs()
    record = await (await sandboxed.client.get(f"/jobs/{job['job_id']}")).json()
    assert record["job_type"] == "create_ticket"
    assert [op["kind"] for op in record["plan"]] == ["create_issue", "link_issues"]  # the story's link: in the create
    assert [entry["outcome"]["status"] for entry in record["applied"]] == ["applied"] * 2
    assert record["applied"][0]["outcome"]["key"] == key


async def test_a_site_without_work_item_split_links_the_story_with_cloners_and_says_so(
    sandboxed: SandboxedService,
) -> None:
    snapshot = await sandboxed.jira("GET", "/_sandbox/snapshot")
    kinds = snapshot["site"]["link_types"]
    snapshot["site"]["link_types"] = [kind for kind in kinds if kind["name"] != "Work item split"]
    await sandboxed.jira("PUT", "/_sandbox/snapshot", json=snapshot)

    request = {key: REQUEST[key] for key in ("parent_key", "summary", "description", "story_key")}
    status, body = await post(sandboxed, request | {"create_ticket": True})
    assert status == 200, body
    key = body["ticket_key"]
    assert body["story_link_type"] == "Cloners"
    assert body["message"] == (
        f'Successfully created task {key}. This Jira has no "Work item split" link type: '
        'the story is linked with "Cloners".'
    )
    assert body["links_created"] == [
        {"link_type": "Cloners", "source_key": key, "target_key": "DEMO-2", "status": "created"}
    ]
    [issue] = await labelled(sandboxed.sandbox, body["marker"])
    assert link_set(issue) == {("Cloners", "DEMO-2", None)}
    assert issue["fields"][MANDAYS] is None  # no mandays given: none is set


async def test_a_preview_applied_later_creates_the_task_once(sandboxed: SandboxedService) -> None:
    status, preview = await post(sandboxed, REQUEST)
    assert status == 200, preview
    [job] = await sandboxed.jobs()
    response = await sandboxed.client.post(f"/jobs/{job['job_id']}/apply", json={})
    assert response.status == 200, await response.text()
    again = await sandboxed.client.post(f"/jobs/{job['job_id']}/apply", json={})
    assert again.status == 409  # already applied: nothing is created again
    [issue] = await labelled(sandboxed.sandbox, preview["marker"])
    assert link_set(issue) == {("Work item split", None, "DEMO-2"), ("Blocks", "DEMO-8", None)}


async def test_a_story_key_that_is_not_a_story_is_refused_before_anything_is_created(
    sandboxed: SandboxedService,
) -> None:
    request = {key: REQUEST[key] for key in ("parent_key", "summary", "description")}
    status, body = await post(sandboxed, request | {"story_key": "DEMO-8", "create_ticket": True})
    assert status == 422, body
    assert body["detail"].startswith("story_key DEMO-8 is a Task, not a Story")
    assert (await sandboxed.jira_requests())["by_route"].get(CREATE_ROUTE, 0) == 0


async def test_an_epic_that_is_not_an_epic_is_refused_before_anything_is_created(sandboxed: SandboxedService) -> None:
    status, body = await post(sandboxed, REQUEST | {"parent_key": "DEMO-3", "create_ticket": True})
    assert status == 422, body
    assert body["detail"].startswith("parent_key DEMO-3 is a Story, not an Epic")
    assert (await sandboxed.jira_requests())["by_route"].get(CREATE_ROUTE, 0) == 0


def worker(settings: Any, sandbox: Sandbox) -> dict[str, str]:
    return worker_environment(
        settings, sandbox, JIRA_TEST_CASES_CUSTOM_FIELD=TEST_CASES, JIRA_MANDAYS_CUSTOM_FIELD=MANDAYS
    )


async def test_a_worker_killed_after_jira_created_the_task_but_before_the_record_creates_no_second(
    aiohttp_client: Callable[..., Any], nats_url: str, augment_processes: Callable[..., AugmentProcess]
) -> None:
    settings, api, sandbox = await sandboxed_api(aiohttp_client, nats_url)
    doomed = augment_processes("worker", worker(settings, sandbox))
    # Jira makes the task but its answer is lost (504), and every call is slow: the worker is
    # between "Jira made it" and "recorded" for over a second, looking before trying again.
    await jira_faults(sandbox, latency_ms=700, server_error_after_write_rate=1)
    response = await api.post("/jira/create-ticket", json=REQUEST | {"create_ticket": True, "async_mode": True})
    assert response.status == 202, await response.text()
    job_id = (await response.json())["job_id"]
    await kill_once_jira_saw(doomed, sandbox, CREATE_ROUTE, 1, "the worker's create reached Jira")
    record = await (await api.get(f"/jobs/{job_id}")).json()
    assert record["applied"] == []  # Jira made the task; the job never recorded it
    marker = record["result"]["marker"]
    assert len(await labelled(sandbox, marker)) == 1

    await jira_faults(sandbox, latency_ms=0, server_error_after_write_rate=0)
    augment_processes("worker", worker(settings, sandbox))
    job = await wait_for_job(api, job_id, finished, timeout=60)
    assert job["status"] == "completed", job
    [issue] = await labelled(sandbox, marker)
    assert job["result"]["ticket_key"] == issue["key"]
    assert job["applied"][0]["outcome"] == {"status": "already_applied", "key": issue["key"]}
    assert link_set(issue) == {("Work item split", None, "DEMO-2"), ("Blocks", "DEMO-8", None)}
    assert await route_calls(sandbox, CREATE_ROUTE) == 1


async def story_links(sandbox: Sandbox, summary: str) -> list[str]:
    """Keys of the issues linked to DEMO-2 with this summary, read with GET (no search lag)."""
    held = await sandbox_admin(sandbox, "GET", "/rest/api/2/issue/DEMO-2?fields=issuelinks")
    ends = [link.get("inwardIssue") or link.get("outwardIssue") for link in held["fields"]["issuelinks"]]
    return [end["key"] for end in ends if end["fields"]["summary"] == summary]


async def test_a_worker_killed_after_the_create_while_search_lags_finds_the_task_through_the_story(
    aiohttp_client: Callable[..., Any], nats_url: str, augment_processes: Callable[..., AugmentProcess]
) -> None:
    settings, api, sandbox = await sandboxed_api(aiohttp_client, nats_url)
    doomed = augment_processes("worker", worker(settings, sandbox))
    # The search shows nothing newer than a minute: a look-up by label would miss the task.
    faults = {"latency_ms": 700, "server_error_after_write_rate": 1, "search_lag_ms": 60_000}
    await jira_faults(sandbox, **faults)
    response = await api.post("/jira/create-ticket", json=REQUEST | {"create_ticket": True, "async_mode": True})
    assert response.status == 202, await response.text()
    job_id = (await response.json())["job_id"]
    await kill_once_jira_saw(doomed, sandbox, CREATE_ROUTE, 1, "the worker's create reached Jira")
    record = await (await api.get(f"/jobs/{job_id}")).json()
    assert record["applied"] == []  # Jira made the task; the job never recorded it
    assert list(record["create_attempts"]) == ["create"]  # but it recorded that it asked
    assert len(await story_links(sandbox, REQUEST["summary"])) == 1

    await jira_faults(sandbox, latency_ms=0, server_error_after_write_rate=0)
    augment_processes("worker", worker(settings, sandbox))
    job = await wait_for_job(api, job_id, finished, timeout=60)
    assert job["status"] == "completed", job
    [key] = await story_links(sandbox, REQUEST["summary"])
    assert job["result"]["ticket_key"] == key
    assert job["applied"][0]["outcome"] == {"status": "already_applied", "key": key}
    assert job["result"]["links_created"][0] == {
        "link_type": "Work item split",
        "source_key": "DEMO-2",
        "target_key": key,
        "status": "already_exists",
    }
    assert await route_calls(sandbox, CREATE_ROUTE) == 1
    await jira_faults(sandbox, search_lag_ms=0)
    [issue] = await labelled(sandbox, record["result"]["marker"])
    assert issue["key"] == key
    assert link_set(issue) == {("Work item split", None, "DEMO-2"), ("Blocks", "DEMO-8", None)}


@pytest.fixture
async def jira(sandbox: Sandbox) -> Any:
    settings = JiraSettings(url=sandbox.jira_url, email=sandbox.bot.email, token=SecretStr(sandbox.bot.api_token))
    client = JiraClient(settings)
    yield client
    await client.close()


def create(op_id: str, summary: str, marker: str = "augment-twocreates") -> PlanOperation:
    fields = {"project": {"key": "DEMO"}, "issuetype": {"name": "Task"}, "summary": summary, "labels": [marker]}
    return PlanOperation(op_id=op_id, kind="create_issue", payload={"fields": fields, "marker": marker})


async def nowhere(_: AppliedOperation) -> None:
    return None


async def test_one_plan_creating_two_issues_with_one_marker_creates_the_second_when_the_first_exists(
    sandbox: Sandbox, jira: JiraClient
) -> None:
    first, second = create("story:1", "Export rows"), create("story:2", "Import rows")
    [made] = await Applier(jira).apply([first], [], nowhere)
    # A crash lost the first create's record: the plan is applied again from the start.
    again = await Applier(jira).apply([first, second], [], nowhere)
    assert again[0].outcome == {"status": "already_applied", "key": made.outcome["key"]}
    assert again[1].outcome["status"] == "applied" and again[1].outcome["key"] != made.outcome["key"]
    summaries = {issue["fields"]["summary"] for issue in await labelled(sandbox, "augment-twocreates")}
    assert summaries == {"Export rows", "Import rows"}


async def test_a_plan_with_two_creates_of_one_summary_is_refused_before_anything_is_created(
    sandbox: Sandbox, jira: JiraClient
) -> None:
    with pytest.raises(ValueError, match="same summary"):
        await Applier(jira).apply([create("a", "Same"), create("b", "Same")], [], nowhere)
    assert await labelled(sandbox, "augment-twocreates") == []
