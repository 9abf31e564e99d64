"""Planning an epic into sprints (`POST /sprint/plan/epic`) and its timeline (`POST /sprint/timeline`).

Bounds: capacity 0.5–10,000 man-days a sprint, sprints 1–90 calendar days, the solver's
`time_limit_seconds` 0.1–300; `team_id` is a team of the team database, given as its id (a
number, as the API guide shows it, is taken as that id's text). `dry_run` is true unless
the request says false: only then are sprints created and issues moved.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

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

    sprint_capacity_days: CapacityDays = Field(default=10.0, description="Man-days per sprint without a team_id.")
    auto_create_sprints: bool = Field(
        default=False, strict=True, description="Propose new sprints after the board's future ones when needed."
    )

    @property
    def capacity_days(self) -> float:
        return self.sprint_capacity_days


class TimelineRequest(_PlanningRequest):
    """`POST /sprint/timeline`: the same plan, on the calendar."""

    team_capacity_days: CapacityDays = Field(default=10.0, description="Man-days per sprint without a team_id.")
    auto_create_sprints: bool = Field(
        default=True, strict=True, description="Propose new sprints after the board's future ones when needed."
    )

    @property
    def capacity_days(self) -> float:
        return self.team_capacity_days


class Assignment(BaseModel):
    task_key: str
    task_summary: str
    sprint_id: int | None = Field(description="None for a proposed sprint not created yet.")
    sprint_name: str
    estimated_days: float
    team: str | None = Field(description="The task's skill, when it has one.")


class ProposedSprint(BaseModel):
    name: str
    start_date: date
    end_date: date
    sprint_id: int | None = Field(default=None, description="Set once the sprint is created in Jira.")


class _PlanningResult(BaseModel):
    epic_key: str
    board_id: int
    success: bool = True
    total_tasks: int
    total_sprints: int
    sprints_created: list[ProposedSprint] = Field(
        description="Sprints the plan proposes (a preview) or created (dry_run false)."
    )
    errors: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    optimal: bool = Field(description="Fewest sprints, then rank order, proven optimal.")
    sprints_used: int = Field(
        description="Sprints from the board's first open one up to the last holding planned work (the span)."
    )
    lower_bound: int = Field(description="No plan has a shorter span (`sprints_used`) than this.")
    solve_seconds: float
    updated_in_jira: bool = False
    message: str = ""
    timeline: dict[str, Any] = Field(
        default_factory=dict, description="The whole timeline (bot.scheduling.Timeline, dates ISO), for the chart."
    )


class SprintPlanResult(_PlanningResult):
    assignments: list[Assignment]
    capacity_utilization: dict[str, float] = Field(
        description="Per sprint id (a proposed sprint: its name), the share of its capacity used (0.8 = 80%)."
    )


class TimelineTask(BaseModel):
    key: str
    summary: str
    skill: str | None
    start: date
    end: date = Field(description="The last working day it takes.")
    estimate: float


class TimelineSprint(BaseModel):
    sprint_id: int | None
    sprint_name: str
    start_date: date
    end_date: date
    tasks: list[TimelineTask]
    total_estimated_days: float
    capacity_days: float
    utilization_percent: float


class TimelineResult(_PlanningResult):
    start_date: date | None
    sprint_duration_days: int
    sprints: list[TimelineSprint]
    estimated_completion_date: date | None


class TimelineChart(BaseModel):
    """A sprint planning job's own record section: the Gantt chart attached to the epic when
    the job came from a comment (`/augment plan-sprints`), or why it could not be."""

    chart_attachment: str | None = Field(default=None, description="The attachment's filename on the epic.")
    chart_error: str | None = Field(default=None, description="Why the chart was not attached.")
