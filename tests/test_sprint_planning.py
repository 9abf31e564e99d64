"""`POST /sprint/plan/epic` against the sandbox's agile API: the guide's shape, capacity never
exceeded (in total and per skill of a team), blockers in earlier sprints, the active sprint's
work counted and never moved, closed sprints unused, future sprints filled before new ones
named after the board's pattern, estimates from story points or a default with a warning, a
dependency cycle as a 422, and writing: dry_run false, async mode, and applying a preview once.

Each test makes its own board state: the demo's active sprint is closed and a sprint of known
work is started in its place, and a new epic gets the tasks.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.fixtures.service import SandboxedService, finished, wait_for_job

BOARD = 1
DEMO_ACTIVE, FUTURE, FUTURE_TOO = 2, 3, 4
MANDAYS, STORY_POINTS = "customfield_10053", "customfield_10016"
TEAM_MANDAYS = "customfield_10102"  # the team-managed project TEAM's own Mandays field
GUIDE_KEYS = {
    "epic_key",
    "board_id",
    "success",
    "assignments",
    "sprints_created",
    "total_tasks",
    "total_sprints",
    "capacity_utilization",
    "errors",
    "warnings",
}


async def new_issue(
    sandboxed: SandboxedService,
    summary: str,
    *,
    parent: str | None = None,
    issue_type: str = "Task",
    mandays: float | None = None,
    points: float | None = None,
    labels: tuple[str, ...] = (),
) -> str:
    fields: dict[str, Any] = {"project": {"key": "DEMO"}, "issuetype": {"name": issue_type}, "summary": summary}
    fields |= {"parent": {"key": parent}} if parent else {}
    fields |= {MANDAYS: mandays} if mandays is not None else {}
    fields |= {STORY_POINTS: points} if points is not None else {}
    fields |= {"labels": list(labels)} if labels else {}
    made = await sandboxed.jira("POST", "/rest/api/2/issue", json={"fields": fields})
    return str(made["key"])


async def new_epic(sandboxed: SandboxedService, tasks: list[float], label: str = "Backend") -> tuple[str, list[str]]:
    """An epic with one task per estimate (in man-days), ranked in the order given."""
    epic = await new_issue(sandboxed, "Planning epic", issue_type="Epic")
    keys = [
        await new_issue(sandboxed, f"Task {n}", parent=epic, mandays=days, labels=(label,))
        for n, days in enumerate(tasks)
    ]
    return epic, keys


async def blocks(sandboxed: SandboxedService, blocker: str, blocked: str) -> None:
    link = {"type": {"name": "Blocks"}, "inwardIssue": {"key": blocker}, "outwardIssue": {"key": blocked}}
    await sandboxed.jira("POST", "/rest/api/2/issueLink", json=link)


async def active_sprint(sandboxed: SandboxedService, work_days: list[float], keys: tuple[str, ...] = ()) -> int:
    """Close the demo's active sprint and start one holding issues of `work_days` man-days (and `keys`)."""
    await sandboxed.jira("POST", f"/rest/agile/1.0/sprint/{DEMO_ACTIVE}", json={"state": "closed"})
    today = date.today()
    made = await sandboxed.jira("POST", "/rest/agile/1.0/sprint", json={"name": "Current work", "originBoardId": BOARD})
    work = [await new_issue(sandboxed, f"Existing {n}", mandays=days) for n, days in enumerate(work_days)]
    if work or keys:
        await sandboxed.jira("POST", f"/rest/agile/1.0/sprint/{made['id']}/issue", json={"issues": [*work, *keys]})
    dates = {"startDate": f"{today}T09:00:00.000Z", "endDate": f"{today + timedelta(days=13)}T17:00:00.000Z"}
    await sandboxed.jira("POST", f"/rest/agile/1.0/sprint/{made['id']}", json={"state": "active"} | dates)
    return int(made["id"])


async def keys_in(sandboxed: SandboxedService, sprint_id: int) -> set[str]:
    page = await sandboxed.jira("GET", f"/rest/agile/1.0/sprint/{sprint_id}/issue?maxResults=5000&fields=key")
    return {issue["key"] for issue in page["issues"]}


