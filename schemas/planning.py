"""The planning family's requests and results (`/plan/...`), shared by its pipelines.

`PlanningResult` is the API guide's answer for story and task planning: `epic_key`,
`operation_mode`, `success`, `created_tickets` (`stories`, `tasks`), `story_details`,
`task_details`, `execution_time_seconds`. Every planning request previews by default
(`dry_run: true`): nothing is written to Jira unless it says `dry_run: false`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from schemas.jobs import TokenUsage
from schemas.keys import TicketKey
from schemas.llm import LlmChoice
from schemas.planning_outputs import MAX_STORIES, Coverage, GeneratedTest, Priority

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


# Stories one task-generation job plans for: one LLM call each.
MAX_TASK_STORIES = 50


class TaskGenerationRequest(LlmChoice):
    """`POST /plan/tasks/generate` and `POST /plan/tasks/team-based`: tasks for stories, under their epic."""

    story_keys: list[TicketKey] = Field(
        min_length=1, max_length=MAX_TASK_STORIES, description="The stories to plan tasks for (1–50, unique)."
    )
    epic_key: TicketKey | None = Field(
        default=None,
        description="Where the tasks go. Without it, the stories' epic (their parent); all stories must share one.",
    )
    dry_run: bool = Field(default=True, strict=True, description="Preview (the default); `false` writes to Jira.")
    async_mode: bool = Field(
        default=False, strict=True, description="Answer 202 with a job id at once instead of waiting."
    )

    @model_validator(mode="after")
    def _unique(self) -> TaskGenerationRequest:
        keys = [key.upper() for key in self.story_keys]
        if len(keys) != len(set(keys)):
            raise ValueError("story_keys must be unique")
        return self


class TaskGenerationJob(TaskGenerationRequest):
    """A `task_generation` job's request: the body plus which endpoint (or command) asked."""

    team_based: bool = Field(default=False, description="Plan per team, with cross-team blocking.")


class TaskDetail(BaseModel):
    """One planned task."""

    title: str = Field(description="The task's summary: unique in the plan (prefixed with its story's key on a clash).")
    description: str
    story_key: str
    team: str
    estimate_days: float = Field(description="Man-days.")
    depends_on: list[str] = Field(description="Titles of the tasks that must be done first; each blocks this one.")
    test_cases: list[str]
    ticket_key: str | None = Field(default=None, description="The created task; null in a preview.")


class TeamStatistics(BaseModel):
    tasks: int
    estimated_days: float


class TaskStatistics(BaseModel):
    total_tasks: int
    total_estimated_days: float
    by_team: dict[str, TeamStatistics]
    blocked_by: dict[str, list[str]] = Field(
        description='Cross-team blocking: team → the teams whose tasks its tasks depend on ("QA" → ["Backend"]).'
    )


class TaskPlanningResult(PlanningResult):
    """The answer of the task endpoints: the planning shape with typed `task_details` and statistics."""

    task_details: list[TaskDetail] = Field(default_factory=list)  # type: ignore[assignment]
    team_based: bool = False
    summary_statistics: TaskStatistics


class StoryGenerationRequest(LlmChoice):
    """`POST /plan/stories/generate`: stories for an epic, proposed by the LLM from the epic's
    summary, description, PRD and RFC. Stories the epic has already (same title, any case or
    punctuation) are not proposed again."""

    epic_key: TicketKey = Field(description="The epic: read for context, and the stories go under it.")
    dry_run: bool = Field(default=True, strict=True, description="Preview (the default); `false` writes to Jira.")
    async_mode: bool = Field(
        default=False, strict=True, description="Answer 202 with a job id at once instead of waiting."
    )
    max_stories: int | None = Field(
        default=None,
        ge=1,
        le=MAX_STORIES,
        description="Stories proposed at most; default and ceiling: the configured `planning.max_stories`.",
    )


