"""Jira write operations: `POST /jira/update-ticket` and `POST /jira/update-story-ticket`.

Both are partial: a field left out (or null) is kept as it is. Preview by default
(`update_jira` false): the answer shows the current and the new values and nothing is
written. With `update_jira` the job's plan (field updates, links, the parent) goes through
the one applier; an identical existing link, or a parent already set, counts as done.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.base import RequestModel
from schemas.keys import TicketKey

Direction = Literal["inward", "outward"]


class IssueLinkRequest(RequestModel):
    link_type: str = Field(
        min_length=1, max_length=255, examples=["Blocks"], description="A link type's name, e.g. Blocks, Relates."
    )
    target_key: TicketKey
    direction: Direction = Field(
        default="outward",
        description="`outward`: this ticket *blocks* the target (the type's outward phrase); "
        "`inward`: this ticket *is blocked by* the target.",
    )


class TicketFieldsUpdate(RequestModel):
    """What both endpoints may change."""

    summary: str | None = Field(default=None, min_length=1, max_length=255, description="New summary.")
    description: str | None = Field(default=None, max_length=32_767, description="New description (wiki markup).")
    test_cases: str | None = Field(
        default=None, max_length=32_767, description="New test cases (the `jira.test_cases_custom_field`)."
    )
    links: list[IssueLinkRequest] = Field(default_factory=list, max_length=50, description="Links to create.")
    update_jira: bool = Field(default=False, strict=True, description="Write to Jira. Default: preview only.")
    async_mode: bool = Field(
        default=False, strict=True, description="Answer 202 with a job id at once instead of waiting."
    )


class UpdateTicketRequest(TicketFieldsUpdate):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ticket_key": "DEMO-3",
                    "summary": "Schedule recurring exports (daily or weekly)",
                    "mandays": 3,
                    "links": [{"link_type": "Relates", "target_key": "DEMO-2"}],
                    "update_jira": False,
                }
            ]
        }
    )

    ticket_key: TicketKey
    mandays: float | None = Field(
        default=None, ge=0, le=10_000, description="New mandays estimate (the `jira.mandays_custom_field`)."
    )


class UpdateStoryTicketRequest(TicketFieldsUpdate):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "story_key": "DEMO-5",
                    "parent_key": "DEMO-1",
                    "description": "Only workspace admins may start an export; others see why the button is disabled.",
                    "update_jira": False,
                }
            ]
        }
    )

    story_key: TicketKey = Field(description="A Story; another issue type answers 422.")
    parent_key: TicketKey | None = Field(default=None, description="The new parent epic.")


class LinkCreated(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    link_type: str
    """The link type, such as Relates."""
    source_key: str = Field(description="The ticket the link type's outward phrase starts from (`blocks`).")
    target_key: str
    """The issue linked to."""
    status: Literal["created", "already_exists"]
    """Whether the link was made or already there."""


class TicketUpdateResult(BaseModel):
    """The answer of both endpoints, preview or update."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "success": True,
                    "ticket_key": "DEMO-3",
                    "updated_in_jira": False,
                    "updates_applied": {"summary": True, "mandays": True},
                    "links_created": [],
                    "preview": {
                        "ticket_key": "DEMO-3",
                        "current_summary": "Schedule recurring exports",
                        "new_summary": "Schedule recurring exports (daily or weekly)",
                        "current_mandays": None,
                        "new_mandays": 3.0,
                        "links": [
                            {"link_type": "Relates", "target_key": "DEMO-2", "direction": "outward", "exists": False}
                        ],
                    },
                    "message": "Preview: Ticket DEMO-3 would be updated. Set update_jira=true to commit.",
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    success: bool
    """Whether the work succeeded."""
    ticket_key: str
    """The Jira issue key, such as DEMO-3."""
    updated_in_jira: bool
    """Whether Jira was changed (false for a preview)."""
    updates_applied: dict[str, bool] = Field(
        description="Per field asked for (`summary`, `description`, `test_cases`, `mandays`, `parent_key`): "
        "in a preview, whether it would change; after an update, whether Jira now holds the new value."
    )
    links_created: list[LinkCreated] = Field(default_factory=list, description="After an update: each link asked for.")
    preview: dict[str, Any] = Field(
        description="`ticket_key` (`story_key` for a story), and `current_<field>` / `new_<field>` for each field "
        "asked for; `links`: the links asked for, each with `exists`."
    )
    message: str
    """A sentence on the outcome, for people."""


