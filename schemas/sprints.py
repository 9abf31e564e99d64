"""Sprints: the board's sprint list, one sprint, its issues, creating and changing a sprint,
and assigning issues to it (the API guide's "Sprint Planning" reads and writes).

Ids are Jira's positive integers; names are at most 255 characters (Jira's limit); a goal
at most `MAX_GOAL`; an assign names 1–`MAX_ASSIGN` distinct issue keys.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator

from schemas.base import RequestModel
from schemas.keys import TicketKey

SprintState = Literal["future", "active", "closed"]
SPRINT_STATES: tuple[SprintState, ...] = ("future", "active", "closed")
MAX_ID = 2**53  # Jira ids are JSON numbers
MAX_ASSIGN = 1000
MAX_GOAL = 2000
SprintId = Annotated[int, Field(ge=1, le=MAX_ID, description="A Jira sprint id.", examples=[123])]
BoardId = Annotated[int, Field(ge=1, le=MAX_ID, description="A Jira board id.", examples=[1])]
SprintName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Goal = Annotated[str, StringConstraints(max_length=MAX_GOAL)]
ASSIGN_PREVIEW = "Preview: Tickets would be assigned. Set dry_run=false to commit."


class BoardPath(BaseModel):
    board_id: BoardId


class SprintPath(BaseModel):
    sprint_id: SprintId


class SprintListQuery(BaseModel):
    state: str | None = Field(
        default=None,
        max_length=40,
        description="Only sprints in these states: `future`, `active`, `closed`, or a comma list of them "
        "(`active,future`), as Jira takes it.",
    )

    @field_validator("state")
    @classmethod
    def _known_states(cls, value: str | None) -> str | None:
        if value is None:
            return None
        states = [part.strip().lower() for part in value.split(",")]
        unknown = [part for part in states if part not in SPRINT_STATES]
        if unknown or not states:
            raise ValueError(f"unknown sprint state {unknown[0]!r}: use future, active or closed")
        return ",".join(dict.fromkeys(states))

    def states(self) -> tuple[str, ...]:
        return tuple(self.state.split(",")) if self.state else ()


class Sprint(BaseModel):
    id: int
    name: str
    state: SprintState
    start_date: date | None = None
    end_date: date | None = None
    board_id: int | None = None
    goal: str | None = None

    @classmethod
    def from_jira(cls, sprint: dict[str, Any]) -> Sprint:
        """Jira's sprint bean in the guide's shape; dates as the calendar dates Jira shows."""

        def day(value: Any) -> date | None:
            return date.fromisoformat(value[:10]) if isinstance(value, str) and value else None

        return cls(
            id=sprint["id"],
            name=sprint.get("name") or "",
            state=sprint["state"],
            start_date=day(sprint.get("startDate")),
            end_date=day(sprint.get("endDate")),
            board_id=sprint.get("originBoardId"),
            goal=sprint.get("goal") or None,
        )


class CreateSprintRequest(RequestModel):
    """`POST /sprint/create`: a new sprint (Jira makes it `future`); written at once."""

    name: SprintName
    board_id: BoardId
    start_date: date | None = None
    end_date: date | None = None
    goal: Goal | None = None


class UpdateSprintRequest(RequestModel):
    """`PUT /sprint/{sprint_id}`: the fields given change, the others are kept; written at once."""

    name: SprintName | None = None
    start_date: date | None = None
    end_date: date | None = None
    goal: Goal | None = None
    state: SprintState | None = Field(
        default=None, description="`active` starts a future sprint (it needs both dates), `closed` completes one."
    )


class SprintIssue(BaseModel):
    key: str
    summary: str = ""
    status: str | None = None
    type: str | None = None
    assignee: str | None = Field(default=None, description="The assignee's display name.")
    estimate: float | None = Field(
        default=None, description="Mandays, else Story points, when that field is known (`jira.fields`)."
    )


class SprintIssues(BaseModel):
    sprint_id: int
    total_issues: int
    issues: list[SprintIssue]


class AssignRequest(RequestModel):
    """`POST /sprint/{sprint_id}/assign`; a preview unless `dry_run` is false."""

    sprint_id: SprintId | None = Field(default=None, description="If given, the same as in the path.")
    issue_keys: list[TicketKey] = Field(min_length=1, max_length=MAX_ASSIGN)
    dry_run: bool = Field(default=True, strict=True, description="Preview only; false moves the issues.")
    async_mode: bool = Field(
        default=False, strict=True, description="Answer 202 with a job id at once instead of waiting."
    )

    @field_validator("issue_keys")
    @classmethod
    def _distinct(cls, keys: list[str]) -> list[str]:
        upper = [key.upper() for key in keys]
        if len(set(upper)) != len(upper):
            raise ValueError("issue_keys must not repeat a key")
        return upper


class AssignResult(BaseModel):
    success: bool
    sprint_id: int
    issue_keys: list[str]
    assigned_in_jira: bool
    message: str
    already_in_sprint: list[str] = Field(
        default_factory=list, description="Of `issue_keys`, those in the sprint before this call."
    )
    moved: list[str] = Field(default_factory=list, description="Those this call moved into the sprint.")
    chunks: list[dict[str, Any]] = Field(
        default_factory=list, description="One line per call to Jira (at most 50 issues each): its outcome."
    )
