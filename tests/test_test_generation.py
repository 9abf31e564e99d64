"""`POST /plan/tests/comprehensive`, `/plan/tests/story`, `/plan/tests/task` and `/augment tests`
end to end against the sandbox: the demo epic DEMO-1 has the stories DEMO-2..DEMO-7 and the task
DEMO-8; the sandbox LLM answers as many test cases as the prompt's bounds allow. The site's Test
Cases field is customfield_10052; the team-managed project TEAM has its own, customfield_10101."""

from __future__ import annotations

import re
from typing import Any

from tests.fixtures.service import SandboxedService, eventually, finished, wait_for_job

BOUNDS = {"minimal": (1, 2), "basic": (2, 4), "standard": (3, 6), "comprehensive": (5, 10)}
TYPES = {"Unit", "Integration", "Acceptance", "E2E", "Performance", "Security", "UI"}
TEST_CASES = "customfield_10052"
HEADER = "||Title||Type||Steps||Expected||"
APPLY = re.compile(r"^/augment apply (\S+)$", re.MULTILINE)


async def post(sandboxed: SandboxedService, route: str, body: dict[str, Any]) -> tuple[int, Any]:
    response = await sandboxed.client.post(f"/plan/tests/{route}", json=body)
    return response.status, await response.json()


async def field(sandboxed: SandboxedService, key: str, field_id: str = TEST_CASES) -> Any:
    issue = await sandboxed.jira("GET", f"/rest/api/2/issue/{key}", params={"fields": field_id})
    return issue["fields"].get(field_id)


async def writes(sandboxed: SandboxedService) -> int:
    requests: dict[str, Any] = dict(await sandboxed.jira_requests())
    return sum(
        count for route, count in requests["by_route"].items() if route.startswith("PUT ") and "/issue/" in route
    )


async def written(sandboxed: SandboxedService, key: str) -> bool:
    return str(await field(sandboxed, key)).startswith(HEADER)


def rows(table: str) -> list[str]:
    return [line for line in table.splitlines() if line.startswith("|") and not line.startswith("||")]


async def test_every_level_gives_counts_in_its_bounds_of_allowed_types(sandboxed: SandboxedService) -> None:
    before = await field(sandboxed, "DEMO-2")
    for level, (low, high) in BOUNDS.items():
        status, body = await post(sandboxed, "story", {"story_key": "DEMO-2", "coverage_level": level})
        assert status == 200, body
        tests = body["story_tests"]["DEMO-2"]
        assert low <= len(tests) <= high, (level, len(tests))
        assert body["total_test_cases"] == len(tests) and body["task_tests"] == {}
        assert {test["type"] for test in tests} <= TYPES
        assert all(test["title"] and test["steps"] and test["expected_result"] for test in tests)
        assert (body["coverage_level"], body["operation_mode"], body["updated_in_jira"]) == (level, "preview", False)
        assert body["usage"]["total_tokens"] > 0
    assert await writes(sandboxed) == 0  # previews write nothing
    assert await field(sandboxed, "DEMO-2") == before


async def test_update_jira_writes_the_table_to_the_test_cases_field(sandboxed: SandboxedService) -> None:
    status, body = await post(sandboxed, "task", {"task_key": "DEMO-8", "coverage_level": "basic", "update_jira": True})
    assert status == 200, body
    assert (body["operation_mode"], body["updated_in_jira"], body["updated_tickets"]) == ("apply", True, ["DEMO-8"])
    tests = body["task_tests"]["DEMO-8"]
    written = await field(sandboxed, "DEMO-8")
    assert written.startswith(HEADER + "\n")
    assert len(rows(written)) == len(tests)
    first = tests[0]
    title = first["title"].replace("[", "\\[").replace("]", "\\]")  # escaped: it cannot open a link
    assert rows(written)[0].startswith(f"|{title}|{first['type']}|1. {first['steps'][0]} \\\\ 2. ")

    # The job recorded its tokens and cost; a job that wrote is not a preview to apply.
    [listed] = await sandboxed.jobs()
    job = await (await sandboxed.client.get(f"/jobs/{listed['job_id']}")).json()
    assert job["usage"]["total_tokens"] == body["usage"]["total_tokens"] > 0
    again = await sandboxed.client.post(f"/jobs/{job['job_id']}/apply", json={})
    assert again.status == 409


