"""Custom field ids, found by the names in `jira.fields`.

At start `GET /rest/api/2/field` maps each configured name (without regard to case) to
its id; an explicit `jira.*_custom_field` id wins and is not looked up. Fields with a
`scope` belong to one team-managed project and never count as the site's. A name that
matches nothing is one warning at start and a `/health` entry (`jira_fields`).
Team-managed projects have fields of their own: `ProjectFields` reads a ticket's
editmeta once per such project and uses the ids found there by name.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import structlog

from bot.config import Settings
from bot.jira.client import JiraClient, JiraError

log = structlog.get_logger(__name__)

# The roles in `JiraFieldNames`; each has a `jira.<role>_custom_field` id.
ROLES = ("prd", "rfc", "test_cases", "mandays", "sprint", "story_points")


@dataclass(frozen=True)
class FieldStatus:
    """What the lookup at start found; `health` is the `/health` entry."""

    missing: tuple[str, ...] = ()  # configured names that match no field
    error: str = ""  # the lookup itself failed

    @property
    def health(self) -> str:
        if self.error:
            return f"unresolved: {self.error}"
        if self.missing:
            return "missing: " + ", ".join(self.missing)
        return "ready"


def by_name(fields: list[dict[str, Any]]) -> dict[str, str]:
    """Lower-cased name -> id of the site's custom fields (project-scoped ones left out)."""
    return {
        str(field["name"]).lower(): str(field["id"])
        for field in fields
        if field.get("custom") and not field.get("scope")
    }


async def resolve_fields(settings: Settings, jira: JiraClient) -> tuple[Settings, FieldStatus]:
    """The settings with every empty `jira.*_custom_field` filled in by name."""
    names = settings.jira.fields
    wanted = [role for role in ROLES if not getattr(settings.jira, f"{role}_custom_field")]
    if not wanted or not settings.jira.url:
        return settings, FieldStatus()
    try:
        found = by_name(await jira.fields())
    except JiraError as err:
        log.warning("could not read Jira's custom fields; PRD, RFC and other fields are unknown", error=str(err))
        return settings, FieldStatus(error=str(err))
    ids = {
        f"{role}_custom_field": found[name.lower()]
        for role in wanted
        if (name := getattr(names, role)).lower() in found
    }
    missing = tuple(getattr(names, role) for role in wanted if f"{role}_custom_field" not in ids)
    if missing:
        log.warning(
            "configured Jira field names match no custom field; set jira.fields or jira.*_custom_field",
            missing=", ".join(missing),
        )
    return settings.model_copy(update={"jira": settings.jira.model_copy(update=ids)}), FieldStatus(missing=missing)


class ProjectFields:
    """Ids of fields by role in a team-managed project, read from editmeta once per project.

    A role whose name is not among the project's fields keeps the site's id."""

    def __init__(self, settings: Settings, jira: JiraClient) -> None:
        self._settings = settings
        self._jira = jira
        self._projects: dict[str, asyncio.Task[dict[str, str]]] = {}

    def site_id(self, role: str) -> str:
        return str(getattr(self._settings.jira, f"{role}_custom_field"))

    async def ids(self, project: str, ticket_key: str, roles: tuple[str, ...]) -> dict[str, str]:
        """role -> id for `ticket_key`, a ticket of the team-managed `project`."""
        if project not in self._projects:
            self._projects[project] = asyncio.create_task(self._read(ticket_key))
        own = await self._projects[project]
        names = self._settings.jira.fields
        return {role: own.get(getattr(names, role).lower(), self.site_id(role)) for role in roles}

    async def _read(self, ticket_key: str) -> dict[str, str]:
        try:
            meta = await self._jira.edit_metadata(ticket_key)
        except JiraError as err:
            log.warning("could not read a team-managed project's fields", ticket=ticket_key, error=str(err))
            return {}
        return {
            str(entry["name"]).lower(): field_id
            for field_id, entry in meta.items()
            if field_id.startswith("customfield_")
        }
