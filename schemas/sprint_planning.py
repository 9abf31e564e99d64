"""Planning an epic into sprints (`POST /sprint/plan/epic`) and its timeline (`POST /sprint/timeline`).

Bounds: capacity 0.5–10,000 man-days a sprint, sprints 1–90 calendar days, the solver's
`time_limit_seconds` 0.1–300; `team_id` is a team of the team database, given as its id (a
number, as the API guide shows it, is taken as that id's text). `dry_run` is true unless
the request says false: only then are sprints created and issues moved.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from schemas.base import RequestModel
from schemas.keys import TicketKey
from schemas.sprints import BoardId
from schemas.teams import TeamId

DRY_RUN_NOTE = "JIRA will only be updated if dry_run is false"
PREVIEW_MESSAGE = "Preview: nothing was written. Set dry_run=false to create the sprints and move the issues."


def _team_id_text(value: Any) -> Any:
    # The guide shows `"team_id": 1`; team ids are slugs, and "1" is one.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


TeamRef = Annotated[TeamId, BeforeValidator(_team_id_text)]
CapacityDays = Annotated[float, Field(ge=0.5, le=10_000)]


class _PlanningRequest(RequestModel):
    epic_key: TicketKey
    board_id: BoardId
    start_date: date | None = Field(
        default=None, description="Where new sprints start when the board has no open sprint (default: today)."
    )
    sprint_duration_days: int = Field(default=14, ge=1, le=90, strict=True, description="Calendar days of a sprint.")
    team_id: TeamRef | None = Field(
        default=None, description="A team of the team database: capacity per skill from its members."
    )
    same_sprint_dependencies: bool = Field(
        default=False,
        strict=True,
        description="Let a task share its blocker's sprint when both fit one after the other inside it.",
    )
    time_limit_seconds: float | None = Field(
        default=None, ge=0.1, le=300, description="The solver's time limit (default: sprints.time_limit_seconds)."
    )
    dry_run: bool = Field(default=True, strict=True, description="Preview only; false creates sprints, moves issues.")
    async_mode: bool = Field(
        default=False, strict=True, description="Answer 202 with a job id at once instead of waiting."
    )


class PlanEpicRequest(_PlanningRequest):
    """`POST /sprint/plan/epic`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"epic_key": "DEMO-11", "board_id": 1, "team_id": "demo", "auto_create_sprints": True, "dry_run": True}
            ]
        }
    )

    sprint_capacity_days: CapacityDays = Field(default=10.0, description="Man-days per sprint without a team_id.")
    auto_create_sprints: bool = Field(
        default=False, strict=True, description="Propose new sprints after the board's future ones when needed."
    )

    @property
    def capacity_days(self) -> float:
        return self.sprint_capacity_days


class TimelineRequest(_PlanningRequest):
    """`POST /sprint/timeline`: the same plan, on the calendar."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"epic_key": "DEMO-11", "board_id": 1, "start_date": "2027-01-04", "team_id": "demo", "dry_run": True}
            ]
        }
    )

    team_capacity_days: CapacityDays = Field(default=10.0, description="Man-days per sprint without a team_id.")
    auto_create_sprints: bool = Field(
        default=True, strict=True, description="Propose new sprints after the board's future ones when needed."
    )

    @property
    def capacity_days(self) -> float:
        return self.team_capacity_days


class Assignment(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    task_key: str
    """The task's Jira key."""
    task_summary: str
    """The task's summary."""
    sprint_id: int | None = Field(description="None for a proposed sprint not created yet.")
    sprint_name: str
    """The sprint the task is planned into."""
    estimated_days: float
    """The task's estimate, in days."""
    team: str | None = Field(description="The task's skill, when it has one.")


