"""Sprints: the board's sprint list, one sprint, its issues, creating and changing a sprint,
and assigning issues to it (the API guide's "Sprint Planning" reads and writes).

Ids are Jira's positive integers; names are at most 255 characters (Jira's limit); a goal
at most `MAX_GOAL`; an assign names 1–`MAX_ASSIGN` distinct issue keys.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from schemas.base import RequestModel
from schemas.keys import TicketKey

SprintState = Literal["future", "active", "closed"]
SPRINT_STATES: tuple[SprintState, ...] = ("future", "active", "closed")
MAX_ID = 2**53  # Jira ids are JSON numbers
MAX_ASSIGN = 1000
MAX_GOAL = 2000
SprintId = Annotated[int, Field(ge=1, le=MAX_ID, description="A Jira sprint id.", examples=[2])]
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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 2,
                    "name": "DEMO Sprint 2",
                    "state": "active",
                    "start_date": "2026-11-27",
                    "end_date": "2026-12-11",
                    "board_id": 1,
                    "goal": "Scheduled exports",
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    id: int
    """Jira's sprint identifier."""
    name: str
    """The sprint's name."""
    state: SprintState
    """The sprint's state: future, active or closed."""
    start_date: date | None = None
    """When the sprint starts (ISO 8601)."""
    end_date: date | None = None
    """When the sprint ends (ISO 8601)."""
    board_id: int | None = None
    """The board the sprint belongs to."""
    goal: str | None = None
    """The sprint goal."""

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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "DEMO Sprint 5",
                    "board_id": 1,
                    "start_date": "2027-01-04",
                    "end_date": "2027-01-15",
                    "goal": "Checkout payments end to end",
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    name: SprintName
    """The new sprint's name."""
    board_id: BoardId
    start_date: date | None = None
    """The first day (ISO 8601)."""
    end_date: date | None = None
    """The last day (ISO 8601)."""
    goal: Goal | None = None
    """The sprint goal."""


class UpdateSprintRequest(RequestModel):
    """`PUT /sprint/{sprint_id}`: the fields given change, the others are kept; written at once."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"goal": "Ship the export history page"}]}, use_attribute_docstrings=True
    )

    name: SprintName | None = None
    """A new name."""
    start_date: date | None = None
    """A new start (ISO 8601)."""
    end_date: date | None = None
    """A new end (ISO 8601)."""
    goal: Goal | None = None
    """A new goal."""
    state: SprintState | None = Field(
        default=None, description="`active` starts a future sprint (it needs both dates), `closed` completes one."
    )


class SprintIssue(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    key: str
    """The Jira issue key."""
    summary: str = ""
    """The issue's summary in Jira."""
    status: str | None = None
    """The issue's workflow status."""
    type: str | None = None
    """The issue type."""
    assignee: str | None = Field(default=None, description="The assignee's display name.")
    estimate: float | None = Field(
        default=None, description="Mandays, else Story points, when that field is known (`jira.fields`)."
    )


class SprintIssues(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sprint_id": 2,
                    "total_issues": 1,
                    "issues": [
                        {
                            "key": "DEMO-3",
                            "summary": "Schedule recurring exports",
                            "status": "In Progress",
                            "type": "Story",
                            "assignee": "Sam Developer",
                            "estimate": 8.0,
                        }
                    ],
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    sprint_id: int
    """The sprint."""
    total_issues: int
    """How many issues the sprint holds."""
    issues: list[SprintIssue]
    """The sprint's issues."""


class AssignRequest(RequestModel):
    """`POST /sprint/{sprint_id}/assign`; a preview unless `dry_run` is false."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"issue_keys": ["DEMO-12", "DEMO-16"], "dry_run": True}]},
        use_attribute_docstrings=True,
    )

    sprint_id: SprintId | None = Field(default=None, description="If given, the same as in the path.")
    issue_keys: list[TicketKey] = Field(min_length=1, max_length=MAX_ASSIGN)
    """The issues to move into the sprint, such as DEMO-12."""
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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "success": True,
                    "sprint_id": 2,
                    "issue_keys": ["DEMO-12", "DEMO-16"],
                    "assigned_in_jira": False,
                    "message": "Preview: Tickets would be assigned. Set dry_run=false to commit.",
                    "already_in_sprint": [],
                    "moved": [],
                    "chunks": [],
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    success: bool
    """Whether every issue was moved."""
    sprint_id: int
    """The sprint the issues were moved into."""
    issue_keys: list[str]
    """The issues moved."""
    assigned_in_jira: bool
    """Whether Jira was changed."""
    message: str
    """A sentence on the outcome, for people."""
    already_in_sprint: list[str] = Field(
        default_factory=list, description="Of `issue_keys`, those in the sprint before this call."
    )
    moved: list[str] = Field(default_factory=list, description="Those this call moved into the sprint.")
    chunks: list[dict[str, Any]] = Field(
        default_factory=list, description="One line per call to Jira (at most 50 issues each): its outcome."
    )
