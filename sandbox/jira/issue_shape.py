"""The issue as Jira shows it: ``IssueBean`` with its fields, comments and changelog.

One table, ``SYSTEM_FIELDS``, says which system fields exist, how ``/field`` describes
them and how to read each from an issue; custom fields come from the site. Field
selection follows Jira's ``fields`` parameter (``*all``, ``*navigable``, ``-name``,
names, ``id``), and v3 turns wiki bodies into ADF.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sandbox.jira.markup import wiki_to_adf
from sandbox.jira.model import SPRINT_FIELD, Attachment, ChangeGroup, Comment, Issue
from sandbox.jira.shapes import (
    Json,
    api,
    custom_field_details,
    custom_field_schema,
    field_details,
    issue_type_details,
    link_type_bean,
    priority_bean,
    project_details,
    sprint_field_value,
    status_details,
    timestamp,
    user_details,
)
from sandbox.jira.site import Site

ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"


@dataclass(frozen=True)
class View:
    """What a response is for: the site URL the client used and the REST version."""

    base: str
    site: Site
    version: str  # "2" or "3" (agile and webhooks use the v2 forms)

    @property
    def api(self) -> str:
        return api(self.base, self.version)

    def body(self, wiki: str | None) -> Any:
        return wiki_to_adf(wiki) if self.version == "3" else wiki


@dataclass(frozen=True)
class SystemField:
    id: str
    name: str
    schema: Json | None
    clause_names: list[str]
    read: Callable[[View, Issue], Any] | None
    navigable: bool = True
    orderable: bool = True
    searchable: bool = True


def _user(view: View, account_id: str | None) -> Json | None:
    user = view.site.user(account_id)
    return None if user is None else user_details(view.base, user, view.version)


def _comments_page(view: View, issue: Issue) -> Json:
    comments = [comment_bean(view, issue, comment) for comment in issue.comments]
    return {
        "comments": comments,
        "self": f"{view.api}/issue/{issue.id}/comment",
        "maxResults": len(comments),
        "total": len(comments),
        "startAt": 0,
    }


def _sprints(view: View, issue: Issue) -> list[Json] | None:
    sprints = [view.site.sprint(sprint_id) for sprint_id in issue.sprint_ids]
    values = [sprint_field_value(sprint) for sprint in sprints if sprint is not None]
    return values or None


def _schema(kind: str, system: str, items: str | None = None) -> Json:
    schema: Json = {"type": kind, "system": system}
    if items:
        schema["items"] = items
    return schema


SYSTEM_FIELDS: list[SystemField] = [
    SystemField("issuekey", "Key", None, ["id", "issue", "issuekey", "key"], None, orderable=False),
    SystemField("summary", "Summary", _schema("string", "summary"), ["summary"], lambda v, i: i.summary),
    SystemField(
        "issuetype",
        "Issue Type",
        _schema("issuetype", "issuetype"),
        ["issuetype", "type"],
        lambda v, i: issue_type_details(v.base, v.site.issue_type(i.issue_type_id), v.version),
    ),
    SystemField(
        "parent",
        "Parent",
        None,
        ["parent"],
        lambda v, i: None if i.parent_id is None else _parent(v, i.parent_id),
        searchable=False,
    ),
    SystemField(
        "project",
        "Project",
        _schema("project", "project"),
        ["project"],
        lambda v, i: project_details(v.base, _project(v, i), v.version),
    ),
    SystemField(
        "description",
        "Description",
        _schema("string", "description"),
        ["description"],
        lambda v, i: v.body(i.description),
    ),
    SystemField(
        "status",
        "Status",
        _schema("status", "status"),
        ["status"],
        lambda v, i: status_details(v.base, v.site.status(i.status_id), v.version),
        orderable=False,
    ),
    SystemField(
        "statusCategory",
        "Status Category",
        _schema("statusCategory", "statusCategory"),
        ["statusCategory"],
        None,
        orderable=False,
    ),
    SystemField(
        "priority",
        "Priority",
        _schema("priority", "priority"),
        ["priority"],
        lambda v, i: priority_bean(v.base, v.site.priority(i.priority_id), v.version),
    ),
    SystemField("labels", "Labels", _schema("array", "labels", "string"), ["labels"], lambda v, i: list(i.labels)),
    SystemField(
        "assignee", "Assignee", _schema("user", "assignee"), ["assignee"], lambda v, i: _user(v, i.assignee_id)
    ),
    SystemField(
        "reporter", "Reporter", _schema("user", "reporter"), ["reporter"], lambda v, i: _user(v, i.reporter_id)
    ),
    SystemField(
        "creator",
        "Creator",
        _schema("user", "creator"),
        ["creator"],
        lambda v, i: _user(v, i.creator_id),
        orderable=False,
    ),
    SystemField(
        "created",
        "Created",
        _schema("datetime", "created"),
        ["created", "createdDate"],
        lambda v, i: timestamp(i.created),
        orderable=False,
    ),
    SystemField(
        "updated",
        "Updated",
        _schema("datetime", "updated"),
        ["updated", "updatedDate"],
        lambda v, i: timestamp(i.updated),
        orderable=False,
    ),
    SystemField(
        "statuscategorychangedate",
        "Status Category Changed",
        _schema("datetime", "statuscategorychangedate"),
        ["statusCategoryChangedDate"],
        lambda v, i: timestamp(i.status_changed),
        orderable=False,
    ),
    SystemField(
        "resolution", "Resolution", _schema("resolution", "resolution"), ["resolution"], lambda v, i: _resolution(v, i)
    ),
    SystemField(
        "resolutiondate",
        "Resolved",
        _schema("datetime", "resolutiondate"),
        ["resolutiondate", "resolved"],
        lambda v, i: timestamp(i.resolution_date),
        orderable=False,
    ),
    SystemField("duedate", "Due date", _schema("date", "duedate"), ["due", "duedate"], lambda v, i: None),
    SystemField(
        "issuelinks",
        "Linked Issues",
        _schema("array", "issuelinks", "issuelinks"),
        ["issueLink"],
        lambda v, i: [_issue_link_entry(v, i, link_id) for link_id in _link_ids(v, i)],
    ),
    SystemField(
        "subtasks",
        "Sub-tasks",
        _schema("array", "subtasks", "issuelinks"),
        ["subtasks"],
        lambda v, i: [
            linked_issue(v, child)
            for child in v.site.children(i)
            if v.site.issue_type(child.issue_type_id).hierarchy_level < 0
        ],
        orderable=False,
    ),
    SystemField(
        "comment", "Comment", _schema("comments-page", "comment"), ["comment"], _comments_page, navigable=False
    ),
    SystemField(
        "attachment",
        "Attachment",
        _schema("array", "attachment", "attachment"),
        ["attachments"],
        lambda v, i: [attachment_bean(v, attachment) for attachment in i.attachments],
        navigable=False,
    ),
]


def _project(view: View, issue: Issue) -> Any:
    project = view.site.project(issue.project_id)
    assert project is not None
    return project


def _parent(view: View, parent_id: str) -> Json | None:
    parent = view.site.issue(parent_id)
    return None if parent is None else linked_issue(view, parent)


def _resolution(view: View, issue: Issue) -> Json | None:
    if issue.resolution_date is None:
        return None
    return {
        "self": f"{view.api}/resolution/10000",
        "id": "10000",
        "description": "Work has been completed.",
        "name": "Done",
    }


def _link_ids(view: View, issue: Issue) -> list[str]:
    return [link.id for link in view.site.links_of(issue)]


def _issue_link_entry(view: View, issue: Issue, link_id: str) -> Json:
    link = view.site.link(link_id)
    assert link is not None
    link_type = view.site.link_type(link.type_id)
    assert link_type is not None
    entry: Json = {
        "id": link.id,
        "self": f"{view.api}/issueLink/{link.id}",
        "type": link_type_bean(view.base, link_type, view.version),
    }
    if link.inward_issue_id == issue.id:
        other = view.site.issue(link.outward_issue_id)
        direction = "outwardIssue"
    else:
        other = view.site.issue(link.inward_issue_id)
        direction = "inwardIssue"
    assert other is not None
    entry[direction] = linked_issue(view, other)
    return entry


def linked_issue(view: View, issue: Issue) -> Json:
    """``LinkedIssue``: another issue as it appears inside this one."""
    return {
        "id": issue.id,
        "key": issue.key,
        "self": f"{view.api}/issue/{issue.id}",
        "fields": {
            "summary": issue.summary,
            "status": status_details(view.base, view.site.status(issue.status_id), view.version),
            "priority": priority_bean(view.base, view.site.priority(issue.priority_id), view.version),
            "issuetype": issue_type_details(view.base, view.site.issue_type(issue.issue_type_id), view.version),
        },
    }


def comment_bean(view: View, issue: Issue, comment: Comment) -> Json:
    author = view.site.user(comment.author_id)
    update_author = view.site.user(comment.update_author_id)
    assert author is not None and update_author is not None
    return {
        "self": f"{view.api}/issue/{issue.id}/comment/{comment.id}",
        "id": comment.id,
        "author": user_details(view.base, author, view.version),
        "body": view.body(comment.body),
        "updateAuthor": user_details(view.base, update_author, view.version),
        "created": timestamp(comment.created),
        "updated": timestamp(comment.updated),
        "jsdPublic": True,
    }


def attachment_bean(view: View, attachment: Attachment) -> Json:
    author = view.site.user(attachment.author_id)
    return {
        "self": f"{view.api}/attachment/{attachment.id}",
        "id": attachment.id,
        "filename": attachment.filename,
        "author": None if author is None else user_details(view.base, author, view.version),
        "created": timestamp(attachment.created),
        "size": attachment.size,
        "mimeType": attachment.mime_type,
        "content": f"{view.api}/attachment/content/{attachment.id}",
    }


def change_items(group: ChangeGroup) -> list[Json]:
    items = []
    for item in group.items:
        entry: Json = {"field": item.field, "fieldtype": item.fieldtype}
        if item.field_id is not None:
            entry["fieldId"] = item.field_id
        entry.update(
            {"from": item.from_value, "fromString": item.from_string, "to": item.to_value, "toString": item.to_string}
        )
        items.append(entry)
    return items


def changelog_page(view: View, issue: Issue) -> Json:
    """``PageOfChangelogs``, most recent first as Jira returns it with expand=changelog."""
    histories = []
    for group in reversed(issue.history):
        author = view.site.user(group.author_id)
        history: Json = {"id": group.id, "created": timestamp(group.created), "items": change_items(group)}
        if author is not None:
            history["author"] = user_details(view.base, author, view.version)
        histories.append(history)
    return {"startAt": 0, "maxResults": len(histories), "total": len(histories), "histories": histories}


# --- field catalog and selection ---------------------------------------------------


def field_catalog(site: Site) -> list[Json]:
    """``GET /field``: every system and custom field as ``FieldDetails``."""
    system = [
        field_details(
            f.id,
            f.name,
            schema=f.schema,
            clause_names=f.clause_names,
            custom=False,
            navigable=f.navigable,
            orderable=f.orderable,
            searchable=f.searchable,
        )
        for f in SYSTEM_FIELDS
    ]
    return system + [custom_field_details(field) for field in site.data.custom_fields]


def field_names(site: Site) -> dict[str, str]:
    names = {f.id: f.name for f in SYSTEM_FIELDS if f.read is not None}
    names.update({field.id: field.name for field in site.data.custom_fields})
    return names


def field_schemas(site: Site) -> dict[str, Json]:
    schemas = {f.id: f.schema for f in SYSTEM_FIELDS if f.read is not None and f.schema is not None}
    schemas.update({field.id: custom_field_schema(field) for field in site.data.custom_fields})
    return schemas


@dataclass(frozen=True)
class FieldSelection:
    """Jira's ``fields`` parameter, parsed."""

    ids_only: bool
    everything: bool  # *all
    navigable: bool  # *navigable
    included: frozenset[str]
    excluded: frozenset[str]

    @classmethod
    def parse(cls, values: Iterable[str], default: str) -> FieldSelection:
        tokens = [token.strip() for value in values for token in value.split(",") if token.strip()]
        if not tokens:
            tokens = [default]
        included = {t for t in tokens if not t.startswith("-") and not t.startswith("*")}
        excluded = {t[1:] for t in tokens if t.startswith("-")}
        everything = "*all" in tokens
        # Only exclusions means "navigable fields minus these", as Jira documents.
        navigable = "*navigable" in tokens or (not included and not everything and bool(excluded))
        ids_only = included == {"id"} and not everything and not navigable
        return cls(ids_only, everything, navigable, frozenset(included - {"id", "key"}), frozenset(excluded))

    def wants(self, field_id: str, navigable: bool) -> bool:
        if field_id in self.excluded:
            return False
        return self.everything or (self.navigable and navigable) or field_id in self.included