async def test_a_team_managed_item_gets_its_projects_own_field(sandboxed: SandboxedService) -> None:
    status, body = await post(sandboxed, "story", {"story_key": "TEAM-2", "update_jira": True})
    assert status == 200, body
    assert (await field(sandboxed, "TEAM-2", "customfield_10101")).startswith(HEADER)
    assert await field(sandboxed, "TEAM-2") is None


async def test_an_item_of_the_wrong_type_is_a_422_naming_the_field_and_type(sandboxed: SandboxedService) -> None:
    cases = [
        ("comprehensive", {"epic_key": "DEMO-2"}, "epic_key DEMO-2 is a Story, not an Epic"),
        ("story", {"story_key": "DEMO-8"}, "story_key DEMO-8 is a Task, not a Story"),
        ("task", {"task_key": "DEMO-1"}, "task_key DEMO-1 is an Epic, not a Task or Sub-task"),
        ("task", {"task_key": "DEMO-10"}, "task_key DEMO-10 is a Bug, not a Task or Sub-task"),
    ]
    for route, body, detail in cases:
        status, answer = await post(sandboxed, route, body)
        assert status == 422, answer
        assert detail in answer["detail"]
    status, answer = await post(sandboxed, "story", {"story_key": "DEMO-2", "coverage_level": "exhaustive"})
    assert status == 422 and answer["detail"][0]["loc"] == ["body", "coverage_level"]
    # Refused before any LLM call.
    assert all(provider["requests"] == 0 for provider in (await sandboxed.llm_stats()).values())


async def test_comprehensive_covers_every_story_and_task_and_a_preview_applies_later(
    sandboxed: SandboxedService,
) -> None:
    status, body = await post(sandboxed, "comprehensive", {"epic_key": "DEMO-1", "coverage_level": "minimal"})
    assert status == 200, body
    assert sorted(body["story_tests"]) == [f"DEMO-{n}" for n in range(2, 8)]
    assert sorted(body["task_tests"]) == ["DEMO-8"]
    counts = [len(tests) for tests in (body["story_tests"] | body["task_tests"]).values()]
    assert all(1 <= count <= 2 for count in counts) and body["total_test_cases"] == sum(counts)
    assert body["warnings"] == [] and await writes(sandboxed) == 0

    [listed] = await sandboxed.jobs()
    job = await (await sandboxed.client.get(f"/jobs/{listed['job_id']}")).json()
    assert job["ticket_keys"] == ["DEMO-1"] and len(job["plan"]) == 7
    response = await sandboxed.client.post(f"/jobs/{job['job_id']}/apply", json={})
    assert response.status == 200, await response.text()
    assert (await response.json())["outcome"] == "applied"
    for key, tests in (body["story_tests"] | body["task_tests"]).items():
        written = await field(sandboxed, key)
        assert written.startswith(HEADER) and len(rows(written)) == len(tests), key


async def test_async_mode_answers_at_once_and_the_job_holds_the_result(sandboxed: SandboxedService) -> None:
    status, body = await post(sandboxed, "story", {"story_key": "demo-3", "async_mode": True})
    assert status == 202, body
    assert body["message"] == "Test generation for DEMO-3 queued"
    job = await wait_for_job(sandboxed.client, body["job_id"], finished)
    assert job["status"] == "completed", job
    assert job["job_type"] == "test_generation" and job["ticket_keys"] == ["DEMO-3"]
    assert 3 <= job["result"]["total_test_cases"] <= 6
    assert job["usage"]["total_tokens"] > 0


async def test_the_tests_comment_command_previews_tables_with_the_apply_line(sandboxed: SandboxedService) -> None:
    await sandboxed.subscribe()
    await sandboxed.comment("DEMO-4", "/augment tests basic")
    found = await sandboxed.wait_for_comment("DEMO-4", "basic test cases for DEMO-4", count=2)
    preview = next(body for body in found if "Preview:" in body)
    assert "*DEMO-4*\n" + HEADER in preview
    assert 2 <= len(rows(preview)) <= 4
    job_id = APPLY.search(preview).group(1)  # type: ignore[union-attr]
    assert await field(sandboxed, "DEMO-4") is None

    await sandboxed.comment("DEMO-4", f"/augment apply {job_id}")
    await sandboxed.wait_for_comment("DEMO-4", "Writing the plan of job")
    await eventually(lambda: written(sandboxed, "DEMO-4"), "the Test Cases field of DEMO-4 is written")

    await sandboxed.comment("DEMO-4", "/augment tests everything")
    await sandboxed.wait_for_comment("DEMO-4", "is not one of minimal, basic, standard, comprehensive")
