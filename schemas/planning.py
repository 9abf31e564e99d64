"""The planning family's requests and results (`/plan/...`), shared by its pipelines.

`PlanningResult` is the API guide's answer for story and task planning: `epic_key`,
`operation_mode`, `success`, `created_tickets` (`stories`, `tasks`), `story_details`,
`task_details`, `execution_time_seconds`. Every planning request previews by default
(`dry_run: true`): nothing is written to Jira unless it says `dry_run: false`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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

    model_config = ConfigDict(json_schema_extra={"examples": [{"epic_key": "DEMO-1", "dry_run": True}]})

    epic_key: TicketKey | None = Field(
        default=None, description="The epic: its PRD field names the page, and the stories go under it."
    )
    prd_url: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="The PRD page's URL; required without `epic_key`, and read instead of the epic's PRD field "
        "when both are given.",
        examples=["http://127.0.0.1:8001/wiki/spaces/AUG/pages/98305/PRD%3A+Self-serve+data+export"],
    )
    project_key: str | None = Field(
        default=None,
        pattern=PROJECT_KEY_PATTERN,
        description="Where stories are created when there is no `epic_key` (then required with `dry_run: false`); "
        "with an epic, the epic's project is used.",
        examples=["DEMO"],
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

    model_config = ConfigDict(use_attribute_docstrings=True)

    title: str
    """The story's summary."""
    description: str
    """The description, in Markdown."""
    acceptance_criteria: list[str]
    """Acceptance criteria, one a line."""
    action: StoryAction = Field(
        description="`create`: a new story; `update`: the existing story's description is rewritten; `skip`: it "
        "exists and is left as it is; `unchanged`: `update` was asked and it already holds this text."
    )
    ticket_key: str | None = Field(description="The existing story, or the created one; null for a story not created.")
    message: str = ""
    """A sentence on the outcome, for people."""


