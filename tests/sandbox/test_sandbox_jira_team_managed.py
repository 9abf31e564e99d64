"""TEAM, the team-managed demo project: its own PRD Link, Test Cases and Mandays fields,
scoped in GET /field and the only ones of those names on its create and edit screens; a
field off a project's screens cannot be set; a sub-task under a story under an epic."""

from __future__ import annotations

import aiohttp

from sandbox import Sandbox

TEAM_PRD = "customfield_10100"
TEAM_TEST_CASES = "customfield_10101"
TEAM_MANDAYS = "customfield_10102"


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
    scoped = [(field["id"], field["name"]) for field in fields if field.get("scope")]
    assert scoped == [(TEAM_PRD, "PRD Link"), (TEAM_TEST_CASES, "Test Cases"), (TEAM_MANDAYS, "Mandays")]
    project = await _get(jira_http, "/rest/api/2/project/TEAM")
    assert project["simplified"] is True and project["style"] == "next-gen"


async def test_edit_screens_show_the_projects_own_field(jira_http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    team = (await _get(jira_http, "/rest/api/2/issue/TEAM-2/editmeta"))["fields"]
    demo = (await _get(jira_http, "/rest/api/2/issue/DEMO-2/editmeta"))["fields"]
    assert team[TEAM_PRD]["name"] == "PRD Link" and sandbox.custom_fields["prd"] not in team
    assert demo[sandbox.custom_fields["prd"]]["name"] == "PRD Link" and TEAM_PRD not in demo
    for role, own in (("test_cases", TEAM_TEST_CASES), ("mandays", TEAM_MANDAYS)):
        assert own in team and sandbox.custom_fields[role] not in team
        assert sandbox.custom_fields[role] in demo and own not in demo


async def test_create_screens_show_the_projects_own_fields(jira_http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    types = (await _get(jira_http, "/rest/api/2/issue/createmeta/TEAM/issuetypes"))["issueTypes"]
    task = next(entry["id"] for entry in types if entry["name"] == "Task")
    fields = (await _get(jira_http, f"/rest/api/2/issue/createmeta/TEAM/issuetypes/{task}"))["fields"]
    names = {entry["fieldId"]: entry["name"] for entry in fields}
    assert names[TEAM_TEST_CASES] == "Test Cases" and names[TEAM_MANDAYS] == "Mandays"
    assert sandbox.custom_fields["test_cases"] not in names and sandbox.custom_fields["mandays"] not in names


def _cannot_set(field_id: str) -> dict:
    message = f"Field '{field_id}' cannot be set. It is not on the appropriate screen, or unknown."
    return {"errorMessages": [], "errors": {field_id: message}}


async def test_a_field_off_the_projects_screens_cannot_be_set(
    jira_http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    site_mandays = sandbox.custom_fields["mandays"]
    async with jira_http.put("/rest/api/2/issue/TEAM-2", json={"fields": {site_mandays: 2}}) as response:
        assert response.status == 400 and await response.json() == _cannot_set(site_mandays)
    async with jira_http.put("/rest/api/2/issue/DEMO-3", json={"fields": {TEAM_MANDAYS: 2}}) as response:
        assert response.status == 400 and await response.json() == _cannot_set(TEAM_MANDAYS)
    create = {"project": {"key": "TEAM"}, "issuetype": {"name": "Task"}, "summary": "Retention"}
    site_tests = sandbox.custom_fields["test_cases"]
    async with jira_http.post("/rest/api/2/issue", json={"fields": {**create, site_tests: "x"}}) as response:
        assert response.status == 400 and await response.json() == _cannot_set(site_tests)
    async with jira_http.put("/rest/api/2/issue/TEAM-2", json={"fields": {TEAM_MANDAYS: 2}}) as response:
        assert response.status == 204
    issue = await _get(jira_http, f"/rest/api/2/issue/TEAM-2?fields={TEAM_MANDAYS},{site_mandays}")
    assert issue["fields"][TEAM_MANDAYS] == 2 and issue["fields"].get(site_mandays) is None


async def test_the_sub_task_walks_up_to_the_epic(jira_http: aiohttp.ClientSession) -> None:
    chain = []
    key: str | None = "TEAM-3"
    while key:
        issue = await _get(jira_http, f"/rest/api/2/issue/{key}?fields=issuetype,parent,{TEAM_PRD}")
        chain.append((issue["key"], issue["fields"]["issuetype"]["name"]))
        key = (issue["fields"].get("parent") or {}).get("key")
    assert chain == [("TEAM-3", "Sub-task"), ("TEAM-2", "Story"), ("TEAM-1", "Epic")]
    assert issue["fields"][TEAM_PRD].startswith("http")
