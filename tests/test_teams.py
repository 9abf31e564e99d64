"""The team member database: `/teams` against a real NATS, `/health`'s `team_member_db`, and
the capacity the sprint planner reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.teams.capacity import capacity_per_skill, member_skill
from schemas.teams import Team
from tests.fixtures.nats import NatsServer, make_settings
from tests.fixtures.service import eventually

SAM = "712020:5d2c7b8e-1a3f-4e6d-8c9b-000000000003"
KIM = "712020:9a8b7c6d-5e4f-4a3b-2c1d-000000000004"
ALEX = "712020:3f0e6a9c-5a1b-4c7d-9e2f-000000000002"
EMPTY = "empty: no teams (import with augment teams import FILE.yaml)"


def member(name: str, account_id: str, skill: str, days: float) -> dict[str, Any]:
    return {"name": name, "account_id": account_id, "skill": skill, "capacity_days_per_sprint": days}


PAYMENTS = {
    "name": "Payments Core (EU)",
    "default_sprint_days": 10,
    "members": [member("Sam", SAM, "backend", 8), member("Kim", KIM, "qa", 5), member("Alex", ALEX, "BACKEND", 4.5)],
}


async def errors(response: Any) -> list[tuple[list[Any], str]]:
    assert response.status == 422, await response.text()
    return [(item["loc"], item["msg"]) for item in (await response.json())["detail"]]


async def test_create_read_list_replace_and_delete(client: TestClient) -> None:
    created = await client.post("/teams", json=PAYMENTS)
    assert created.status == 201, await created.text()
    assert created.headers["Location"] == "/teams/payments-core-eu"
    team = await created.json()
    assert team["id"] == "payments-core-eu"
    # Skills are stored in the configured spelling, whatever the case sent.
    assert [m["skill"] for m in team["members"]] == ["Backend", "QA", "Backend"]
    assert team["capacity_per_skill"] == {"Backend": 12.5, "QA": 5.0}
    assert team["total_capacity_days"] == 17.5
    assert created.headers["ETag"] == f'"{team["revision"]}"'

    read = await client.get("/teams/payments-core-eu")
    assert read.status == 200
    assert await read.json() == team
    listing = await (await client.get("/teams")).json()
    assert (listing["total"], [t["id"] for t in listing["teams"]]) == (1, ["payments-core-eu"])

    smaller = {"name": "Payments", "default_sprint_days": 5, "members": [member("Kim", KIM, "QA", 3)]}
    replaced = await client.put("/teams/payments-core-eu", json=smaller, headers={"If-Match": created.headers["ETag"]})
    assert replaced.status == 200, await replaced.text()
    after = await replaced.json()
    assert (after["name"], after["capacity_per_skill"], after["revision"]) == (
        "Payments",
        {"QA": 3.0},
        int(replaced.headers["ETag"].strip('"')),
    )
    assert after["revision"] > team["revision"]

    # The old revision no longer matches: nothing is overwritten.
    stale = await client.put("/teams/payments-core-eu", json=PAYMENTS, headers={"If-Match": created.headers["ETag"]})
    assert stale.status == 412
    assert "is not at revision" in (await stale.json())["detail"]
    assert (await (await client.get("/teams/payments-core-eu")).json())["name"] == "Payments"

    deleted = await client.delete("/teams/payments-core-eu")
    assert deleted.status == 204
    assert (await client.get("/teams/payments-core-eu")).status == 404
    assert (await client.delete("/teams/payments-core-eu")).status == 404
    assert await (await client.get("/teams")).json() == {"teams": [], "total": 0}


async def test_an_id_is_taken_once_and_put_creates_a_missing_team(client: TestClient) -> None:
    assert (await client.post("/teams", json={"id": "core", "name": "Core"})).status == 201
    again = await client.post("/teams", json={"id": "core", "name": "Another"})
    assert again.status == 409
    assert await again.json() == {"detail": "Team core already exists"}

    put = await client.put("/teams/web", json={"name": "Web", "members": [member("Alex", ALEX, "frontend", 6)]})
    assert put.status == 201
    assert (await put.json())["default_sprint_days"] == 10
    # If-Match on a team that is not there matches nothing.
    missing = await client.put("/teams/nobody", json={"name": "Nobody"}, headers={"If-Match": '"3"'})
    assert missing.status == 412
    assert (await client.get("/teams/nobody")).status == 404


async def test_invalid_teams_are_422s_naming_the_field(client: TestClient) -> None:
    designer = {**PAYMENTS, "members": [member("Sam", SAM, "Backend", 8), member("Kim", KIM, "Designer", 5)]}
    [(loc, msg)] = await errors(await client.post("/teams", json=designer))
    assert loc == ["body", "members", 1, "skill"]
    assert msg == "skill 'Designer' is not one of the configured skills: Backend, Frontend, QA, DevOps, Fullstack"

    twice = {**PAYMENTS, "members": [member("Sam", SAM, "Backend", 8), member("Sam again", SAM, "QA", 1)]}
    [(loc, msg)] = await errors(await client.post("/teams", json=twice))
    assert loc == ["body", "members"]
    assert SAM in msg

    capacity = ["body", "members", 0, "capacity_days_per_sprint"]
    cases: list[tuple[dict[str, Any], list[Any]]] = [
        ({**PAYMENTS, "members": [member("Sam", SAM, "Backend", 0)]}, capacity),
        ({**PAYMENTS, "members": [member("Sam", SAM, "Backend", 61)]}, capacity),
        ({**PAYMENTS, "members": [member("Sam", "not an id!", "QA", 1)]}, ["body", "members", 0, "account_id"]),
        ({**PAYMENTS, "default_sprint_days": 61}, ["body", "default_sprint_days"]),
        ({**PAYMENTS, "id": "Not A Slug"}, ["body", "id"]),
        ({"name": "!!!"}, ["body", "id"]),
        ({**PAYMENTS, "members": [member("Sam", SAM, "QA", 1)] * 201}, ["body", "members"]),
        ({**PAYMENTS, "colour": "blue"}, ["body", "colour"]),
    ]
    for body, where in cases:
        assert [loc for loc, _ in await errors(await client.post("/teams", json=body))] == [where], body

    assert [loc for loc, _ in await errors(await client.get("/teams/" + "x" * 65))] == [["path", "team_id"]]
    other = await client.put("/teams/core", json={"id": "web", "name": "Web"})
    assert await errors(other) == [(["body", "id"], "the id in the body must be the path's (core) or left out")]
    assert (await client.get("/teams?limit=201")).status == 422
    assert await (await client.get("/teams")).json() == {"teams": [], "total": 0}


async def test_skills_are_the_configured_set(aiohttp_client, nats_url: str) -> None:
    settings = make_settings(nats_url, planning={"teams": ["Backend", "Mobile"]})
    client = await aiohttp_client(create_app(settings))
    team = {"id": "apps", "name": "Apps", "members": [member("Sam", SAM, "mobile", 5)]}
    created = await client.post("/teams", json=team)
    assert (await created.json())["capacity_per_skill"] == {"Mobile": 5.0}
    [(loc, msg)] = await errors(await client.put("/teams/apps", json={**team, "members": [member("K", KIM, "QA", 1)]}))
    assert msg.endswith("configured skills: Backend, Mobile")


async def test_health_tells_how_many_teams_there_are(client: TestClient) -> None:
    async def team_db() -> str:
        return str((await (await client.get("/health")).json())["services"]["team_member_db"])

    assert await team_db() == EMPTY
    await client.post("/teams", json={"name": "Core"})
    assert await team_db() == "ready (1 team)"
    await client.post("/teams", json={"name": "Web"})
    assert await team_db() == "ready (2 teams)"
    await client.delete("/teams/core")
    await client.delete("/teams/web")
    assert await team_db() == EMPTY


async def test_health_says_the_team_db_is_unavailable_without_nats(aiohttp_client, tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "own-nats")
    server.start()
    try:
        client = await aiohttp_client(create_app(make_settings(server.url)))
        assert (await client.post("/teams", json={"name": "Core"})).status == 201

        server.stop()

        async def unavailable() -> bool:
            health = await (await client.get("/health")).json()
            return health["services"]["team_member_db"] == "unavailable: NATS is disconnected"

        await eventually(unavailable, "the team database was reported unavailable")
        assert (await client.get("/teams")).status == 503
    finally:
        server.stop()


def test_capacity_per_skill_scales_with_the_sprint_and_members_are_found_by_account() -> None:
    team = Team.model_validate(
        {
            "id": "core",
            "name": "Core",
            "default_sprint_days": 10,
            "members": [
                member("Sam", SAM, "Backend", 8),
                member("Alex", ALEX, "Backend", 2),
                member("K", KIM, "QA", 5),
            ],
        }
    )
    assert capacity_per_skill(team) == {"Backend": 10.0, "QA": 5.0}
    assert capacity_per_skill(team, 5) == {"Backend": 5.0, "QA": 2.5}
    assert capacity_per_skill(team, 15) == {"Backend": 15.0, "QA": 7.5}
    assert member_skill(team, KIM) == "QA"
    assert member_skill(team, "712020:nobody") is None
