"""`augment teams import|list|export` as a separate process against a running API."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import yaml
from aiohttp.test_utils import TestClient

DEMO_TEAMS = Path(__file__).resolve().parent.parent / "sandbox" / "data" / "teams.yaml"
KIM = "712020:9a8b7c6d-5e4f-4a3b-2c1d-000000000004"


async def augment_teams(client: TestClient, *args: str) -> tuple[int, str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AUGMENT_")}
    env["AUGMENT_URL"] = str(client.make_url("")).rstrip("/")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "teams", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, stdout.decode(), stderr.decode()


async def test_the_demo_team_imports_lists_and_exports(client: TestClient, tmp_path: Path) -> None:
    code, out, err = await augment_teams(client, "import", str(DEMO_TEAMS))
    assert (code, err) == (0, "")
    assert "team demo: created" in out
    assert "1 of 1 teams imported (1 created, 0 replaced, 0 refused)" in out
    demo = await (await client.get("/teams/demo")).json()
    assert demo["capacity_per_skill"] == {"Backend": 8.0, "Frontend": 6.0, "QA": 7.5}

    code, out, _ = await augment_teams(client, "list")
    assert code == 0
    assert "demo" in out and "Backend 8, Frontend 6, QA 7.5 (total 21.5)" in out

    # What export prints, import reads back: the team is replaced by itself.
    code, out, _ = await augment_teams(client, "export")
    assert code == 0
    assert yaml.safe_load(out)["teams"][0]["members"] == demo["members"]
    exported = tmp_path / "exported.yaml"
    exported.write_text(out)
    code, out, err = await augment_teams(client, "import", str(exported))
    assert (code, err) == (0, "")
    assert "(0 created, 1 replaced, 0 refused)" in out
    assert (await (await client.get("/teams/demo")).json())["members"] == demo["members"]


async def test_an_invalid_team_is_named_with_its_field_and_exits_1(client: TestClient, tmp_path: Path) -> None:
    teams = {
        "teams": [
            {"name": "Good Team", "members": [{"name": "Kim", "account_id": KIM, "skill": "qa",
                                               "capacity_days_per_sprint": 4}]},
            {"id": "designers", "name": "Designers", "members": [{"name": "Kim", "account_id": KIM,
                                                                  "skill": "Design", "capacity_days_per_sprint": 4}]},
            {"id": "lazy", "name": "Lazy", "default_sprint_days": 0},
            "just a string",
        ]
    }  # fmt: skip
    path = tmp_path / "teams.yaml"
    path.write_text(yaml.safe_dump(teams))
    code, out, err = await augment_teams(client, "import", str(path))
    assert code == 1
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines == [
        "team designers: members[0].skill: skill 'Design' is not one of the configured skills: "
        "Backend, Frontend, QA, DevOps, Fullstack",
        "team lazy: default_sprint_days: Input should be greater than or equal to 1",
        "team #4: a team is a mapping (id, name, default_sprint_days, members)",
    ]
    assert "1 of 4 teams imported (1 created, 0 replaced, 3 refused)" in out
    # The valid team was imported; the refused ones were not.
    listing = await (await client.get("/teams")).json()
    assert [team["id"] for team in listing["teams"]] == ["good-team"]


async def test_a_file_that_is_not_a_team_file_is_one_line(client: TestClient, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("teams: [unclosed\n")
    code, _, err = await augment_teams(client, "import", str(broken))
    assert code == 1
    assert err.startswith(f"{broken}: not valid YAML:") and "Traceback" not in err

    other = tmp_path / "other.yaml"
    other.write_text("people: []\n")
    code, _, err = await augment_teams(client, "import", str(other))
    assert (code, err.strip()) == (1, f"{other}: expected a mapping with a `teams` list (see sandbox/data/teams.yaml)")

    code, _, err = await augment_teams(client, "import", str(tmp_path / "missing.yaml"))
    assert (code, err.strip()) == (1, f"{tmp_path / 'missing.yaml'}: No such file or directory")
