"""Description generation: `POST /generate/single` and `POST /generate/batch`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from schemas.jobs import AppliedOperation, JobAccepted, PlanOperation, TokenUsage
from schemas.keys import TICKET_KEY_PATTERN as TICKET_KEY_PATTERN  # re-exported: schemas.events uses it
from schemas.keys import TicketKey
from schemas.llm import LlmChoice


class GenerateSingleRequest(LlmChoice):
    model_config = ConfigDict(json_schema_extra={"examples": [{"ticket_key": "DEMO-3", "update_jira": False}]})

    ticket_key: TicketKey
    update_jira: bool = Field(
        default=False, strict=True, description="Write the description to Jira. Default: preview only."
    )
    async_mode: bool = Field(
        default=False, strict=True, description="Answer 202 with a job id at once instead of waiting."
    )


class GenerateBatchRequest(LlmChoice):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"jql": "project = DEMO AND issuetype = Story ORDER BY key", "max_results": 3, "update_jira": False}
            ]
        },
        use_attribute_docstrings=True,
    )

    jql: str = Field(min_length=1, max_length=10_000, examples=["project = DEMO AND issuetype = Story ORDER BY key"])
    """A Jira query selecting the tickets to describe, such as project = DEMO AND issuetype = Story."""
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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ticket_key": "DEMO-3",
                    "summary": "Schedule recurring exports",
                    "generated_description": (
                        "## Purpose\n\nLet workspace owners schedule CSV exports daily or weekly.\n\n"
                        "## Acceptance criteria\n\n- A schedule runs at the chosen time."
                    ),
                    "description_wiki": (
                        "h2. Purpose\n\nLet workspace owners schedule CSV exports daily or weekly.\n\n"
                        "h2. Acceptance criteria\n\n* A schedule runs at the chosen time."
                    ),
                    "success": True,
                    "llm_provider": "openai",
                    "llm_model": "gpt-5.4-mini",
                    "updated_in_jira": False,
                    "message": None,
                    "usage": {"input_tokens": 1575, "output_tokens": 412, "cost_usd": 0.001451},
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    ticket_key: str
    """The Jira issue key, such as DEMO-3."""
    summary: str
    """The ticket's summary in Jira."""
    generated_description: str = Field(description="The LLM's Markdown.")
    description_wiki: str = Field(description="The same as Jira wiki markup: what update_jira writes.")
    success: bool
    """Whether the work succeeded."""
    llm_provider: str
    """The LLM provider that wrote it."""
    llm_model: str
    """The model that wrote it."""
    updated_in_jira: bool = False
    """Whether Jira was changed (false for a preview)."""
    message: str | None = Field(default=None, description="Why the description was not written, when it was not.")
    usage: TokenUsage = Field(default_factory=TokenUsage)
    """Tokens and cost spent on LLM calls."""


class TicketWork(BaseModel):
    """What a batch keeps per ticket (in the results bucket): the draft, its plan, what was applied."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "draft": {
                        "ticket_key": "DEMO-3",
                        "summary": "Schedule recurring exports",
                        "generated_description": "## Purpose\n\nLet workspace owners schedule exports.",
                        "description_wiki": "h2. Purpose\n\nLet workspace owners schedule exports.",
                        "success": True,
                        "llm_provider": "openai",
                        "llm_model": "gpt-5.4-mini",
                        "updated_in_jira": False,
                        "usage": {"input_tokens": 1575, "output_tokens": 412, "cost_usd": 0.001451},
                    },
                    "plan": [
                        {
                            "op_id": "description",
                            "kind": "update_fields",
                            "ticket_key": "DEMO-3",
                            "payload": {
                                "fields": {"description": "h2. Purpose\n\nLet workspace owners schedule exports."}
                            },
                        }
                    ],
                    "applied": [],
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    draft: TicketDescription
    """The description written for the ticket."""
    plan: list[PlanOperation]
    """The ticket's Jira changes."""
    applied: list[AppliedOperation] = Field(default_factory=list)
    """The ticket's changes already written."""


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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "job_id": "0b7c5e2a-4f1d-4e8b-9a63-5d2f8c1e7a40",
                    "status": "started",
                    "message": "Batch processing started in PREVIEW mode",
                    "status_url": "/jobs/0b7c5e2a-4f1d-4e8b-9a63-5d2f8c1e7a40",
                    "update_jira": False,
                    "safety_note": "JIRA will only be updated if update_jira is explicitly set to true",
                    "jql": "project = DEMO AND issuetype = Story ORDER BY key",
                    "max_results": 3,
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    jql: str | None = None
    """The query the batch runs."""
    max_results: int | None = None
    """The most tickets the batch takes."""
