"""Description generation: `POST /generate/single` and `POST /generate/batch`."""

from __future__ import annotations

from pydantic import BaseModel, Field

from schemas.jobs import AppliedOperation, JobAccepted, PlanOperation, TokenUsage
from schemas.keys import TICKET_KEY_PATTERN as TICKET_KEY_PATTERN  # re-exported: schemas.events uses it
from schemas.keys import TicketKey
from schemas.llm import LlmChoice


class GenerateSingleRequest(LlmChoice):
    ticket_key: TicketKey
    update_jira: bool = Field(
        default=False, strict=True, description="Write the description to Jira. Default: preview only."
    )
    async_mode: bool = Field(
        default=False, strict=True, description="Answer 202 with a job id at once instead of waiting."
    )


class GenerateBatchRequest(LlmChoice):
    jql: str = Field(min_length=1, max_length=10_000, examples=["project = PROJ AND description is EMPTY"])
    max_results: int = Field(default=50, ge=1, le=1000, strict=True, description="Tickets to process at most.")
    update_jira: bool = Field(
        default=False, strict=True, description="Write the descriptions to Jira. Default: preview only."
    )


class DescriptionSection(BaseModel):
    heading: str = Field(min_length=1, max_length=80, description="A short section title, e.g. Purpose.")
    body: str = Field(min_length=1, description="The section's text in Markdown: paragraphs, lists, tables.")


class GeneratedDescription(BaseModel):
    """What the LLM answers (as structured output) when asked for a ticket description."""

    sections: list[DescriptionSection] = Field(min_length=1, max_length=12)

    def markdown(self) -> str:
        return "\n\n".join(f"## {section.heading.strip()}\n\n{section.body.strip()}" for section in self.sections)


class TicketDescription(BaseModel):
    """One ticket's generated description: what was generated, and what is (or would be) written."""

    ticket_key: str
    summary: str
    generated_description: str = Field(description="The LLM's Markdown.")
    description_wiki: str = Field(description="The same as Jira wiki markup: what update_jira writes.")
    success: bool
    llm_provider: str
    llm_model: str
    updated_in_jira: bool = False
    message: str | None = Field(default=None, description="Why the description was not written, when it was not.")
    usage: TokenUsage = Field(default_factory=TokenUsage)


class TicketWork(BaseModel):
    """What a batch keeps per ticket (in the results bucket): the draft, its plan, what was applied."""

    draft: TicketDescription
    plan: list[PlanOperation]
    applied: list[AppliedOperation] = Field(default_factory=list)


class BatchTicketOutcome(BaseModel):
    """One entry of a batch job's `result` list; full texts at `GET /jobs/{job_id}/tickets/{key}`."""

    ticket_key: str
    success: bool
    updated_in_jira: bool = False
    skipped: bool = Field(
        default=False,
        description="Left alone: another job held the ticket, or it changed after the batch's search found "
        "it; `error` says which.",
    )
    error: str | None = None


class BatchCounts(BaseModel):
    """A batch job's ticket counts: its section of the job record (top-level fields of its JSON)."""

    processed_tickets: int = 0
    successful_tickets: int = 0
    failed_tickets: int = 0
    skipped_tickets: int = Field(default=0, description="Tickets another job held, so this one left them alone.")


class GenerationAccepted(JobAccepted):
    """The answer when description work was queued: the query it runs (a single ticket's is empty)."""

    jql: str | None = None
    max_results: int | None = None
