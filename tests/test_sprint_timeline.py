"""`POST /sprint/timeline`: tasks on working days inside their sprints, blockers ending before
their dependants start, and the completion date; and the kill test of the planners' apply: a
worker SIGKILLed while it writes a plan (Jira slowed by a latency fault) is restarted, and no
sprint is created twice and no issue moved twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from tests.fixtures.service import AugmentProcess, SandboxedService, finished, wait_for_job
from tests.fixtures.workers import (
    jira_faults,
    kill_once_jira_saw,
    route_calls,
    sandbox_admin,
    sandboxed_api,
    worker_environment,
)
from tests.test_sprint_planning import BOARD, FUTURE, active_sprint, blocks, new_epic

MOVE_ROUTE = "POST /rest/agile/1.0/sprint/{sprint_id}/issue"
CREATE_ROUTE = "POST /rest/agile/1.0/sprint"


def working_days_from(start: date, count: int) -> date:
    """The `count`-th working day (Monday to Friday) on or after `start`, counting from 0."""
    day = start
    while day.weekday() >= 5:
        day += timedelta(days=1)
    for _ in range(count):
        day += timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
    return day


async def test_the_timeline_puts_tasks_on_working_days_blockers_first(sandboxed: SandboxedService) -> None:
    active = await active_sprint(sandboxed, [10])
    epic, (first, second, other) = await new_epic(sandboxed, [2, 1, 3])
    await blocks(sandboxed, first, second)
    response = await sandboxed.client.post(
        "/sprint/timeline",
        json={"epic_key": epic, "board_id": BOARD, "team_capacity_days": 10, "same_sprint_dependencies": True},
    )
    answer = await response.json()
    assert response.status == 200, answer
    assert answer["total_tasks"] == 3 and answer["sprint_duration_days"] == 14
    current, future = answer["sprints"][0], answer["sprints"][1]
    assert current["sprint_id"] == active and current["tasks"] == [] and current["utilization_percent"] == 100
    assert future["sprint_id"] == FUTURE and future["total_estimated_days"] == 6
    # The future sprint has no dates in Jira: it follows the active one, 14 days long.
    start = date.fromisoformat(current["end_date"]) + timedelta(days=1)
    assert future["start_date"] == start.isoformat()
    assert future["end_date"] == (start + timedelta(days=13)).isoformat()
    tasks = {task["key"]: task for task in future["tasks"]}
    assert set(tasks[first]) == {"key", "summary", "skill", "start", "end", "estimate"}
    assert tasks[first]["start"] == working_days_from(start, 0).isoformat()
    assert tasks[first]["end"] == working_days_from(start, 1).isoformat()  # two days
    assert tasks[second]["start"] == working_days_from(start, 2).isoformat()  # after its blocker
    assert answer["estimated_completion_date"] == max(task["end"] for task in tasks.values())
    kept = answer["timeline"]
    assert kept["estimated_completion_date"] == answer["estimated_completion_date"]
    assert [sprint["sprint_id"] for sprint in kept["sprints"]] == [s["sprint_id"] for s in answer["sprints"]]
    assert {task["key"] for task in kept["sprints"][1]["tasks"]} == {first, second, other}


async def test_a_worker_killed_while_applying_a_plan_creates_no_sprint_and_moves_no_issue_twice(
    aiohttp_client: Callable[..., Any], nats_url: str, augment_processes: Callable[..., AugmentProcess]
) -> None:
    settings, api, sandbox = await sandboxed_api(aiohttp_client, nats_url)
    sandboxed = SandboxedService(api, sandbox)
    await active_sprint(sandboxed, [10])
    # 240 one-day tasks at 60 days a sprint: the two future sprints and two new ones, 60 each:
    # per sprint a move of 50 and one of 10, and two sprints to create.
    epic, keys = await new_epic(sandboxed, [1] * 240)
    moves, creates = 8, 2
    doomed = augment_processes("worker", worker_environment(settings, sandbox))
    await jira_faults(sandbox, latency_ms=300)
    response = await api.post(
        "/sprint/plan/epic",
        json={
            "epic_key": epic,
            "board_id": BOARD,
            "sprint_capacity_days": 60,
            "auto_create_sprints": True,
            "dry_run": False,
            "async_mode": True,
        },
    )
    assert response.status == 202, await response.text()
    job_id = (await response.json())["job_id"]

    # The test's own move into its active sprint was one; then three chunks of the plan.
    await kill_once_jira_saw(doomed, sandbox, MOVE_ROUTE, 4, "three chunks of the plan sent", seconds=90)
    record = await (await api.get(f"/jobs/{job_id}")).json()
    assert 1 <= len(record["applied"]) < moves + creates, record["applied"]

    await jira_faults(sandbox, latency_ms=0)
    augment_processes("worker", worker_environment(settings, sandbox))
    job = await wait_for_job(api, job_id, finished, timeout=120)
    assert job["status"] == "completed", job
    created = job["result"]["sprints_created"]
    assert [sprint["name"] for sprint in created] == ["DEMO Sprint 5", "DEMO Sprint 6"]
    board = await sandbox_admin(sandbox, "GET", f"/rest/agile/1.0/board/{BOARD}/sprint?maxResults=1000")
    names = [sprint["name"] for sprint in board["values"]]
    assert names.count("DEMO Sprint 5") == 1 and names.count("DEMO Sprint 6") == 1
    assert await route_calls(sandbox, CREATE_ROUTE) <= 1 + creates  # the test's own active sprint, then the plan's
    # Each chunk is sent once, but the one in flight at the kill may go a second time.
    assert await route_calls(sandbox, MOVE_ROUTE) <= 1 + moves + 1  # and the test's own move into its sprint
    held: set[str] = set()
    for sprint in job["result"]["timeline"]["sprints"]:
        if sprint["tasks"]:
            page = await sandbox_admin(
                sandbox, "GET", f"/rest/agile/1.0/sprint/{sprint['sprint_id']}/issue?maxResults=5000&fields=key"
            )
            held |= {issue["key"] for issue in page["issues"]}
    assert held >= set(keys)
