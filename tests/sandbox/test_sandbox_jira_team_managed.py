"""TEAM, the team-managed demo project: its own PRD Link field, scoped in GET /field and
the only PRD Link on its issues' edit screens; a sub-task under a story under an epic."""

from __future__ import annotations

import aiohttp

from sandbox import Sandbox

TEAM_PRD = "customfield_10100"


async def _get(session: aiohttp.ClientSession, path: str) -> dict | list:
    async with session.get(path) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_the_team_managed_field_is_scoped_to_its_project(jira_http: aiohttp.ClientSession) -> None:
    fields = await _get(jira_http, "/rest/api/2/field")
    prd = [field for field in fields if field["name"] == "PRD Link"]
    assert [(field["id"], field.get("scope")) for field in prd] == [
        ("customfield_10050", None),
        (TEAM_PRD, {"type": "PROJECT", "project": {"id": "10001"}}),
    ]
    project = await _get(jira_http, "/rest/api/2/project/TEAM")
    assert project["simplified"] is True and project["style"] == "next-gen"


async def test_edit_screens_show_the_projects_own_field(jira_http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    team = (await _get(jira_http, "/rest/api/2/issue/TEAM-2/editmeta"))["fields"]
    demo = (await _get(jira_http, "/rest/api/2/issue/DEMO-2/editmeta"))["fields"]
    assert team[TEAM_PRD]["name"] == "PRD Link" and sandbox.custom_fields["prd"] not in team
    assert demo[sandbox.custom_fields["prd"]]["name"] == "PRD Link" and TEAM_PRD not in demo


async def test_the_sub_task_walks_up_to_the_epic(jira_http: aiohttp.ClientSession) -> None:
    chain = []
    key: str | None = "TEAM-3"
    while key:
        issue = await _get(jira_http, f"/rest/api/2/issue/{key}?fields=issuetype,parent,{TEAM_PRD}")
        chain.append((issue["key"], issue["fields"]["issuetype"]["name"]))
        key = (issue["fields"].get("parent") or {}).get("key")
    assert chain == [("TEAM-3", "Sub-task"), ("TEAM-2", "Story"), ("TEAM-1", "Epic")]
    assert issue["fields"][TEAM_PRD].startswith("http")
