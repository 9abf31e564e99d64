"""The sandbox's data: everything a Jira Cloud site holds that Augment touches.

Pydantic models so that a whole site round-trips through one JSON snapshot file.
Bodies (descriptions, comments, textarea fields) are stored once, as wiki markup —
the REST v2 form — and converted on the way out for v3 (see ``markup``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Role = Literal["admin", "member", "viewer"]
SprintState = Literal["future", "active", "closed"]
# Jira Cloud's usual id for the Sprint custom field.
SPRINT_FIELD = "customfield_10020"


class User(BaseModel):
    account_id: str
    email: str
    display_name: str
    api_token: str
    # admin: everything; member: browse, create, edit, comment, link, manage sprints;
    # viewer: browse only.
    role: Role
    time_zone: str = "Etc/UTC"
    active: bool = True


class Status(BaseModel):
    id: str
    name: str
    category: Literal["new", "indeterminate", "done"]


class Priority(BaseModel):
    id: str
    name: str


class IssueType(BaseModel):
    id: str
    name: str
    description: str
    # Jira Cloud's hierarchy: 1 epic, 0 standard, -1 sub-task.
    hierarchy_level: int


class Project(BaseModel):
    id: str
    key: str
    name: str
    description: str
    lead_account_id: str
    issue_type_ids: list[str]
    # Team-managed ("next-gen", `simplified`): its issues use its own custom fields.
    team_managed: bool = False


class CustomField(BaseModel):
    id: str  # customfield_NNNNN
    name: str
    # Jira's schema of the field: {"type", "custom", "items"?}; customId is derived.
    type: str
    custom_type: str
    items: str | None = None
    # The "[Type]" suffix Jira adds to one of the clause names, e.g. "URL Field".
    clause_suffix: str
    # Set: the field belongs to this team-managed project only (`scope` in GET /field).
    project_id: str | None = None


class Comment(BaseModel):
    id: str
    author_id: str
    body: str  # wiki markup
    created: datetime
    updated: datetime
    update_author_id: str


class Attachment(BaseModel):
    id: str
    filename: str
    author_id: str
    created: datetime
    mime_type: str
    size: int
    content_base64: str  # the bytes, as text so the snapshot stays JSON


class ChangeItem(BaseModel):
    field: str
    fieldtype: Literal["jira", "custom"]
    field_id: str | None
    from_value: str | None = None
    from_string: str | None = None
    to_value: str | None = None
    to_string: str | None = None


class ChangeGroup(BaseModel):
    id: str
    author_id: str
    created: datetime
    items: list[ChangeItem]


class Issue(BaseModel):
    id: str
    key: str
    project_id: str
    issue_type_id: str
    status_id: str
    priority_id: str
    summary: str
    description: str | None = None  # wiki markup
    labels: list[str] = Field(default_factory=list)
    parent_id: str | None = None
    assignee_id: str | None = None
    reporter_id: str | None = None
    creator_id: str
    created: datetime
    updated: datetime
    status_changed: datetime
    resolution_date: datetime | None = None
    # customfield id -> value (strings, numbers); the Sprint field lives in sprint_ids.
    custom: dict[str, Any] = Field(default_factory=dict)
    # Every sprint the issue has been in, oldest first; at most the last is open.
    sprint_ids: list[int] = Field(default_factory=list)
    comments: list[Comment] = Field(default_factory=list)
    attachments: list[Attachment] = Field(default_factory=list)
    history: list[ChangeGroup] = Field(default_factory=list)
    # Board order (`ORDER BY Rank`): lexorank-like text such as "0|i0000c:", compared as text,
    # lower first; None (every issue made after start) sorts after the ranked ones, by id.
    rank: str | None = None


class IssueLinkType(BaseModel):
    id: str
    name: str
    inward: str
    outward: str


class IssueLink(BaseModel):
    id: str
    type_id: str
    inward_issue_id: str
    outward_issue_id: str


class Board(BaseModel):
    id: int
    name: str
    type: Literal["scrum", "kanban"]
    project_id: str


class Sprint(BaseModel):
    id: int
    name: str
    state: SprintState
    board_id: int
    goal: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    complete: datetime | None = None
    created: datetime


class Webhook(BaseModel):
    id: int
    name: str
    url: str
    events: list[str]
    jql: str | None = None
    secret: str | None = None
    enabled: bool = True
    updated: datetime
    updated_by_id: str


class SiteData(BaseModel):
    """One Jira site. ``next_ids`` hands out the ids Jira would: issues and comments
    from 10000, sprints and webhooks from 1."""

    users: list[User]
    statuses: list[Status]
    priorities: list[Priority]
    issue_types: list[IssueType]
    projects: list[Project]
    custom_fields: list[CustomField]
    link_types: list[IssueLinkType]
    issues: list[Issue] = Field(default_factory=list)
    links: list[IssueLink] = Field(default_factory=list)
    boards: list[Board] = Field(default_factory=list)
    sprints: list[Sprint] = Field(default_factory=list)
    webhooks: list[Webhook] = Field(default_factory=list)
    next_ids: dict[str, int] = Field(default_factory=dict)
    # Per project key, the number of the last issue created in it.
    issue_counters: dict[str, int] = Field(default_factory=dict)
