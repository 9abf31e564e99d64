"""Jira write operations: `POST /jira/update-ticket` and `POST /jira/update-story-ticket`.

Both are partial: a field left out (or null) is kept as it is. Preview by default
(`update_jira` false): the answer shows the current and the new values and nothing is
written. With `update_jira` the job's plan (field updates, links, the parent) goes through
the one applier; an identical existing link, or a parent already set, counts as done.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

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
    ticket_key: TicketKey
    mandays: float | None = Field(
        default=None, ge=0, le=10_000, description="New mandays estimate (the `jira.mandays_custom_field`)."
    )


class UpdateStoryTicketRequest(TicketFieldsUpdate):
    story_key: TicketKey = Field(description="A Story; another issue type answers 422.")
    parent_key: TicketKey | None = Field(default=None, description="The new parent epic.")


class LinkCreated(BaseModel):
    link_type: str
    source_key: str = Field(description="The ticket the link type's outward phrase starts from (`blocks`).")
    target_key: str
    status: Literal["created", "already_exists"]


class TicketUpdateResult(BaseModel):
    """The answer of both endpoints, preview or update."""

    success: bool
    ticket_key: str
    updated_in_jira: bool
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