def issue_bean(view: View, issue: Issue, selection: FieldSelection, expand: set[str]) -> Json:
    """``IssueBean`` for GET issue, search results and webhook payloads."""
    if selection.ids_only:
        return {"id": issue.id}
    fields: Json = {}
    for system_field in SYSTEM_FIELDS:
        if system_field.read is not None and selection.wants(system_field.id, system_field.navigable):
            fields[system_field.id] = system_field.read(view, issue)
    for custom in view.site.data.custom_fields:
        if selection.wants(custom.id, True):
            fields[custom.id] = _custom_value(view, issue, custom.id, custom.custom_type)
    bean: Json = {
        "expand": ISSUE_EXPAND,
        "id": issue.id,
        "self": f"{view.api}/issue/{issue.id}",
        "key": issue.key,
        "fields": fields,
    }
    if "names" in expand:
        bean["names"] = {field_id: name for field_id, name in field_names(view.site).items() if field_id in fields}
    if "schema" in expand:
        bean["schema"] = {
            field_id: schema for field_id, schema in field_schemas(view.site).items() if field_id in fields
        }
    if "changelog" in expand:
        bean["changelog"] = changelog_page(view, issue)
    return bean


def _custom_value(view: View, issue: Issue, field_id: str, custom_type: str) -> Any:
    if field_id == SPRINT_FIELD:
        return _sprints(view, issue)
    value = issue.custom.get(field_id)
    if custom_type.endswith(":textarea"):
        return view.body(value)
    return value


def trimmed_issue(view: View, issue: Issue) -> Json:
    """The short issue inside comment webhooks."""
    project = _project(view, issue)
    return {
        "id": issue.id,
        "self": f"{view.api}/issue/{issue.id}",
        "key": issue.key,
        "fields": {
            "summary": issue.summary,
            "issuetype": issue_type_details(view.base, view.site.issue_type(issue.issue_type_id), view.version),
            "project": project_details(view.base, project, view.version),
            "assignee": _user(view, issue.assignee_id),
            "priority": priority_bean(view.base, view.site.priority(issue.priority_id), view.version),
            "status": status_details(view.base, view.site.status(issue.status_id), view.version),
        },
    }
