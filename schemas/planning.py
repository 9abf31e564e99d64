"""The planning family's requests and results (`/plan/...`), shared by its pipelines.

`PlanningResult` is the API guide's answer for story and task planning: `epic_key`,
`operation_mode`, `success`, `created_tickets` (`stories`, `tasks`), `story_details`,
`task_details`, `execution_time_seconds`. Every planning request previews by default
(`dry_run: true`): nothing is written to Jira unless it says `dry_run: false`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from schemas.keys import TicketKey
from schemas.llm import LlmChoice

ExistingTicketAction = Literal["skip", "update", "error"]
StoryAction = Literal["create", "update", "skip", "unchanged"]
OperationMode = Literal["preview", "apply"]

PROJECT_KEY_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,31}$"


class PrdStorySyncRequest(LlmChoice):
    """`POST /plan/stories/sync-from-prd`: the stories of a PRD's story table, as Jira stories under the epic.

    The table is read by rule, not by an LLM: `llm_provider` and `llm_model` are accepted (and
    checked, as everywhere) for the API guide's sake, and not used."""

    epic_key: TicketKey | None = Field(
        default=None, description="The epic: its PRD field names the page, and the stories go under it."
    )
    prd_url: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="The PRD page's URL; required without `epic_key`, and read instead of the epic's PRD field "
        "when both are given.",
        examples=["https://acme.atlassian.net/wiki/spaces/PROJ/pages/123456789/PRD"],
    )
    project_key: str | None = Field(
        default=None,
        pattern=PROJECT_KEY_PATTERN,
        description="Where stories are created when there is no `epic_key` (then required with `dry_run: false`); "
        "with an epic, the epic's project is used.",
        examples=["PROJ"],
    )
    dry_run: bool = Field(default=True, strict=True, description="Preview (the default); `false` writes to Jira.")
    async_mode: bool = Field(
        default=False, strict=True, description="Answer 202 with a job id at once instead of waiting."
    )
    existing_ticket_action: ExistingTicketAction = Field(
        default="skip",
        description="For a PRD story that already exists (same title, any case, under the epic): `skip` it; "
        "`update` its description and acceptance criteria; `error`: fail (422) naming the existing stories, "
        "before anything is written.",
    )

    @model_validator(mode="after")
    def _where(self) -> PrdStorySyncRequest:
        if self.epic_key is None and self.prd_url is None:
            raise ValueError("epic_key or prd_url is required")
        if self.epic_key is None and not self.dry_run and self.project_key is None:
            raise ValueError("project_key is required to create stories from a prd_url without an epic_key")
        return self


class StoryDetail(BaseModel):
    """One story of the plan: what the sync does, or did, with it."""

    title: str
    description: str
    acceptance_criteria: list[str]
    action: StoryAction = Field(
        description="`create`: a new story; `update`: the existing story's description is rewritten; `skip`: it "
        "exists and is left as it is; `unchanged`: `update` was asked and it already holds this text."
    )
    ticket_key: str | None = Field(description="The existing story, or the created one; null for a story not created.")
    message: str = ""


class CreatedTickets(BaseModel):
    stories: list[str] = Field(default_factory=list)
    tasks: list[str] = Field(default_factory=list)


class PlanningResult(BaseModel):
    """The answer of the planning endpoints, as the API guide gives it."""

    epic_key: str | None
    prd_url: str | None = Field(default=None, description="The PRD page that was read.")
    operation_mode: OperationMode = Field(
        description="`preview`: a dry run, nothing written (`POST /jobs/{job_id}/apply` writes its plan later); "
        "`apply`: written to Jira."
    )
    success: bool
    created_tickets: CreatedTickets = Field(description="The tickets created in Jira (none in a preview).")
    story_details: list[StoryDetail] = Field(default_factory=list)
    task_details: list[dict[str, Any]] = Field(default_factory=list)
    execution_time_seconds: float
    warnings: list[str] = Field(default_factory=list, description="Rows skipped or merged, bounds reached.")
    message: str = ""
