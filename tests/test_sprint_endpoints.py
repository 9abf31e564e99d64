"""The sprint endpoints against the sandbox Jira: lists past Jira's 50-per-page, one sprint,
its issues, creating and changing sprints under Jira's state rules (each broken rule a 422
saying which), 404s, and assigning issues: preview vs write, 50 per call, a closed sprint,
an issue held by another job."""

from __future__ import annotations

from typing import Any

from tests.fixtures.service import SandboxedService, finished, wait_for_job

MOVE_ROUTE = "POST /rest/agile/1.0/sprint/{sprint_id}/issue"
BOARD = 1
CLOSED, ACTIVE, FUTURE, FUTURE_TOO = 1, 2, 3, 4


async def call(sandboxed: SandboxedService, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    response = await sandboxed.client.request(method, path, json=body)
    return response.status, await response.json()


async def new_issues(sandboxed: SandboxedService, count: int) -> list[str]:
    """`count` new Tasks in DEMO, made through the sandbox's REST API."""

    async def one(number: int) -> str:
        fields = {"project": {"key": "DEMO"}, "issuetype": {"name": "Task"}, "summary": f"Sprint task {number}"}
        made = await sandboxed.jira("POST", "/rest/api/2/issue", json={"fields": fields})
        return str(made["key"])

    return [await one(number) for number in range(count)]


async def keys_in(sandboxed: SandboxedService, sprint_id: int) -> set[str]:
    page = await sandboxed.jira("GET", f"/rest/agile/1.0/sprint/{sprint_id}/issue?maxResults=5000&fields=key")
    return {issue["key"] for issue in page["issues"]}


def detail_of(body: Any) -> tuple[list[Any], str]:
    [error] = body["detail"]
    return error["loc"], error["msg"]


async def test_the_board_lists_its_sprints_in_the_guides_shape_filtered_by_state(sandboxed: SandboxedService) -> None:
    status, sprints = await call(sandboxed, "GET", f"/sprint/board/{BOARD}/sprints")
    assert status == 200, sprints
    assert [s["id"] for s in sprints] == [CLOSED, ACTIVE, FUTURE, FUTURE_TOO]
    active = sprints[1]
    assert set(active) == {"id", "name", "state", "start_date", "end_date", "board_id", "goal"}
    assert active["state"] == "active" and active["board_id"] == BOARD and active["goal"] == "Scheduled exports"
    assert len(active["start_date"]) == 10 and active["start_date"] < active["end_date"]  # dates, not times
    status, found = await call(sandboxed, "GET", f"/sprint/board/{BOARD}/sprints?state=active")
    assert [s["id"] for s in found] == [ACTIVE]
    status, found = await call(sandboxed, "GET", f"/sprint/board/{BOARD}/sprints?state=future,active")
    assert [s["id"] for s in found] == [ACTIVE, FUTURE, FUTURE_TOO]
    status, body = await call(sandboxed, "GET", f"/sprint/board/{BOARD}/sprints?state=done")
    assert status == 422 and body["detail"][0]["loc"] == ["query", "state"]


async def test_a_board_with_sixty_sprints_lists_every_page(sandboxed: SandboxedService) -> None:
    for number in range(60):
        await sandboxed.jira("POST", "/rest/agile/1.0/sprint", json={"name": f"Extra {number}", "originBoardId": BOARD})
    status, sprints = await call(sandboxed, "GET", f"/sprint/board/{BOARD}/sprints?state=future")
    assert status == 200
    assert len(sprints) == 62
    assert {s["name"] for s in sprints} >= {f"Extra {number}" for number in range(60)}


async def test_one_sprint_and_the_unknown_ones(sandboxed: SandboxedService) -> None:
    status, sprint = await call(sandboxed, "GET", f"/sprint/{ACTIVE}")
    assert status == 200 and sprint["id"] == ACTIVE and sprint["state"] == "active"
    status, body = await call(sandboxed, "GET", "/sprint/999")
    assert status == 404 and body["detail"] == "Sprint 999 not found in Jira"
    status, body = await call(sandboxed, "GET", "/sprint/999/issues")
    assert status == 404
    status, body = await call(sandboxed, "GET", "/sprint/board/77/sprints")
    assert status == 404 and body["detail"] == "Board 77 not found in Jira"
    status, body = await call(sandboxed, "GET", "/sprint/abc")
    assert status == 422 and body["detail"][0]["loc"] == ["path", "sprint_id"]


async def test_a_sprints_issues_are_listed_past_fifty_with_their_estimates(sandboxed: SandboxedService) -> None:
    keys = await new_issues(sandboxed, 60)
    for start in (0, 50):
        await sandboxed.jira(
            "POST", f"/rest/agile/1.0/sprint/{FUTURE}/issue", json={"issues": keys[start : start + 50]}
        )
    await sandboxed.jira("PUT", f"/rest/api/2/issue/{keys[0]}", json={"fields": {"customfield_10053": 2.5}})
    status, body = await call(sandboxed, "GET", f"/sprint/{FUTURE}/issues")
    assert status == 200, body
    assert body["sprint_id"] == FUTURE and body["total_issues"] == 60
    assert {issue["key"] for issue in body["issues"]} == set(keys)
    first = next(issue for issue in body["issues"] if issue["key"] == keys[0])
    assert first == {
        "key": keys[0],
        "summary": "Sprint task 0",
        "status": "To Do",
        "type": "Task",
        "assignee": None,
        "estimate": 2.5,
    }


async def test_create_writes_a_future_sprint_at_once(sandboxed: SandboxedService) -> None:
    body = {"name": "Sprint 9", "board_id": BOARD, "start_date": "2030-01-15", "end_date": "2030-01-29", "goal": "Ship"}
    status, made = await call(sandboxed, "POST", "/sprint/create", body)
    assert status == 201, made
    assert made | {"id": 0} == {"id": 0, "state": "future", "board_id": BOARD} | {
        key: body[key] for key in ("name", "start_date", "end_date", "goal")
    }
    held = await sandboxed.jira("GET", f"/rest/agile/1.0/sprint/{made['id']}")
    assert held["name"] == "Sprint 9" and held["state"] == "future" and held["startDate"].startswith("2030-01-15")


async def test_create_refuses_an_end_before_the_start_and_an_unknown_board(sandboxed: SandboxedService) -> None:
    body = {"name": "Backwards", "board_id": BOARD, "start_date": "2030-01-15", "end_date": "2030-01-01"}
    status, answer = await call(sandboxed, "POST", "/sprint/create", body)
    assert status == 422
    loc, message = detail_of(answer)
    assert loc == ["body", "end_date"] and "before start_date" in message
    status, answer = await call(sandboxed, "POST", "/sprint/create", {"name": "Lost", "board_id": 77})
    assert status == 404 and answer["detail"] == "Board 77 not found in Jira"
    sprints = await sandboxed.jira("GET", f"/rest/agile/1.0/board/{BOARD}/sprint")
    assert {s["name"] for s in sprints["values"]}.isdisjoint({"Backwards", "Lost"})


async def test_each_broken_state_rule_is_a_422_that_says_which(sandboxed: SandboxedService) -> None:
    cases = [
        (
            FUTURE,
            {"state": "active"},
            ["body", "start_date"],
            "a future sprint starts only with start_date and end_date",
        ),
        (FUTURE, {"state": "closed"}, ["body", "state"], "a future sprint can only be started (active), not closed"),
        (ACTIVE, {"state": "future"}, ["body", "state"], "an active sprint can only be closed"),
        (CLOSED, {"name": "Renamed"}, ["path", "sprint_id"], "sprint 1 is closed: a closed sprint cannot be changed"),
        (FUTURE, {"start_date": "2030-02-01", "end_date": "2030-01-01"}, ["body", "end_date"], "is before start_date"),
    ]
    before = await sandboxed.jira("GET", f"/rest/agile/1.0/board/{BOARD}/sprint")
    for sprint_id, body, loc, message in cases:
        status, answer = await call(sandboxed, "PUT", f"/sprint/{sprint_id}", body)
        assert status == 422, (body, answer)
        assert detail_of(answer)[0] == loc and message in detail_of(answer)[1], answer
    assert await sandboxed.jira("GET", f"/rest/agile/1.0/board/{BOARD}/sprint") == before


async def test_update_renames_closes_and_starts_and_says_what_jira_still_refuses(sandboxed: SandboxedService) -> None:
    status, renamed = await call(sandboxed, "PUT", f"/sprint/{FUTURE}", {"name": "Renamed sprint"})
    assert status == 200 and renamed["name"] == "Renamed sprint" and renamed["state"] == "future"
    dates = {"state": "active", "start_date": "2030-03-01", "end_date": "2030-03-14"}
    status, answer = await call(sandboxed, "PUT", f"/sprint/{FUTURE}", dates)
    assert status == 422  # Jira's words, not a raw 400
    assert detail_of(answer)[0] == ["body", "state"] and "another sprint is already active" in detail_of(answer)[1]
    status, closed = await call(sandboxed, "PUT", f"/sprint/{ACTIVE}", {"state": "closed"})
    assert status == 200 and closed["state"] == "closed"
    status, started = await call(sandboxed, "PUT", f"/sprint/{FUTURE}", dates)
    assert status == 200, started
    assert (started["state"], started["start_date"], started["end_date"]) == ("active", "2030-03-01", "2030-03-14")
    assert started["name"] == "Renamed sprint"  # a partial update keeps what was not given
    held = await sandboxed.jira("GET", f"/rest/agile/1.0/sprint/{FUTURE}")
    assert held["state"] == "active"


async def test_assign_previews_by_default_and_moves_nothing(sandboxed: SandboxedService) -> None:
    in_sprint = sorted(await keys_in(sandboxed, ACTIVE))
    status, body = await call(sandboxed, "POST", f"/sprint/{ACTIVE}/assign", {"issue_keys": ["DEMO-5", in_sprint[0]]})
    assert status == 200, body
    assert body["assigned_in_jira"] is False and body["success"] is True
    assert body["message"] == "Preview: Tickets would be assigned. Set dry_run=false to commit."
    assert body["issue_keys"] == ["DEMO-5", in_sprint[0]] and body["already_in_sprint"] == [in_sprint[0]]
    assert sorted(await keys_in(sandboxed, ACTIVE)) == in_sprint
    assert await sandboxed.jobs() == []


async def test_assign_moves_the_issues_fifty_per_call(sandboxed: SandboxedService) -> None:
    keys = await new_issues(sandboxed, 120)
    before = (await sandboxed.jira_requests())["by_route"].get(MOVE_ROUTE, 0)
    status, body = await call(sandboxed, "POST", f"/sprint/{FUTURE}/assign", {"issue_keys": keys, "dry_run": False})
    assert status == 200, body
    assert body["assigned_in_jira"] is True and sorted(body["moved"]) == sorted(keys)
    assert [len(chunk["issue_keys"]) for chunk in body["chunks"]] == [50, 50, 20]
    assert (await sandboxed.jira_requests())["by_route"][MOVE_ROUTE] - before == 3
    assert await keys_in(sandboxed, FUTURE) == set(keys)


async def test_assign_of_issues_already_there_moves_only_the_others(sandboxed: SandboxedService) -> None:
    there = sorted(await keys_in(sandboxed, ACTIVE))
    status, body = await call(
        sandboxed, "POST", f"/sprint/{ACTIVE}/assign", {"issue_keys": [*there, "DEMO-5"], "dry_run": False}
    )
    assert status == 200, body
    assert body["already_in_sprint"] == there and body["moved"] == ["DEMO-5"]
    assert await keys_in(sandboxed, ACTIVE) == {*there, "DEMO-5"}


async def test_assign_refuses_a_closed_sprint_an_unknown_one_and_bad_keys(sandboxed: SandboxedService) -> None:
    status, body = await call(
        sandboxed, "POST", f"/sprint/{CLOSED}/assign", {"issue_keys": ["DEMO-5"], "dry_run": False}
    )
    assert status == 422 and "is closed" in detail_of(body)[1]
    status, body = await call(sandboxed, "POST", "/sprint/999/assign", {"issue_keys": ["DEMO-5"]})
    assert status == 404
    status, body = await call(sandboxed, "POST", f"/sprint/{ACTIVE}/assign", {"issue_keys": ["DEMO-5", "demo-5"]})
    assert status == 422 and body["detail"][0]["loc"] == ["body", "issue_keys"]
    status, body = await call(sandboxed, "POST", f"/sprint/{ACTIVE}/assign", {"issue_keys": []})
    assert status == 422
    status, body = await call(sandboxed, "POST", f"/sprint/{ACTIVE}/assign", {"issue_keys": ["DEMO-5"], "sprint_id": 3})
    assert status == 422 and detail_of(body)[0] == ["body", "sprint_id"]
    assert "DEMO-5" not in await keys_in(sandboxed, CLOSED)


async def test_an_issue_held_by_a_running_assign_answers_409(sandboxed: SandboxedService) -> None:
    keys = await new_issues(sandboxed, 3)
    await sandboxed.jira("PUT", "/_sandbox/faults", json={"latency_ms": 400})
    status, body = await call(
        sandboxed, "POST", f"/sprint/{FUTURE}/assign", {"issue_keys": keys, "dry_run": False, "async_mode": True}
    )
    assert status == 202, body
    response = await sandboxed.client.post(
        f"/sprint/{FUTURE_TOO}/assign", json={"issue_keys": [keys[1]], "dry_run": False}
    )
    assert response.status == 409, await response.text()
    assert response.headers["X-Active-Job-Id"] == body["job_id"]
    await sandboxed.jira("PUT", "/_sandbox/faults", json={"latency_ms": 0})
    job = await wait_for_job(sandboxed.client, body["job_id"], finished, timeout=60)
    assert job["status"] == "completed", job
    assert await keys_in(sandboxed, FUTURE) >= set(keys)