async def plan(sandboxed: SandboxedService, body: dict[str, Any]) -> tuple[int, Any]:
    response = await sandboxed.client.post("/sprint/plan/epic", json={"board_id": BOARD} | body)
    return response.status, await response.json()


def sprint_of(answer: dict[str, Any]) -> dict[str, str]:
    return {line["task_key"]: line["sprint_name"] for line in answer["assignments"]}


def load(answer: dict[str, Any]) -> dict[str, float]:
    days: dict[str, float] = {}
    for line in answer["assignments"]:
        days[line["sprint_name"]] = days.get(line["sprint_name"], 0) + line["estimated_days"]
    return days


async def test_a_preview_answers_the_guides_shape_with_the_optimal_plan_in_the_future_sprints(
    sandboxed: SandboxedService,
) -> None:
    await active_sprint(sandboxed, [10])  # full at 10 days
    # First-fit-decreasing needs 3 sprints for these at 10 days each; 2 suffice.
    epic, keys = await new_epic(sandboxed, [4, 4, 3, 3, 3, 3])
    status, answer = await plan(
        sandboxed, {"epic_key": epic, "sprint_capacity_days": 10, "team_id": None, "auto_create_sprints": True}
    )
    assert status == 200, answer
    assert set(answer) >= GUIDE_KEYS and answer["success"] is True and answer["epic_key"] == epic
    assert answer["total_tasks"] == 6 and answer["total_sprints"] == 2
    assert set(sprint_of(answer).values()) == {"DEMO Sprint 3", "DEMO Sprint 4"}  # future before new
    assert answer["sprints_created"] == [] and answer["optimal"] is True
    assert answer["sprints_used"] == answer["lower_bound"] == 3  # the full active sprint, then the two
    assert all(days <= 10 for days in load(answer).values())
    assert {line["team"] for line in answer["assignments"]} == {"Backend"}
    assert answer["capacity_utilization"][str(FUTURE)] == 1.0
    assert answer["updated_in_jira"] is False and "timeline" in answer
    assert not (await keys_in(sandboxed, FUTURE) | await keys_in(sandboxed, FUTURE_TOO)) & set(keys)  # a preview


async def test_blockers_come_first_and_new_sprints_follow_the_boards_names_and_dates(
    sandboxed: SandboxedService,
) -> None:
    await active_sprint(sandboxed, [10])
    epic, keys = await new_epic(sandboxed, [1, 1, 1, 1])
    for blocker, blocked in zip(keys, keys[1:], strict=False):
        await blocks(sandboxed, blocker, blocked)
    outside = await new_issue(sandboxed, "Elsewhere")
    await blocks(sandboxed, outside, keys[0])
    status, answer = await plan(sandboxed, {"epic_key": epic, "auto_create_sprints": True})
    assert status == 200, answer
    assert [sprint_of(answer)[key] for key in keys] == [
        "DEMO Sprint 3",
        "DEMO Sprint 4",
        "DEMO Sprint 5",
        "DEMO Sprint 6",
    ]
    created = answer["sprints_created"]
    assert [sprint["name"] for sprint in created] == ["DEMO Sprint 5", "DEMO Sprint 6"]
    first, second = (date.fromisoformat(sprint["start_date"]) for sprint in created)
    assert second == date.fromisoformat(created[0]["end_date"]) + timedelta(days=1) and second - first == timedelta(14)
    assert any(outside in warning and keys[0] in warning for warning in answer["warnings"])
    # Without new sprints the board's two future sprints cannot hold a chain of four.
    status, refused = await plan(sandboxed, {"epic_key": epic})
    assert status == 422 and "auto_create_sprints" in refused["detail"]


async def test_the_active_sprints_work_counts_and_stays_and_closed_sprints_are_unused(
    sandboxed: SandboxedService,
) -> None:
    epic = await new_issue(sandboxed, "Planning epic", issue_type="Epic")
    staying = await new_issue(sandboxed, "Under way", parent=epic, mandays=1)
    active = await active_sprint(sandboxed, [8], (staying,))  # 9 of 10 days taken
    big = await new_issue(sandboxed, "Big", parent=epic, mandays=2)
    small = await new_issue(sandboxed, "Small", parent=epic, mandays=1)
    status, answer = await plan(sandboxed, {"epic_key": epic, "sprint_capacity_days": 10})
    assert status == 200, answer
    assert sprint_of(answer) == {big: "DEMO Sprint 3", small: "Current work"}
    assert answer["capacity_utilization"][str(active)] == 1.0
    assert staying not in sprint_of(answer) and answer["total_tasks"] == 2
    assert not {"DEMO Sprint 1", "DEMO Sprint 2"} & set(sprint_of(answer).values())