class GeneratedStoryDetail(StoryDetail):
    """A proposed story: what the LLM wrote, and its priority."""

    priority: Priority = Field(description="Set on the created story when its project has the priority field.")


class ExistingStory(BaseModel):
    key: str
    title: str


class StoryGenerationResult(PlanningResult):
    """`PlanningResult` with the proposed stories' priorities, the stories that existed, and the LLM's cost."""

    story_details: list[GeneratedStoryDetail] = Field(default_factory=list)  # type: ignore[assignment]
    existing_stories: list[ExistingStory] = Field(
        default_factory=list, description="The epic's stories when it was read; none is proposed again."
    )
    llm_provider: str
    llm_model: str
    usage: TokenUsage = Field(description="Tokens and cost of the LLM's answer (re-asks included).")


class TestGenerationOptions(LlmChoice):
    """What every test-generation request carries besides the item."""

    __test__ = False  # not a pytest class, whatever its name

    coverage_level: Coverage = Field(
        default=Coverage.standard,
        description="Test cases per item: minimal 1–2, basic 2–4, standard 3–6 (the default), comprehensive 5–10.",
    )
    update_jira: bool = Field(
        default=False, strict=True, description="Preview (the default); `true` writes each item's Test Cases field."
    )
    async_mode: bool = Field(
        default=False, strict=True, description="Answer 202 with a job id at once instead of waiting."
    )


class EpicTestsRequest(TestGenerationOptions):
    """`POST /plan/tests/comprehensive`: test cases for every story of an epic and their tasks."""

    epic_key: TicketKey = Field(description="An Epic: its stories, their tasks and sub-tasks get test cases.")


class StoryTestsRequest(TestGenerationOptions):
    """`POST /plan/tests/story`: test cases for one Story."""

    story_key: TicketKey = Field(description="A Story.")


class TaskTestsRequest(TestGenerationOptions):
    """`POST /plan/tests/task`: test cases for one Task or Sub-task."""

    task_key: TicketKey = Field(description="A Task or Sub-task.")


class ItemTestsRequest(TestGenerationOptions):
    """A comment command's or trigger rule's request: the item's issue type, read by the job,
    picks the behaviour of the epic, story or task endpoint."""

    item_key: TicketKey


TestGenerationRequest = EpicTestsRequest | StoryTestsRequest | TaskTestsRequest | ItemTestsRequest


def parse_tests_request(data: dict[str, Any]) -> TestGenerationRequest:
    """A stored `test_generation` request, as the model of the endpoint (or command) that made it."""
    for key, model in (
        ("epic_key", EpicTestsRequest),
        ("story_key", StoryTestsRequest),
        ("task_key", TaskTestsRequest),
    ):
        if key in data:
            return model.model_validate(data)
    return ItemTestsRequest.model_validate(data)


class TestGenerationResult(BaseModel):
    """The answer of the test endpoints: the API guide's `total_test_cases`, `story_tests` and
    `task_tests` (item key → its test cases), and what was written."""

    __test__ = False

    success: bool = Field(description="false when an item changed in Jira meanwhile and was not overwritten.")
    item_key: str = Field(description="The epic, story or task asked about.")
    item_type: str
    coverage_level: Coverage
    operation_mode: OperationMode = Field(
        description="`preview`: nothing written (`POST /jobs/{job_id}/apply` writes its plan later); "
        "`apply`: written to the items' Test Cases fields."
    )
    total_test_cases: int
    story_tests: dict[str, list[GeneratedTest]] = Field(default_factory=dict)
    task_tests: dict[str, list[GeneratedTest]] = Field(default_factory=dict)
    updated_in_jira: bool = False
    updated_tickets: list[str] = Field(default_factory=list, description="Items whose Test Cases field was written.")
    llm_provider: str
    llm_model: str
    usage: TokenUsage = Field(description="Tokens and cost of every item's LLM answer (re-asks included).")
    execution_time_seconds: float
    warnings: list[str] = Field(default_factory=list, description="Bounds reached (items left out).")
    message: str = ""