class CreateTicketRequest(RequestModel):
    """`POST /jira/create-ticket`: a Task under an epic, split from a story."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "parent_key": "DEMO-1",
                    "story_key": "DEMO-3",
                    "summary": "Run scheduled exports from a daily job",
                    "description": "A job that starts each due export and records its outcome.",
                    "test_cases": "1. A daily schedule runs once a day.",
                    "blocks": ["DEMO-6"],
                    "mandays": 2,
                    "create_ticket": False,
                }
            ]
        }
    )

    parent_key: TicketKey = Field(description="The epic the task goes under (an Epic; another type answers 422).")
    summary: str = Field(min_length=1, max_length=255, description="The task's summary.")
    description: str = Field(max_length=32_767, description="The task's description (wiki markup).")
    story_key: TicketKey = Field(
        description='The story the task is split from, linked with the site\'s "Work item split" type '
        '("Cloners", else "Relates", on a site without it; the answer says which).'
    )
    test_cases: str | None = Field(
        default=None, max_length=32_767, description="Test cases (the `jira.test_cases_custom_field`)."
    )
    blocks: list[TicketKey] = Field(
        default_factory=list, max_length=50, description="Tickets the new task blocks (a `Blocks` link each)."
    )
    mandays: float | None = Field(
        default=None,
        ge=0,
        le=10_000,
        description="Mandays estimate (the `jira.mandays_custom_field`): the task's cycle time estimate, "
        "as the caller has it. Absent: the field is left empty (Augment makes no estimate of its own yet).",
    )
    create_ticket: bool = Field(default=False, strict=True, description="Create in Jira. Default: preview only.")
    async_mode: bool = Field(
        default=False, strict=True, description="Answer 202 with a job id at once instead of waiting."
    )


class TicketCreateResult(BaseModel):
    """The answer of `POST /jira/create-ticket`, preview or create."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "success": True,
                    "ticket_key": None,
                    "created_in_jira": False,
                    "marker": "augment-0b7c5e2a4f1d",
                    "story_link_type": "Work item split",
                    "links_created": [],
                    "preview": {
                        "project": "DEMO",
                        "parent_key": "DEMO-1",
                        "summary": "Run scheduled exports from a daily job",
                        "mandays": 2.0,
                        "links": [
                            {"link_type": "Work item split", "source_key": "DEMO-3", "target_key": "TASK"},
                            {"link_type": "Blocks", "source_key": "TASK", "target_key": "DEMO-6"},
                        ],
                    },
                    "message": (
                        "Preview: a Task under DEMO-1 split from DEMO-3 would be created. Set "
                        "create_ticket=true to create it."
                    ),
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    success: bool
    """Whether the work succeeded."""
    ticket_key: str | None = Field(description="The created task; null in a preview.")
    created_in_jira: bool
    """Whether the issue was created (false for a preview)."""
    marker: str = Field(
        description="The label the task carries (`augment-<first 12 hex digits of the job id>`): "
        "how a retry finds it instead of creating it again, and how users find it (`labels = <marker>`)."
    )
    story_link_type: str = Field(description="The link type that joins the story and the task.")
    links_created: list[LinkCreated] = Field(default_factory=list, description="After a create: each link.")
    preview: dict[str, Any] = Field(
        description="`project`, `parent_key`, `summary`, `description`, `test_cases`, `mandays` as they would "
        "be set, and `links`: each link to make (`link_type`, `source_key`, `target_key`; `TASK` for the new one)."
    )
    message: str
    """A sentence on the outcome, for people."""
