"""`POST /plan/tasks/generate` and `/plan/tasks/team-based` end to end against the sandbox (its
LLM plans tasks by the prompt's rules): preview, team-based preview, creation with links and
fields, a preview applied later, the `/augment tasks` command, and a worker SIGKILLed in the
middle of creating the tasks."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import aiohttp

from sandbox import Sandbox
from tests.fixtures.service import AugmentProcess, SandboxedService, finished, start_sandboxed, wait_for_job
from tests.fixtures.workers import jira_faults, kill_once_jira_saw, route_calls, sandboxed_api, worker_environment

TEST_CASES = "customfield_10052"
MANDAYS = "customfield_10053"
CREATE_ROUTE = "POST /rest/api/{version}/issue"
STORIES = ["DEMO-3", "DEMO-5"]
TEAMS = ["Backend", "Frontend", "QA"]
APPLY = re.compile(r"^/augment apply (\S+)$", re.MULTILINE)


async def post(client: Any, route: str, body: dict[str, Any]) -> tuple[int, Any]:
    response = await client.post(route, json=body)
    return response.status, await response.json()


async def full_record(sandboxed: SandboxedService) -> dict[str, Any]:
    """The one job's whole record (the job list leaves out the plan and usage)."""
    [job] = await sandboxed.jobs()
    return await (await sandboxed.client.get(f"/jobs/{job['job_id']}")).json()


async def issues(sandbox: Sandbox, jql: str) -> list[dict[str, Any]]:
    """The issues of `jql` with the fields the tests check, read as the sandbox's admin."""
    person = sandbox.admin
    headers = {"Authorization": aiohttp.encode_basic_auth(person.email, person.api_token)}
    fields = f"summary,issuetype,parent,labels,issuelinks,{MANDAYS},{TEST_CASES}"
    async with aiohttp.ClientSession() as session:
        url = f"{sandbox.jira_url}/rest/api/2/search/jql"
        async with session.get(url, params={"jql": jql, "fields": fields, "maxResults": "100"}, headers=headers) as got:
            assert got.status == 200, await got.text()
            return (await got.json())["issues"]


async def creates(sandbox: Sandbox) -> int:
    return await route_calls(sandbox, CREATE_ROUTE)


def links(issue: dict[str, Any]) -> set[tuple[str, str | None, str | None]]:
    """(type, outward end, inward end) of each of the issue's links."""
    return {
        (link["type"]["name"], link.get("outwardIssue", {}).get("key"), link.get("inwardIssue", {}).get("key"))
        for link in issue["fields"]["issuelinks"]
    }


def check_created(result: dict[str, Any], found: list[dict[str, Any]], *, team_labels: bool) -> None:
    """Each planned task exists exactly once, under DEMO-1, split from its story, with its Blocks
    links, its mandays and test cases (and team label)."""
    by_summary: dict[str, list[dict[str, Any]]] = {}
    for issue in found:
        by_summary.setdefault(issue["fields"]["summary"], []).append(issue)
    tasks = result["task_details"]
    assert sorted(by_summary) == sorted(task["title"] for task in tasks)
    assert all(len(copies) == 1 for copies in by_summary.values()), by_summary
    key_of = {task["title"]: by_summary[task["title"]][0]["key"] for task in tasks}
    for task in tasks:
        issue = by_summary[task["title"]][0]
        fields = issue["fields"]
        assert task["ticket_key"] == issue["key"]
        assert (fields["issuetype"]["name"], fields["parent"]["key"]) == ("Task", "DEMO-1")
        assert fields[MANDAYS] == task["estimate_days"]
        assert fields[TEST_CASES] == "\n".join(f"# {case}" for case in task["test_cases"])
        assert (task["team"] in fields["labels"]) is team_labels
        expected = {("Work item split", None, task["story_key"])}
        expected |= {("Blocks", None, key_of[needed]) for needed in task["depends_on"]}
        expected |= {
            ("Blocks", key_of[other["title"]], None) for other in tasks if task["title"] in other["depends_on"]
        }
        assert links(issue) == expected, task["title"]


