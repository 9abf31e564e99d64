"""Custom field ids, found by the names in `jira.fields`.

At start `GET /rest/api/2/field` maps each configured name (without regard to case) to
its id; an explicit `jira.*_custom_field` id wins and is not looked up. Fields with a
`scope` belong to one team-managed project and never count as the site's. A name that
matches nothing is one warning at start and a `/health` entry (`jira_fields`).
Team-managed projects have fields of their own: `ProjectFields` finds their ids by name
on the project's screens, once per project for the job that built it (never across
jobs: a project's fields can change). Reads take a ticket's edit screen (editmeta) and
fall back to the site's id for a name it lacks; writes take the edit screen of the ticket
written, or for a new issue the create screen of its type (createmeta), and get no
fallback: a role missing there is left out (`write_ids`), for the caller to refuse with
`missing` or to skip, since Jira refuses a field that is not on the screen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from bot.config import Settings
from bot.jira.client import JiraClient, JiraError, Ticket

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
    """Ids of fields by role in team-managed projects, read once per project and screen."""

    def __init__(self, settings: Settings, jira: JiraClient) -> None:
        self._settings = settings
        self._jira = jira
        # (project, "edit") or (project, "create", issue type) -> lower-cased name -> id
        self._screens: dict[tuple[str, ...], asyncio.Task[dict[str, str]]] = {}

    def site_id(self, role: str) -> str:
        return str(getattr(self._settings.jira, f"{role}_custom_field"))

    async def ids(self, project: str, ticket_key: str, roles: tuple[str, ...]) -> dict[str, str]:
        """role -> id for reading `ticket_key`, a ticket of the team-managed `project`; a
        role the project has no field for (or a screen that cannot be read) keeps the site's id."""
        try:
            own = await self._screen((project, "edit"), lambda: self._jira.edit_metadata(ticket_key))
        except JiraError as err:
            log.warning("could not read a team-managed project's fields", ticket=ticket_key, error=str(err))
            own = {}
        return {role: own.get(self._name(role), self.site_id(role)) for role in roles}

    async def edit_ids(self, project: str, ticket_key: str, roles: tuple[str, ...]) -> dict[str, str]:
        """role -> id for writing `ticket_key` of the team-managed `project`: only the roles
        on its edit screen. A failed read raises `JiraError`."""
        own = await self._screen((project, "edit"), lambda: self._jira.edit_metadata(ticket_key))
        return {role: own[self._name(role)] for role in roles if self._name(role) in own}

    async def create_ids(self, project: str, issue_type: str, roles: tuple[str, ...]) -> dict[str, str]:
        """role -> id for creating an `issue_type` in the team-managed `project`: only the
        roles on its create screen. A failed read raises `JiraError`."""
        own = await self._screen(
            (project, "create", issue_type), lambda: self._jira.create_metadata(project, issue_type)
        )
        return {role: own[self._name(role)] for role in roles if self._name(role) in own}

    async def write_ids(self, ticket: Ticket, roles: tuple[str, ...], *, create: str | None = None) -> dict[str, str]:
        """role -> the id `roles` are written to on `ticket` (with `create`, an issue type: on a
        new issue of that type in `ticket`'s project). A team-managed project's own, on the screen
        written; elsewhere the site's. A role without a field there is left out (`missing` says
        why). A failed read raises `JiraError`."""
        if not roles:
            return {}
        if not ticket.team_managed:
            return {role: field_id for role in roles if (field_id := self.site_id(role))}
        if create is not None:
            return await self.create_ids(ticket.project, create, roles)
        return await self.edit_ids(ticket.project, ticket.key, roles)

    def missing(self, ticket: Ticket, role: str, *, create: str | None = None) -> str:
        """Why `write_ids` has no field for `role` on `ticket` (or a new `create` issue), naming
        the configured name or setting and the project."""
        if ticket.team_managed:
            screen = f"its {create} create screen" if create is not None else f"the edit screen of {ticket.key}"
            return (
                f"{role}: the team-managed project {ticket.project} has no field named "
                f"{self.name(role)!r} (jira.fields.{role}) on {screen}"
            )
        return f"{role}: jira.{role}_custom_field is not configured (project {ticket.project})"

    def name(self, role: str) -> str:
        """The field name `jira.fields` gives `role`."""
        return str(getattr(self._settings.jira.fields, role))

    def _name(self, role: str) -> str:
        return self.name(role).lower()

    async def _screen(self, key: tuple[str, ...], read: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, str]:
        if key not in self._screens:
            self._screens[key] = asyncio.create_task(_custom_by_name(read))
        return await self._screens[key]


async def _custom_by_name(read: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, str]:
    """Lower-cased name -> id of the custom fields of a screen's metadata."""
    meta = await read()
    return {
        str(entry["name"]).lower(): field_id for field_id, entry in meta.items() if field_id.startswith("customfield_")
    }
