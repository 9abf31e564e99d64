"""A ticket as LLM context: the ticket, its epic, and the PRD and RFC it links.

Shared by every pipeline that prompts about a ticket. One reader per job: the job's
parents and Confluence pages are read once, however many tickets use them. The epic is
found by walking up parents (a sub-task's parent is a story, whose parent is the epic),
at most `MAX_PARENT_LEVELS`. The nearest PRD or RFC link wins: the ticket's own, then
its parents' in order up to the epic. In a team-managed project the links are read from
the project's own fields (`bot.jira.fields.ProjectFields`). A page that cannot be read
is named as such, and a parent that cannot be read ends the walk: the prompt is still made.
`prompt_values` gives the placeholders the prompt templates use (`bot.prompting`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from bot.documents import DocumentError, DocumentReader, cut_to_budget
from bot.jira.client import JiraClient, JiraError, Ticket
from bot.jira.fields import ProjectFields

NOT_GIVEN = "(none)"
EPIC_TOKENS = 1000
EPIC_TYPE = "epic"
# How far up a ticket's parents are walked for its epic: sub-task -> story -> epic.
MAX_PARENT_LEVELS = 3
DOCUMENT_ROLES = ("prd", "rfc")


@dataclass(frozen=True)
class _Read:
    ticket: Ticket
    links: dict[str, Any]  # role ("prd", "rfc") -> the field's value


@dataclass(frozen=True)
class TicketContext:
    ticket: Ticket
    epic: Ticket | None
    prd: str
    rfc: str

    def prompt_values(self) -> dict[str, str]:
        ticket, epic = self.ticket, self.epic
        epic_text = (
            f"{epic.key}: {epic.summary}\n{cut_to_budget(epic.description, EPIC_TOKENS)}".strip() if epic else NOT_GIVEN
        )
        return {
            "ticket_key": ticket.key,
            "issue_type": ticket.issue_type,
            "status": ticket.status,
            "summary": ticket.summary,
            "labels": ", ".join(ticket.labels) or NOT_GIVEN,
            "current_description": ticket.description or NOT_GIVEN,
            "epic": epic_text,
            "prd": self.prd,
            "rfc": self.rfc,
        }


class TicketContextReader:
    def __init__(self, settings: Settings, jira: JiraClient) -> None:
        self._jira = jira
        self._fields = ProjectFields(settings, jira)
        self._budget = settings.generation.context_token_budget
        self._documents = DocumentReader.from_settings(settings)
        self._parents: dict[str, asyncio.Task[_Read | None]] = {}

    async def read(self, ticket_key: str) -> TicketContext:
        """Raises `JiraNotFoundError` for a missing ticket, `JiraError` when Jira kept failing."""
        found = await self._read(ticket_key)
        ancestors = await self._ancestors(found.ticket.parent_key)
        epic = next((a.ticket for a in ancestors if a.ticket.issue_type.lower() == EPIC_TYPE), None)
        prd, rfc = await asyncio.gather(
            *(self._document(_link([found, *ancestors], role), self._budget // 2) for role in DOCUMENT_ROLES)
        )
        return TicketContext(ticket=found.ticket, epic=epic, prd=prd, rfc=rfc)

    async def document_link(self, ticket_key: str, role: str) -> tuple[Ticket, str | None]:
        """The ticket and its own `role` ("prd", "rfc") link, from its team-managed project's
        own field if it has one. Raises as `read` does."""
        found = await self._read(ticket_key)
        return found.ticket, _link([found], role)

    async def _ancestors(self, key: str | None) -> list[_Read]:
        """The parents up to the first epic, nearest first, at most `MAX_PARENT_LEVELS`; a
        parent that cannot be read ends the walk."""
        found: list[_Read] = []
        while key is not None and len(found) < MAX_PARENT_LEVELS:
            if key not in self._parents:
                self._parents[key] = asyncio.create_task(self._read_parent(key))
            parent = await self._parents[key]
            if parent is None:
                break
            found.append(parent)
            if parent.ticket.issue_type.lower() == EPIC_TYPE:
                break
            key = parent.ticket.parent_key
        return found

    async def _read_parent(self, key: str) -> _Read | None:
        try:
            return await self._read(key)
        except JiraError:
            return None  # the prompt can still be made without its epic

    async def _read(self, key: str) -> _Read:
        """The ticket and its PRD/RFC links, from its team-managed project's own fields if it has them."""
        site = {role: self._fields.site_id(role) for role in DOCUMENT_ROLES}
        ticket = await self._jira.ticket(key, custom_fields=tuple(i for i in site.values() if i))
        ids = site
        if ticket.team_managed:
            ids = await self._fields.ids(ticket.project, key, DOCUMENT_ROLES)
        values = dict(ticket.custom)
        if own := [i for i in ids.values() if i and i not in values]:
            values.update(await self._jira.field_values(key, own))
        return _Read(ticket, {role: values.get(field_id) for role, field_id in ids.items() if field_id})

    async def _document(self, url: str | None, budget: int) -> str:
        if not url:
            return NOT_GIVEN
        try:
            document = await self._documents.read(url)
        except DocumentError as err:
            return f"(could not be read: {err})"
        return f"{document.title}\n\n{cut_to_budget(document.text, budget)}"


def _link(sources: list[_Read], role: str) -> str | None:
    """The nearest document link: the ticket's own, else its parents' up to the epic."""
    for source in sources:
        value = source.links.get(role)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None