async def test_preview_plans_tasks_with_statistics_and_creates_nothing(sandboxed: SandboxedService) -> None:
    status, body = await post(sandboxed.client, "/plan/tasks/generate", {"story_keys": STORIES})
    assert status == 200, body
    assert (body["epic_key"], body["operation_mode"], body["success"], body["team_based"]) == (
        "DEMO-1",
        "preview",
        True,
        False,
    )
    tasks = body["task_details"]
    assert {task["story_key"] for task in tasks} == set(STORIES)
    assert all(task["ticket_key"] is None and task["test_cases"] for task in tasks)
    statistics = body["summary_statistics"]
    assert statistics["total_tasks"] == len(tasks)
    assert statistics["total_estimated_days"] == round(sum(task["estimate_days"] for task in tasks), 2)
    assert sum(team["tasks"] for team in statistics["by_team"].values()) == len(tasks)
    assert all(0 < task["estimate_days"] <= 10 for task in tasks)
    titles = [task["title"] for task in tasks]
    assert len(set(titles)) == len(titles)
    assert any(task["depends_on"] for task in tasks)
    assert body["created_tickets"] == {"stories": [], "tasks": []}
    assert await creates(sandboxed.sandbox) == 0
    job = await full_record(sandboxed)
    assert job["usage"]["input_tokens"] > 0 and job["usage"]["output_tokens"] > 0
    assert job["ticket_keys"] == STORIES


async def test_team_based_preview_covers_every_configured_team_with_cross_team_blocking(
    aiohttp_client: Callable[..., Any], nats_url: str
) -> None:
    sandboxed = await start_sandboxed(aiohttp_client, nats_url, planning={"teams": TEAMS})
    status, body = await post(sandboxed.client, "/plan/tasks/team-based", {"story_keys": STORIES, "epic_key": "DEMO-1"})
    assert status == 200, body
    assert body["team_based"] is True
    statistics = body["summary_statistics"]
    assert sorted(statistics["by_team"]) == sorted(TEAMS)
    team_of = {task["title"]: task["team"] for task in body["task_details"]}
    crossing = {
        (task["team"], team_of[needed])
        for task in body["task_details"]
        for needed in task["depends_on"]
        if team_of[needed] != task["team"]
    }
    assert crossing
    assert statistics["blocked_by"] == {
        team: sorted({blocker for waiting, blocker in crossing if waiting == team}) for team, _ in sorted(crossing)
    }
    assert "Backend" in statistics["blocked_by"]["QA"] or "Frontend" in statistics["blocked_by"]["QA"]
    assert await creates(sandboxed.sandbox) == 0


async def test_dry_run_false_creates_each_task_once_with_links_fields_and_team_label(
    sandboxed: SandboxedService,
) -> None:
    status, body = await post(sandboxed.client, "/plan/tasks/team-based", {"story_keys": STORIES, "dry_run": False})
    assert status == 200, body
    assert (body["operation_mode"], body["success"]) == ("apply", True)
    assert len(body["created_tickets"]["tasks"]) == len(body["task_details"])
    job = await full_record(sandboxed)
    marker = job["plan"][0]["payload"]["marker"]
    check_created(body, await issues(sandboxed.sandbox, f"labels = {marker}"), team_labels=True)
    assert await creates(sandboxed.sandbox) == len(body["task_details"])


async def test_creating_the_tasks_shows_how_many_operations_are_written(sandboxed: SandboxedService) -> None:
    """A long write reports its progress operation by operation, not only at its start and end."""
    await jira_faults(sandboxed.sandbox, latency_ms=150)
    status, accepted = await post(
        sandboxed.client, "/plan/tasks/team-based", {"story_keys": STORIES, "dry_run": False, "async_mode": True}
    )
    assert status == 202, accepted

    def midway(job: dict[str, Any]) -> bool:
        return job["status"] == "processing" and 0 < (job["progress"]["processed"] or 0) < job["progress"]["total"]

    job = await wait_for_job(sandboxed.client, accepted["job_id"], midway, timeout=60)
    assert job["progress"]["message"].startswith("Creating ") and job["progress"]["total"] == len(job["plan"])
    await jira_faults(sandboxed.sandbox, latency_ms=0)
    done = await wait_for_job(sandboxed.client, accepted["job_id"], finished, timeout=60)
    assert done["status"] == "completed"
    assert done["progress"]["processed"] == done["progress"]["total"] == len(done["plan"])


async def test_a_preview_applied_later_creates_the_tasks_once(sandboxed: SandboxedService) -> None:
    status, preview = await post(sandboxed.client, "/plan/tasks/generate", {"story_keys": ["DEMO-4", "DEMO-6"]})
    assert status == 200, preview
    job = await full_record(sandboxed)
    response = await sandboxed.client.post(f"/jobs/{job['job_id']}/apply", json={})
    assert response.status == 200, await response.text()
    assert (await response.json())["outcome"] == "applied"
    again = await sandboxed.client.post(f"/jobs/{job['job_id']}/apply", json={})
    assert again.status == 409
    marker = job["plan"][0]["payload"]["marker"]
    found = await issues(sandboxed.sandbox, f"labels = {marker}")
    assert sorted(issue["fields"]["summary"] for issue in found) == sorted(t["title"] for t in preview["task_details"])
    assert await creates(sandboxed.sandbox) == len(preview["task_details"])