async def test_a_team_gives_capacity_per_skill_and_story_points_or_a_default_give_estimates(
    sandboxed: SandboxedService,
) -> None:
    members = [
        {"name": "Sam", "account_id": "sam-1", "skill": "Backend", "capacity_days_per_sprint": 5},
        {"name": "Alex", "account_id": "alex-1", "skill": "Frontend", "capacity_days_per_sprint": 3},
    ]
    response = await sandboxed.client.post("/teams", json={"id": "7", "name": "Seven", "members": members})
    assert response.status == 201, await response.text()
    await active_sprint(sandboxed, [8])  # full: 8 of the team's 8 days
    epic = await new_issue(sandboxed, "Planning epic", issue_type="Epic")
    back = await new_issue(sandboxed, "API", parent=epic, mandays=4, labels=("backend",))
    points = await new_issue(sandboxed, "Schema", parent=epic, points=3, labels=("Backend",))
    front = await new_issue(sandboxed, "Page", parent=epic, mandays=3, labels=("Frontend",))
    guess = await new_issue(sandboxed, "Button", parent=epic, labels=("Frontend",))
    nobody = await new_issue(sandboxed, "Unowned", parent=epic, mandays=1)
    status, answer = await plan(sandboxed, {"epic_key": epic, "team_id": 7, "auto_create_sprints": True})
    assert status == 200, answer
    lines = {line["task_key"]: line for line in answer["assignments"]}
    assert set(lines) == {back, points, front, guess}
    assert lines[points]["estimated_days"] == 3 and lines[guess]["estimated_days"] == 1
    assert lines[back]["sprint_name"] != lines[points]["sprint_name"]  # 4 + 3 Backend days > 5
    assert lines[front]["sprint_name"] != lines[guess]["sprint_name"]  # 3 + 1 Frontend days > 3
    assert any(guess in warning and "estimated at 1 days" in warning for warning in answer["warnings"])
    assert [error for error in answer["errors"] if nobody in error and "no skill" in error]
    status, refused = await plan(sandboxed, {"epic_key": epic, "team_id": "nobody"})
    assert status == 422 and refused["detail"][0]["loc"] == ["body", "team_id"]


async def test_a_dependency_cycle_is_a_422_naming_its_tickets(sandboxed: SandboxedService) -> None:
    epic, keys = await new_epic(sandboxed, [1, 1, 1])
    await blocks(sandboxed, keys[0], keys[1])
    await blocks(sandboxed, keys[1], keys[2])
    await blocks(sandboxed, keys[2], keys[0])
    status, answer = await plan(sandboxed, {"epic_key": epic, "auto_create_sprints": True})
    assert status == 422, answer
    assert "cycle" in answer["detail"] and all(key in answer["detail"] for key in keys)


async def test_dry_run_false_creates_the_sprints_and_moves_the_issues_in_async_mode(
    sandboxed: SandboxedService,
) -> None:
    await active_sprint(sandboxed, [10])
    epic, keys = await new_epic(sandboxed, [6, 6, 6])
    status, queued = await plan(
        sandboxed, {"epic_key": epic, "auto_create_sprints": True, "dry_run": False, "async_mode": True}
    )
    assert status == 202, queued
    assert queued["update_jira"] is True and queued["message"] == f"Sprint planning for epic {epic} queued"
    job = await wait_for_job(sandboxed.client, queued["job_id"], finished, timeout=60)
    assert job["status"] == "completed", job
    answer = job["result"]
    [created] = answer["sprints_created"]
    assert created["name"] == "DEMO Sprint 5" and created["sprint_id"] is not None
    assert answer["updated_in_jira"] is True
    assert await keys_in(sandboxed, FUTURE) >= {keys[0]} and await keys_in(sandboxed, FUTURE_TOO) >= {keys[1]}
    assert await keys_in(sandboxed, created["sprint_id"]) == {keys[2]}
    sprint = await sandboxed.jira("GET", f"/rest/agile/1.0/sprint/{created['sprint_id']}")
    assert sprint["state"] == "future" and sprint["startDate"].startswith(created["start_date"])