class CreatedTickets(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    stories: list[str] = Field(default_factory=list)
    """Keys of the stories created."""
    tasks: list[str] = Field(default_factory=list)
    """Keys of the tasks created."""


class PlanningResult(BaseModel):
    """The answer of the planning endpoints, as the API guide gives it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "epic_key": "DEMO-1",
                    "prd_url": "http://127.0.0.1:8001/wiki/spaces/AUG/pages/98305/PRD%3A+Self-serve+data+export",
                    "operation_mode": "preview",
                    "success": True,
                    "created_tickets": {"stories": [], "tasks": []},
                    "story_details": [
                        {
                            "title": "Export account data as CSV",
                            "description": "As a workspace owner I want to download my account data as CSV files.",
                            "acceptance_criteria": ["Files are UTF-8 encoded with a header row."],
                            "action": "skip",
                            "ticket_key": "DEMO-2",
                            "message": "DEMO-2 has this title already; left as it is",
                        },
                        {
                            "title": "Choose the data sets to export",
                            "description": "As an owner I want to pick which data sets go into an export.",
                            "acceptance_criteria": ["At least one data set must be picked."],
                            "action": "create",
                            "ticket_key": None,
                            "message": "",
                        },
                    ],
                    "task_details": [],
                    "execution_time_seconds": 0.02,
                    "warnings": [],
                    "message": (
                        "Preview: 4 stories to create, 0 to update, 1 left as they are. Set dry_run=false to write."
                    ),
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    epic_key: str | None
    """The epic's Jira key, such as DEMO-11."""
    prd_url: str | None = Field(default=None, description="The PRD page that was read.")
    operation_mode: OperationMode = Field(
        description="`preview`: a dry run, nothing written (`POST /jobs/{job_id}/apply` writes its plan later); "
        "`apply`: written to Jira."
    )
    success: bool
    """Whether the work succeeded."""
    created_tickets: CreatedTickets = Field(description="The tickets created in Jira (none in a preview).")
    story_details: list[StoryDetail] = Field(default_factory=list)
    """The stories, one entry each."""
    task_details: list[dict[str, Any]] = Field(default_factory=list)
    """The tasks, one entry each."""
    execution_time_seconds: float
    """Wall-clock seconds the work took."""
    warnings: list[str] = Field(default_factory=list, description="Rows skipped or merged, bounds reached.")
    message: str = ""
    """A sentence on the outcome, for people."""


# Stories one task-generation job plans for: one LLM call each.
MAX_TASK_STORIES = 50


class TaskGenerationRequest(LlmChoice):
    """`POST /plan/tasks/generate` and `POST /plan/tasks/team-based`: tasks for stories, under their epic."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"story_keys": ["DEMO-2", "DEMO-3"], "epic_key": "DEMO-1", "dry_run": True}]}
    )

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

    model_config = ConfigDict(use_attribute_docstrings=True)

    title: str = Field(description="The task's summary: unique in the plan (prefixed with its story's key on a clash).")
    description: str
    """What the task does."""
    story_key: str
    """The story the task belongs to."""
    team: str
    """The team (skill) that does it."""
    estimate_days: float = Field(description="Man-days.")
    depends_on: list[str] = Field(description="Titles of the tasks that must be done first; each blocks this one.")
    test_cases: list[str]
    """Test cases for the task."""
    ticket_key: str | None = Field(default=None, description="The created task; null in a preview.")


class TeamStatistics(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    tasks: int
    """How many tasks the team has."""
    estimated_days: float
    """Estimated effort, in days."""


class TaskStatistics(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    total_tasks: int
    """How many tasks were planned."""
    total_estimated_days: float
    """The sum of the tasks' estimates, in days."""
    by_team: dict[str, TeamStatistics]
    """Tasks and days per team."""
    blocked_by: dict[str, list[str]] = Field(
        description='Cross-team blocking: team → the teams whose tasks its tasks depend on ("QA" → ["Backend"]).'
    )


class TaskPlanningResult(PlanningResult):
    """The answer of the task endpoints: the planning shape with typed `task_details` and statistics."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "epic_key": "DEMO-1",
                    "prd_url": None,
                    "operation_mode": "preview",
                    "success": True,
                    "created_tickets": {"stories": [], "tasks": []},
                    "story_details": [],
                    "task_details": [
                        {
                            "title": "Store export schedules",
                            "description": "A table of schedules with owner, data sets and cadence.",
                            "story_key": "DEMO-3",
                            "team": "Backend",
                            "estimate_days": 2.0,
                            "depends_on": [],
                            "test_cases": ["A schedule survives a restart"],
                            "ticket_key": None,
                        },
                        {
                            "title": "Schedule editor",
                            "description": "A form to create, pause and delete schedules.",
                            "story_key": "DEMO-3",
                            "team": "Frontend",
                            "estimate_days": 1.5,
                            "depends_on": ["Store export schedules"],
                            "test_cases": ["An invalid cadence is refused"],
                            "ticket_key": None,
                        },
                    ],
                    "execution_time_seconds": 6.1,
                    "warnings": [],
                    "message": "Preview: 2 tasks for 2 stories under DEMO-1, 3.5 man-days. Set dry_run=false to write.",
                    "team_based": False,
                    "summary_statistics": {
                        "total_tasks": 2,
                        "total_estimated_days": 3.5,
                        "by_team": {
                            "Backend": {"tasks": 1, "estimated_days": 2.0},
                            "Frontend": {"tasks": 1, "estimated_days": 1.5},
                        },
                        "blocked_by": {"Frontend": ["Backend"]},
                    },
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    task_details: list[TaskDetail] = Field(default_factory=list)  # type: ignore[assignment]
    """The tasks, one entry each."""
    team_based: bool = False
    """Whether tasks were split by team."""
    summary_statistics: TaskStatistics
    """Totals over the tasks."""


class StoryGenerationRequest(LlmChoice):
    """`POST /plan/stories/generate`: stories for an epic, proposed by the LLM from the epic's
    summary, description, PRD and RFC. Stories the epic has already (same title, any case or
    punctuation) are not proposed again."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"epic_key": "DEMO-1", "max_stories": 3, "dry_run": True}]}
    )

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
    model_config = ConfigDict(use_attribute_docstrings=True)

    key: str
    """The story's Jira key."""
    title: str
    """The story's summary."""