async def test_requests_jira_cannot_take_are_refused_before_the_llm_is_asked(sandboxed: SandboxedService) -> None:
    status, body = await post(sandboxed.client, "/plan/tasks/generate", {"story_keys": ["DEMO-3", "demo-3"]})
    assert status == 422 and "story_keys must be unique" in str(body["detail"])
    status, body = await post(sandboxed.client, "/plan/tasks/generate", {"story_keys": ["DEMO-8"]})
    assert status == 422 and body["detail"].startswith("story_keys: DEMO-8 is a Task, not a Story"), body
    status, body = await post(
        sandboxed.client, "/plan/tasks/generate", {"story_keys": ["DEMO-3"], "epic_key": "DEMO-2"}
    )
    assert status == 422 and "DEMO-2 is a Story, not an Epic" in body["detail"], body
    status, body = await post(sandboxed.client, "/plan/tasks/generate", {"story_keys": ["DEMO-3", "TEAM-2"]})
    assert status == 422 and "different epics" in body["detail"], body
    assert all(provider["requests"] == 0 for provider in (await sandboxed.llm_stats()).values())


async def test_the_tasks_command_previews_a_table_with_the_apply_line(sandboxed: SandboxedService) -> None:
    await sandboxed.subscribe()
    await sandboxed.comment("DEMO-3", "/augment tasks team-based")
    found = await sandboxed.wait_for_comment("DEMO-3", "Preview: team-based tasks under DEMO-1")
    preview = next(body for body in found if "Preview: team-based tasks" in body)
    assert "||Task||Team||Story||Estimate (man-days)||Depends on||" in preview
    assert "|DEMO-3|" in preview and " is blocked by " in preview
    job_id = APPLY.search(preview).group(1)  # type: ignore[union-attr]
    assert any("Planning the team-based tasks of 1 story" in body and job_id in body for body in found)
    assert await creates(sandboxed.sandbox) == 0


async def test_the_tasks_command_on_an_epic_plans_all_its_stories(sandboxed: SandboxedService) -> None:
    await sandboxed.subscribe()
    await sandboxed.comment("DEMO-1", "/augment tasks")
    found = await sandboxed.wait_for_comment("DEMO-1", "Preview: tasks under DEMO-1")
    preview = next(body for body in found if "Preview: tasks under" in body)
    assert all(f"|DEMO-{number}|" in preview for number in range(2, 8))  # the epic's six stories
    assert APPLY.search(preview) is not None
    assert any("Planning the tasks of 6 stories" in body for body in found)


def worker(settings: Any, sandbox: Sandbox) -> dict[str, str]:
    return worker_environment(
        settings, sandbox, JIRA_TEST_CASES_CUSTOM_FIELD=TEST_CASES, JIRA_MANDAYS_CUSTOM_FIELD=MANDAYS
    )


async def test_a_worker_killed_while_creating_the_tasks_leaves_each_task_once_with_its_links(
    aiohttp_client: Callable[..., Any], nats_url: str, augment_processes: Callable[..., AugmentProcess]
) -> None:
    settings, api, sandbox = await sandboxed_api(aiohttp_client, nats_url)
    doomed = augment_processes("worker", worker(settings, sandbox))
    # Every Jira call is slow: the worker is well inside the creates when it is killed.
    await jira_faults(sandbox, latency_ms=400)
    body = {"story_keys": STORIES, "dry_run": False, "async_mode": True}
    status, accepted = await post(api, "/plan/tasks/generate", body)
    assert status == 202, accepted
    job_id = accepted["job_id"]
    await kill_once_jira_saw(doomed, sandbox, CREATE_ROUTE, 2, "the worker created two tasks", seconds=90)
    record = await (await api.get(f"/jobs/{job_id}")).json()
    planned = [op for op in record["plan"] if op["kind"] == "create_issue"]
    assert len(record["applied"]) < len(planned)  # killed in the middle of the creates

    await jira_faults(sandbox, latency_ms=0)
    augment_processes("worker", worker(settings, sandbox))
    job = await wait_for_job(api, job_id, finished, timeout=90)
    assert job["status"] == "completed", job
    marker = planned[0]["payload"]["marker"]
    check_created(job["result"], await issues(sandbox, f"labels = {marker}"), team_labels=False)
    assert await creates(sandbox) == len(planned)
