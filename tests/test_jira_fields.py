"""Custom fields found by name at start, per-project fields of team-managed projects, and
the epic found by walking up a sub-task's parents (against the sandbox Jira)."""

from __future__ import annotations

from typing import Any

import aiohttp
from structlog.testing import capture_logs

from bot.app import create_app
from bot.config import Settings
from bot.jira.client import JiraClient
from bot.jira.context import NOT_GIVEN, TicketContextReader
from bot.jira.fields import resolve_fields
from sandbox import Sandbox
from tests.fixtures.nats import make_settings


def _jira(sandbox: Sandbox, **extra: Any) -> dict[str, Any]:
    return {"url": sandbox.jira_url, "email": sandbox.bot.email, "token": sandbox.bot.api_token, **extra}


async def _resolved(settings: Settings) -> Settings:
    jira = JiraClient(settings.jira)
    try:
        resolved, status = await resolve_fields(settings, jira)
    finally:
        await jira.close()
    assert status.health == "ready"
    return resolved


async def test_field_ids_are_found_by_their_names(sandbox: Sandbox, nats_url: str) -> None:
    resolved = await _resolved(make_settings(nats_url, jira=_jira(sandbox)))
    ids = sandbox.custom_fields
    assert resolved.jira.prd_custom_field == ids["prd"]  # not TEAM's own "PRD Link"
    assert resolved.jira.rfc_custom_field == ids["rfc"]
    assert resolved.jira.test_cases_custom_field == ids["test_cases"]
    assert resolved.jira.mandays_custom_field == ids["mandays"]
    assert resolved.jira.sprint_custom_field == ids["sprint"]
    assert resolved.jira.story_points_custom_field == ids["story_points"]


async def test_an_explicit_id_wins_and_names_match_without_case(sandbox: Sandbox, nats_url: str) -> None:
    jira = _jira(sandbox, prd_custom_field="customfield_77777", fields={"mandays": "MANDAYS"})
    resolved = await _resolved(make_settings(nats_url, jira=jira))
    assert resolved.jira.prd_custom_field == "customfield_77777"
    assert resolved.jira.mandays_custom_field == sandbox.custom_fields["mandays"]


async def test_a_name_that_matches_nothing_is_one_warning_and_in_health(
    aiohttp_client: Any, sandbox: Sandbox, nats_url: str
) -> None:
    settings = make_settings(nats_url, jira=_jira(sandbox, fields={"mandays": "Effort"}))
    with capture_logs() as logs:
        client = await aiohttp_client(create_app(settings))
        body = await (await client.get("/health")).json()
    assert body["services"]["jira_fields"] == "missing: Effort"
    warnings = [entry for entry in logs if "match no custom field" in entry["event"]]
    assert [entry["missing"] for entry in warnings] == ["Effort"]


async def test_a_sub_task_gets_its_epic_and_the_epics_prd(
    sandbox: Sandbox, jira_http: aiohttp.ClientSession, nats_url: str
) -> None:
    body = {"fields": {"project": {"key": "DEMO"}, "issuetype": {"name": "Sub-task"}, "summary": "Header row"}}
    body["fields"]["parent"] = {"key": "DEMO-2"}  # a story under the epic DEMO-1
    async with jira_http.post("/rest/api/2/issue", json=body) as response:
        assert response.status == 201, await response.text()
        key = (await response.json())["key"]
    settings = await _resolved(make_settings(nats_url, jira=_jira(sandbox)))
    jira = JiraClient(settings.jira)
    try:
        context = await TicketContextReader(settings, jira).read(key)
        epic_context = await TicketContextReader(settings, jira).read("DEMO-1")
    finally:
        await jira.close()
    assert context.epic is not None and context.epic.key == "DEMO-1"
    assert context.prompt_values()["epic"].startswith("DEMO-1: Self-serve data export")
    assert context.prd == epic_context.prd != NOT_GIVEN
    assert context.rfc == epic_context.rfc != NOT_GIVEN


async def test_a_team_managed_project_reads_its_own_prd_field(sandbox: Sandbox, nats_url: str) -> None:
    settings = await _resolved(make_settings(nats_url, jira=_jira(sandbox)))
    jira = JiraClient(settings.jira)
    try:
        context = await TicketContextReader(settings, jira).read("TEAM-3")  # sub-task -> story -> epic
        demo = await TicketContextReader(settings, jira).read("DEMO-1")
    finally:
        await jira.close()
    assert context.ticket.team_managed
    assert context.epic is not None and context.epic.key == "TEAM-1"
    assert context.prd == demo.prd != NOT_GIVEN  # from TEAM's own PRD Link field
    assert context.rfc == NOT_GIVEN
