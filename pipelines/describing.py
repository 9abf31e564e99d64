"""Writing one ticket's description: read the ticket and its documents, ask the LLM,
convert to wiki markup, and make the plan that would write it.

Shared by the `single` and `batch` jobs of `pipelines/generation.py`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.context import DocumentError, DocumentReader, cut_to_budget
from bot.formatting.jira_wiki import markdown_to_wiki
from bot.jira.applier import fingerprint
from bot.jira.client import JiraError, JiraNotFoundError, Ticket
from bot.jobs.context import JobContext, PermanentJobError
from bot.llm.catalogue import ModelChoice
from bot.llm.types import LlmError, LlmOutputError, Usage
from bot.prompting import PromptTemplates
from schemas.generation import GeneratedDescription, TicketDescription, TicketWork
from schemas.jobs import JobRecord, PlanOperation, TokenUsage

NOT_GIVEN = "(none)"
EPIC_TOKENS = 1000


@dataclass(frozen=True)
class Documents:
    prd: str
    rfc: str


class Describer:
    """One per job: the job's documents are read once, however many tickets use them."""

    def __init__(self, job: JobContext, choice: ModelChoice) -> None:
        self._job = job
        self._choice = choice
        settings = job.runtime.settings
        self._fields = (settings.jira.prd_custom_field, settings.jira.rfc_custom_field)
        self._budget = settings.generation.context_token_budget
        self._templates = PromptTemplates(settings.prompts)
        confluence, jira = settings.confluence, settings.jira
        self._documents = DocumentReader(
            confluence.url.removesuffix("/wiki") or jira.url,
            confluence.email or jira.email,
            confluence.token.get_secret_value() or jira.token.get_secret_value(),
        )
        self._epics: dict[str, asyncio.Task[Ticket | None]] = {}

    async def draft(self, ticket_key: str) -> TicketWork:
        """Generate the description and the plan that writes it; nothing is written here."""
        jira = self._job.runtime.jira
        try:
            ticket = await jira.ticket(ticket_key, custom_fields=self._fields)
        except JiraNotFoundError:
            raise PermanentJobError(f"Ticket {ticket_key} not found in Jira", status=404) from None
        except JiraError as err:
            raise PermanentJobError(str(err), status=502) from None
        epic = await self._epic(ticket.parent_key)
        documents = await self._read_documents(ticket, epic)
        prompt = self._templates.render("describe", ticket.project, _prompt_values(ticket, epic, documents))
        try:
            answer = await self._job.runtime.llm.structured(self._choice, prompt, GeneratedDescription)
        except LlmOutputError as err:
            spent = err.usage  # paid for even though unusable
            await self._job.update(lambda record: _charge(record, spent))
            raise PermanentJobError(f"LLM {err}", status=502) from None
        except LlmError as err:
            raise PermanentJobError(f"LLM {err}", status=502) from None
        assert isinstance(answer.value, GeneratedDescription)
        markdown = answer.value.markdown()
        usage = TokenUsage().plus(answer.usage)
        draft = TicketDescription(
            ticket_key=ticket.key,
            summary=ticket.summary,
            generated_description=markdown,
            description_wiki=markdown_to_wiki(markdown),
            success=True,
            llm_provider=self._choice.provider,
            llm_model=self._choice.model,
            usage=usage,
        )
        plan = [
            PlanOperation(
                op_id=f"describe:{ticket.key}",
                kind="update_fields",
                ticket_key=ticket.key,
                # What was read, as a fingerprint: if Jira holds something else at write
                # time, somebody changed the ticket meanwhile and it is not overwritten.
                payload={
                    "fields": {"description": draft.description_wiki},
                    "expect_sha256": {"description": fingerprint(ticket.description)},
                },
            )
        ]
        return TicketWork(draft=draft, plan=plan)

    async def _epic(self, key: str | None) -> Ticket | None:
        if key is None:
            return None
        if key not in self._epics:
            self._epics[key] = asyncio.create_task(self._read_epic(key))
        return await self._epics[key]

    async def _read_epic(self, key: str) -> Ticket | None:
        try:
            return await self._job.runtime.jira.ticket(key, custom_fields=self._fields)
        except JiraError:
            return None  # the description can still be written without its epic

    async def _read_documents(self, ticket: Ticket, epic: Ticket | None) -> Documents:
        prd_field, rfc_field = self._fields
        texts = await asyncio.gather(
            self._document(_link(ticket, epic, prd_field), self._budget // 2),
            self._document(_link(ticket, epic, rfc_field), self._budget // 2),
        )
        return Documents(prd=texts[0], rfc=texts[1])

    async def _document(self, url: str | None, budget: int) -> str:
        if not url:
            return NOT_GIVEN
        try:
            document = await self._documents.read(url)
        except DocumentError as err:
            return f"(could not be read: {err})"
        return f"{document.title}\n\n{cut_to_budget(document.text, budget)}"


def _charge(record: JobRecord, usage: Usage) -> None:
    record.usage = record.usage.plus(usage)


def _link(ticket: Ticket, epic: Ticket | None, field: str) -> str | None:
    """A document link on the ticket itself wins over its epic's."""
    for source in (ticket, epic):
        value = source.custom.get(field) if source is not None else None
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _prompt_values(ticket: Ticket, epic: Ticket | None, documents: Documents) -> dict[str, str]:
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
        "prd": documents.prd,
        "rfc": documents.rfc,
    }
