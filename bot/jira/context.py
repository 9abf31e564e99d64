"""A ticket as LLM context: the ticket, its parent epic, and the PRD and RFC it links.

Shared by every pipeline that prompts about a ticket. One reader per job: the job's
epics and Confluence pages are read once, however many tickets use them. A PRD or RFC
link on the ticket itself wins over its epic's; a page that cannot be read is named as
such, and an epic that cannot be read is left out: the prompt is still made.
`prompt_values` gives the placeholders the prompt templates use (`bot.prompting`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.config import Settings
from bot.documents import DocumentError, DocumentReader, cut_to_budget
from bot.jira.client import JiraClient, JiraError, Ticket

NOT_GIVEN = "(none)"
EPIC_TOKENS = 1000


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
        self._fields = (settings.jira.prd_custom_field, settings.jira.rfc_custom_field)
        self._budget = settings.generation.context_token_budget
        confluence, jira_settings = settings.confluence, settings.jira
        self._documents = DocumentReader(
            confluence.url.removesuffix("/wiki") or jira_settings.url,
            confluence.email or jira_settings.email,
            confluence.token.get_secret_value() or jira_settings.token.get_secret_value(),
        )
        self._epics: dict[str, asyncio.Task[Ticket | None]] = {}

    async def read(self, ticket_key: str) -> TicketContext:
        """Raises `JiraNotFoundError` for a missing ticket, `JiraError` when Jira kept failing."""
        ticket = await self._jira.ticket(ticket_key, custom_fields=self._fields)
        epic = await self._epic(ticket.parent_key)
        prd_field, rfc_field = self._fields
        prd, rfc = await asyncio.gather(
            self._document(_link(ticket, epic, prd_field), self._budget // 2),
            self._document(_link(ticket, epic, rfc_field), self._budget // 2),
        )
        return TicketContext(ticket=ticket, epic=epic, prd=prd, rfc=rfc)

    async def _epic(self, key: str | None) -> Ticket | None:
        if key is None:
            return None
        if key not in self._epics:
            self._epics[key] = asyncio.create_task(self._read_epic(key))
        return await self._epics[key]

    async def _read_epic(self, key: str) -> Ticket | None:
        try:
            return await self._jira.ticket(key, custom_fields=self._fields)
        except JiraError:
            return None  # the prompt can still be made without its epic

    async def _document(self, url: str | None, budget: int) -> str:
        if not url:
            return NOT_GIVEN
        try:
            document = await self._documents.read(url)
        except DocumentError as err:
            return f"(could not be read: {err})"
        return f"{document.title}\n\n{cut_to_budget(document.text, budget)}"


def _link(ticket: Ticket, epic: Ticket | None, field: str) -> str | None:
    """A document link on the ticket itself wins over its epic's."""
    for source in (ticket, epic):
        value = source.custom.get(field) if source is not None else None
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None