class ProposedSprint(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    name: str
    """The sprint's name."""
    start_date: date
    """The first day (ISO 8601)."""
    end_date: date
    """The last day (ISO 8601)."""
    sprint_id: int | None = Field(default=None, description="Set once the sprint is created in Jira.")


class _PlanningResult(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    epic_key: str
    """The epic's Jira key, such as DEMO-11."""
    board_id: int
    """The Jira board."""
    success: bool = True
    """Whether the work succeeded."""
    total_tasks: int
    """How many tasks were planned."""
    total_sprints: int
    """How many sprints the plan uses."""
    sprints_created: list[ProposedSprint] = Field(
        description="Sprints the plan proposes (a preview) or created (dry_run false)."
    )
    errors: list[str] = Field(default_factory=list)
    """Why no plan could be made, when none could."""
    warnings: list[str] = Field(default_factory=list)
    """What the plan could not honour exactly, for people."""
    optimal: bool = Field(description="Fewest sprints, then rank order, proven optimal.")
    sprints_used: int = Field(
        description="Sprints from the board's first open one up to the last holding planned work (the span)."
    )
    lower_bound: int = Field(description="No plan has a shorter span (`sprints_used`) than this.")
    solve_seconds: float
    """Seconds the CP-SAT solver ran."""
    updated_in_jira: bool = False
    """Whether Jira was changed (false for a preview)."""
    message: str = ""
    """A sentence on the outcome, for people."""
    timeline: dict[str, Any] = Field(
        default_factory=dict, description="The whole timeline (bot.scheduling.Timeline, dates ISO), for the chart."
    )


class SprintPlanResult(_PlanningResult):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "epic_key": "DEMO-11",
                    "board_id": 1,
                    "success": True,
                    "total_tasks": 12,
                    "total_sprints": 4,
                    "sprints_created": [
                        {
                            "name": "DEMO Sprint 5",
                            "start_date": "2027-01-09",
                            "end_date": "2027-01-22",
                            "sprint_id": None,
                        }
                    ],
                    "errors": [],
                    "warnings": [],
                    "optimal": True,
                    "sprints_used": 4,
                    "lower_bound": 4,
                    "solve_seconds": 0.02,
                    "updated_in_jira": False,
                    "message": (
                        "Preview: nothing was written. Set dry_run=false to create the sprints and move the issues."
                    ),
                    "assignments": [
                        {
                            "task_key": "DEMO-12",
                            "task_summary": "Design the checkout API contract",
                            "sprint_id": 3,
                            "sprint_name": "DEMO Sprint 3",
                            "estimated_days": 2.0,
                            "team": "Backend",
                        },
                        {
                            "task_key": "DEMO-16",
                            "task_summary": "Lay out the one-page checkout",
                            "sprint_id": 3,
                            "sprint_name": "DEMO Sprint 3",
                            "estimated_days": 3.0,
                            "team": "Frontend",
                        },
                    ],
                    "capacity_utilization": {"DEMO Sprint 3": 82.5},
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    assignments: list[Assignment]
    """Each task with the sprint it goes into."""
    capacity_utilization: dict[str, float] = Field(
        description="Per sprint id (a proposed sprint: its name), the share of its capacity used (0.8 = 80%)."
    )


class TimelineTask(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    key: str
    """The task's Jira key."""
    summary: str
    """The issue's summary in Jira."""
    skill: str | None
    """The skill it needs."""
    start: date
    """The day work on it starts."""
    end: date = Field(description="The last working day it takes.")
    estimate: float
    """Its estimate, in days."""


class TimelineSprint(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    sprint_id: int | None
    """Jira's sprint identifier, for a sprint that exists."""
    sprint_name: str
    """The sprint's name."""
    start_date: date
    """The first day (ISO 8601)."""
    end_date: date
    """The last day (ISO 8601)."""
    tasks: list[TimelineTask]
    """The sprint's tasks."""
    total_estimated_days: float
    """The sum of the tasks' estimates, in days."""
    capacity_days: float
    """The team's days available in the sprint."""
    utilization_percent: float
    """Estimated days over capacity, in percent."""


class TimelineResult(_PlanningResult):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "epic_key": "DEMO-11",
                    "board_id": 1,
                    "success": True,
                    "total_tasks": 12,
                    "total_sprints": 6,
                    "sprints_created": [
                        {
                            "name": "DEMO Sprint 5",
                            "start_date": "2027-01-04",
                            "end_date": "2027-01-17",
                            "sprint_id": None,
                        }
                    ],
                    "errors": [],
                    "warnings": [],
                    "optimal": True,
                    "sprints_used": 6,
                    "lower_bound": 6,
                    "solve_seconds": 0.017,
                    "updated_in_jira": False,
                    "message": (
                        "Preview: nothing was written. Set dry_run=false to create the sprints and move the issues."
                    ),
                    "start_date": "2027-01-04",
                    "sprint_duration_days": 14,
                    "sprints": [
                        {
                            "sprint_id": None,
                            "sprint_name": "DEMO Sprint 5",
                            "start_date": "2027-01-04",
                            "end_date": "2027-01-17",
                            "tasks": [
                                {
                                    "key": "DEMO-12",
                                    "summary": "Design the checkout API contract",
                                    "skill": "Backend",
                                    "start": "2027-01-04",
                                    "end": "2027-01-05",
                                    "estimate": 2.0,
                                }
                            ],
                            "total_estimated_days": 2.0,
                            "capacity_days": 21.5,
                            "utilization_percent": 9.3,
                        }
                    ],
                    "estimated_completion_date": "2027-03-26",
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    start_date: date | None
    """The first sprint's first day."""
    sprint_duration_days: int
    """Days in one sprint."""
    sprints: list[TimelineSprint]
    """The sprints, in order, with their tasks."""
    estimated_completion_date: date | None
    """When the last task should be done."""


class TimelineChart(BaseModel):
    """A sprint planning job's own record section: the Gantt chart attached to the epic when
    the job came from a comment (`/augment plan-sprints`), or why it could not be."""

    chart_attachment: str | None = Field(default=None, description="The attachment's filename on the epic.")
    chart_error: str | None = Field(default=None, description="Why the chart was not attached.")