class StoryGenerationResult(PlanningResult):
    """`PlanningResult` with the proposed stories' priorities, the stories that existed, and the LLM's cost."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "epic_key": "DEMO-1",
                    "prd_url": None,
                    "operation_mode": "preview",
                    "success": True,
                    "created_tickets": {"stories": [], "tasks": []},
                    "story_details": [
                        {
                            "title": "Pause a scheduled export",
                            "description": "As a workspace owner I want to pause a schedule without deleting it.",
                            "acceptance_criteria": [
                                "Given a paused schedule, when its time comes, then no export runs"
                            ],
                            "action": "create",
                            "ticket_key": None,
                            "message": "",
                            "priority": "Medium",
                        }
                    ],
                    "task_details": [],
                    "execution_time_seconds": 4.2,
                    "warnings": [],
                    "message": "Preview: 3 new stories for DEMO-1 (6 exist already). Set dry_run=false to write.",
                    "existing_stories": [
                        {"key": "DEMO-2", "title": "Export account data as CSV"},
                        {"key": "DEMO-3", "title": "Schedule recurring exports"},
                    ],
                    "llm_provider": "openai",
                    "llm_model": "gpt-5.4-mini",
                    "usage": {"input_tokens": 1575, "output_tokens": 412, "cost_usd": 0.001451},
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    story_details: list[GeneratedStoryDetail] = Field(default_factory=list)  # type: ignore[assignment]
    """The stories written."""
    existing_stories: list[ExistingStory] = Field(
        default_factory=list, description="The epic's stories when it was read; none is proposed again."
    )
    llm_provider: str
    """The LLM provider that wrote it."""
    llm_model: str
    """The model that wrote it."""
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

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"epic_key": "DEMO-11", "coverage_level": "basic", "update_jira": False}]}
    )

    epic_key: TicketKey = Field(description="An Epic: its stories, their tasks and sub-tasks get test cases.")


class StoryTestsRequest(TestGenerationOptions):
    """`POST /plan/tests/story`: test cases for one Story."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"story_key": "DEMO-3", "coverage_level": "basic", "update_jira": False}]}
    )

    story_key: TicketKey = Field(description="A Story.")


class TaskTestsRequest(TestGenerationOptions):
    """`POST /plan/tests/task`: test cases for one Task or Sub-task."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"task_key": "DEMO-12", "coverage_level": "basic", "update_jira": False}]}
    )

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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "success": True,
                    "item_key": "DEMO-3",
                    "item_type": "Story",
                    "coverage_level": "basic",
                    "operation_mode": "preview",
                    "total_test_cases": 1,
                    "story_tests": {
                        "DEMO-3": [
                            {
                                "title": "A weekly schedule runs once a week",
                                "type": "Integration",
                                "steps": ["Create a weekly schedule for Monday 09:00", "Advance the clock by one week"],
                                "expected_result": "Exactly one export ran, on Monday at 09:00.",
                            }
                        ]
                    },
                    "task_tests": {},
                    "updated_in_jira": False,
                    "updated_tickets": [],
                    "llm_provider": "openai",
                    "llm_model": "gpt-5.4-mini",
                    "usage": {"input_tokens": 1575, "output_tokens": 412, "cost_usd": 0.001451},
                    "execution_time_seconds": 2.3,
                    "warnings": [],
                    "message": "Preview: 1 test case for DEMO-3. Set update_jira=true to write.",
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    success: bool = Field(description="false when an item changed in Jira meanwhile and was not overwritten.")
    item_key: str = Field(description="The epic, story or task asked about.")
    item_type: str
    """story or task: what the tests are for."""
    coverage_level: Coverage
    """How thorough the tests are."""
    operation_mode: OperationMode = Field(
        description="`preview`: nothing written (`POST /jobs/{job_id}/apply` writes its plan later); "
        "`apply`: written to the items' Test Cases fields."
    )
    total_test_cases: int
    """How many test cases were written."""
    story_tests: dict[str, list[GeneratedTest]] = Field(default_factory=dict)
    """Test cases per story key."""
    task_tests: dict[str, list[GeneratedTest]] = Field(default_factory=dict)
    """Test cases per task key."""
    updated_in_jira: bool = False
    """Whether Jira was changed (false for a preview)."""
    updated_tickets: list[str] = Field(default_factory=list, description="Items whose Test Cases field was written.")
    llm_provider: str
    """The LLM provider that wrote it."""
    llm_model: str
    """The model that wrote it."""
    usage: TokenUsage = Field(description="Tokens and cost of every item's LLM answer (re-asks included).")
    execution_time_seconds: float
    """Wall-clock seconds the work took."""
    warnings: list[str] = Field(default_factory=list, description="Bounds reached (items left out).")
    message: str = ""
    """A sentence on the outcome, for people."""