async def test_a_preview_is_applied_once(sandboxed: SandboxedService) -> None:
    await active_sprint(sandboxed, [10])
    epic, keys = await new_epic(sandboxed, [6, 6, 6])
    status, preview = await plan(sandboxed, {"epic_key": epic, "auto_create_sprints": True})
    assert status == 200, preview
    job = (await (await sandboxed.client.get(f"/jobs/ticket/{epic}")).json())["job_id"]
    response = await sandboxed.client.post(f"/jobs/{job}/apply")
    applied = await response.json()
    assert response.status == 200 and applied["outcome"] == "applied", applied
    [made] = [
        s
        for s in (await sandboxed.jira("GET", f"/rest/agile/1.0/board/{BOARD}/sprint"))["values"]
        if s["name"] == "DEMO Sprint 5"
    ]
    assert await keys_in(sandboxed, made["id"]) == {keys[2]}
    response = await sandboxed.client.post(f"/jobs/{job}/apply")
    assert response.status == 409 and "already applied" in (await response.json())["detail"]
    assert response.headers["X-Applied-By"]
    [again] = [
        s
        for s in (await sandboxed.jira("GET", f"/rest/agile/1.0/board/{BOARD}/sprint"))["values"]
        if s["name"] == "DEMO Sprint 5"
    ]
    assert again["id"] == made["id"]


async def test_a_task_blocked_by_one_fixed_in_the_active_sprint_goes_to_a_later_sprint(
    sandboxed: SandboxedService,
) -> None:
    epic, (blocker, blocked) = await new_epic(sandboxed, [1, 1])
    await blocks(sandboxed, blocker, blocked)
    active = await active_sprint(sandboxed, [], (blocker,))  # 1 of 10 days taken: room for the dependant
    status, answer = await plan(sandboxed, {"epic_key": epic, "sprint_capacity_days": 10})
    assert status == 200, answer
    assert sprint_of(answer) == {blocked: "DEMO Sprint 3"}
    assert answer["capacity_utilization"][str(active)] == 0.1  # the blocker stays, the dependant does not join it


async def test_the_demo_epic_is_planned_in_rank_order_not_key_order(sandboxed: SandboxedService) -> None:
    # DEMO-16 is ranked above DEMO-13 (both 3 days, both blocked by DEMO-12). The other tasks
    # stay in the active sprint, so these two are left: one per future sprint at 3 days each.
    others = sorted({f"DEMO-{n}" for n in range(12, 24)} - {"DEMO-13", "DEMO-16"})
    await active_sprint(sandboxed, [], tuple(others))
    status, answer = await plan(sandboxed, {"epic_key": "DEMO-11", "sprint_capacity_days": 3})
    assert status == 200, answer
    assert sprint_of(answer) == {"DEMO-16": "DEMO Sprint 3", "DEMO-13": "DEMO Sprint 4"}
    assert not [warning for warning in answer["warnings"] if "Rank" in warning]


async def test_a_team_managed_projects_tasks_are_estimated_from_its_own_mandays_field(
    sandboxed: SandboxedService,
) -> None:
    await active_sprint(sandboxed, [10])
    fields = {"project": {"key": "TEAM"}, "issuetype": {"name": "Task"}, "summary": "Export the audit log"}
    made = await sandboxed.jira(
        "POST", "/rest/api/2/issue", json={"fields": fields | {"parent": {"key": "TEAM-1"}, TEAM_MANDAYS: 4}}
    )
    status, answer = await plan(sandboxed, {"epic_key": "TEAM-1", "sprint_capacity_days": 10})
    assert status == 200, answer
    [line] = [line for line in answer["assignments"] if line["task_key"] == made["key"]]
    assert line["estimated_days"] == 4
    assert not [warning for warning in answer["warnings"] if made["key"] in warning]
