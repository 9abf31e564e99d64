"""Create and edit issues the way Jira validates them.

``IssueEditor`` reads a create or edit body (``fields`` and ``update``), checks every
field first and reports all problems at once as Jira does (400 with ``errors`` keyed by
field), and only then changes the issue, recording a changelog group whose items are
what webhooks carry. A custom field that is not on the screens of the issue's project
(``screen_custom_fields``: a site field a team-managed project has its own of, or another
project's own field) cannot be set, as on Jira.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from sandbox.jira.errors import JiraError, field_error
from sandbox.jira.markup import adf_to_wiki, is_adf_document
from sandbox.jira.model import (
    SPRINT_FIELD,
    ChangeGroup,
    ChangeItem,
    Comment,
    CustomField,
    Issue,
    IssueLink,
    Project,
    User,
)
from sandbox.jira.site import Site

ADF_REQUIRED = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
# Jira's limit on every rich-text field (description, paragraph custom fields) and comment.
TEXT_LIMIT = 32_767
TOO_LONG = f"The entered text is too long. It exceeds the allowed limit of {TEXT_LIMIT:,} characters."
CANNOT_SET = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."
_ON_CREATE_ONLY = {"project"}


@dataclass
class IssueChange:
    """What one create or edit did; the caller turns it into webhooks."""

    issue: Issue
    group: ChangeGroup | None = None
    comments: list[Comment] = field(default_factory=list)
    links: list[IssueLink] = field(default_factory=list)
    # Whether Jira would e-mail watchers about it: always, unless an admin sent notifyUsers=false.
    notified: bool = True


def read_body(value: Any, version: str, field_id: str) -> str | None:
    """A rich-text value as stored (wiki): v2 sends strings, v3 ADF documents.

    More than ``TEXT_LIMIT`` characters is a 400 naming the field. v2 counts the wiki
    text; v3 counts the document's compact JSON, as Jira Cloud stores ADF, so a v3
    document holds less visible text than a v2 string.
    """
    if value is None:
        return None
    if version == "3":
        if not is_adf_document(value):
            raise field_error(field_id, ADF_REQUIRED)
        _check_length(field_id, len(json.dumps(value, separators=(",", ":"), ensure_ascii=False)))
        return adf_to_wiki(value)
    if not isinstance(value, str):
        raise field_error(field_id, "Operation value must be a string")
    _check_length(field_id, len(value))
    return value


def _check_length(field_id: str, length: int) -> None:
    if length > TEXT_LIMIT:
        raise field_error(field_id, TOO_LONG)


def screen_custom_fields(site: Site, project: Project) -> list[CustomField]:
    """The custom fields on `project`'s screens: the site's, except where a field of the
    project's own (team-managed) has the same name, and the project's own."""
    fields = site.data.custom_fields
    own = {field.name.lower() for field in fields if field.project_id == project.id}
    return [
        field
        for field in fields
        if field.project_id == project.id or (field.project_id is None and field.name.lower() not in own)
    ]


class IssueEditor:
    def __init__(self, site: Site, actor: User, version: str, now: datetime) -> None:
        self.site = site
        self.actor = actor
        self.version = version
        self.now = now

    # --- entry points -------------------------------------------------------------

    def create(self, body: Any) -> IssueChange:
        fields, updates = _split_body(body)
        errors: dict[str, str] = {}
        project = self._project(fields.get("project"), errors)
        issue_type_id = self._issue_type(fields.get("issuetype"), project, errors, required=True)
        values = self._read_fields(fields, updates, errors, creating=True, project=project)
        if project is None or issue_type_id is None or errors:
            raise JiraError(400, errors=errors)
        self._check_hierarchy(None, project.id, values.get("parent"), issue_type_id)
        operations = self._read_operations(updates)

        issue = Issue(
            id=str(self.site.next_id("issue")),
            key=self.site.next_issue_key(project),
            project_id=project.id,
            issue_type_id=issue_type_id,
            status_id=self.site.data.statuses[0].id,
            priority_id=next(p.id for p in self.site.data.priorities if p.name == "Medium"),
            summary="",
            reporter_id=self.actor.account_id,
            creator_id=self.actor.account_id,
            created=self.now,
            updated=self.now,
            status_changed=self.now,
        )
        self._apply(issue, values, record=False)
        self.site.add_issue(issue)
        change = IssueChange(issue)
        self._apply_operations(issue, operations, change)
        return change

    def edit(self, issue: Issue, body: Any, *, notify_users: bool = True) -> IssueChange:
        """Apply a PUT body. ``notify_users=False`` (``?notifyUsers=false``) silences the
        notification only when the actor is an admin; anyone else's request ignores it."""
        fields, updates = _split_body(body)
        errors: dict[str, str] = {}
        for name in fields.keys() & _ON_CREATE_ONLY:
            errors[name] = CANNOT_SET.format(name)
        if "issuetype" in fields:
            project = self.site.project(issue.project_id)
            type_id = self._issue_type(fields["issuetype"], project, errors, required=True)
            if type_id is not None:
                fields = {**fields, "issuetype": type_id}
        values = self._read_fields(
            {k: v for k, v in fields.items() if k not in _ON_CREATE_ONLY},
            updates,
            errors,
            creating=False,
            issue=issue,
            project=self.site.project(issue.project_id),
        )
        if errors:
            raise JiraError(400, errors=errors)
        new_type = values.get("issuetype", issue.issue_type_id)
        if "parent" in values or "issuetype" in values:
            self._check_hierarchy(issue.id, issue.project_id, values.get("parent", issue.parent_id), new_type)
        operations = self._read_operations(updates)
        change = IssueChange(issue, notified=notify_users or self.actor.role != "admin")
        items = self._apply(issue, values, record=True)
        self._apply_operations(issue, operations, change)
        if items:
            change.group = self.record(issue, items)
        elif change.comments:
            issue.updated = self.now
        return change

    def record(self, issue: Issue, items: list[ChangeItem]) -> ChangeGroup:
        group = ChangeGroup(
            id=str(self.site.next_id("changegroup")), author_id=self.actor.account_id, created=self.now, items=items
        )
        issue.history.append(group)
        issue.updated = self.now
        return group

    def add_comment(self, issue: Issue, body: str) -> Comment:
        comment = Comment(
            id=str(self.site.next_id("comment")),
            author_id=self.actor.account_id,
            body=body,
            created=self.now,
            updated=self.now,
            update_author_id=self.actor.account_id,
        )
        issue.comments.append(comment)
        issue.updated = self.now
        return comment

    # --- reading fields -----------------------------------------------------------

    def _read_fields(
        self,
        fields: dict[str, Any],
        updates: dict[str, list[Any]],
        errors: dict[str, str],
        *,
        creating: bool,
        issue: Issue | None = None,
        project: Project | None,
    ) -> dict[str, Any]:
        """Validate ``fields`` plus the ``set``/``add``/``remove`` operations of ``update``
        into final values keyed by field id. ``project`` None: a create whose project is
        already an error, so custom fields are checked against the site's."""
        values: dict[str, Any] = {}
        on_screen = None if project is None else {field.id for field in screen_custom_fields(self.site, project)}
        for name in fields.keys() & updates.keys():
            errors[name] = f"Field '{name}' cannot be set in both 'fields' and 'update'."
        raw: dict[str, Any] = {k: v for k, v in fields.items() if k not in ("project",)}
        for name, operations in updates.items():
            if name in ("comment", "issuelinks") or name in errors:
                continue
            current = list(issue.labels) if issue is not None and name == "labels" else []
            result = self._fold_operations(name, operations, current, errors)
            if result is not _INVALID:
                raw[name] = result
        for name, value in raw.items():
            if name == "issuetype":
                if not creating:
                    values["issuetype"] = value
                continue
            try:
                values[name] = self._read_value(name, value, on_screen)
            except JiraError as error:
                errors.update(error.errors)
        if creating and "summary" not in errors and not str(values.get("summary", "")).strip():
            errors["summary"] = "You must specify a summary of the issue."
        return values

    def _fold_operations(self, name: str, operations: list[Any], current: list[str], errors: dict[str, str]) -> Any:
        result: Any = current
        for operation in operations:
            if not isinstance(operation, dict) or len(operation) != 1:
                errors[name] = f"Field '{name}': each update operation must be an object like {{\"set\": value}}."
                return _INVALID
            ((verb, value),) = operation.items()
            if verb == "set":
                result = value
            elif verb in ("add", "remove") and name == "labels":
                if not isinstance(value, str):
                    errors[name] = "Operation value must be a string"
                    return _INVALID
                labels = list(result or [])
                if verb == "add" and value not in labels:
                    labels.append(value)
                if verb == "remove" and value in labels:
                    labels.remove(value)
                result = labels
            else:
                errors[name] = f"Field '{name}' does not support the '{verb}' operation."
                return _INVALID
        return result

    def _read_value(self, name: str, value: Any, on_screen: set[str] | None) -> Any:
        if name == "summary":
            return _summary(value)
        if name == "description":
            return read_body(value, self.version, name)
        if name == "labels":
            return _labels(value)
        if name in ("assignee", "reporter"):
            return self._person(name, value)
        if name == "priority":
            return self._priority(value)
        if name == "parent":
            return self._parent(value)
        custom = self.site.custom_field(name)
        if custom is None or (on_screen is not None and custom.id not in on_screen):
            raise field_error(name, CANNOT_SET.format(name))
        if name == SPRINT_FIELD:
            return self._sprint(value)
        if value is None:
            return None
        if custom.custom_type.endswith(":textarea"):
            return read_body(value, self.version, name)
        if custom.type == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise field_error(name, "Operation value must be a number")
            return value
        if not isinstance(value, str):
            raise field_error(name, "Operation value must be a string")
        if custom.custom_type.endswith(":url") and value:
            parsed = urlparse(value)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise field_error(name, "Not a valid URL")
        return value

    def _project(self, value: Any, errors: dict[str, str]) -> Project | None:
        reference = value.get("id") or value.get("key") if isinstance(value, dict) else value
        project = self.site.project(str(reference)) if reference else None
        if project is None:
            errors["project"] = "Specify a valid project ID or key"
        return project

    def _issue_type(self, value: Any, project: Project | None, errors: dict[str, str], *, required: bool) -> str | None:
        if value is None and not required:
            return None
        reference = (value.get("id") or value.get("name")) if isinstance(value, dict) else value
        for type_id in project.issue_type_ids if project else []:
            issue_type = self.site.issue_type(type_id)
            if reference in (issue_type.id, issue_type.name):
                return issue_type.id
        errors["issuetype"] = "Specify an issue type" if reference is None else "Specify a valid issue type"
        return None

    def _person(self, name: str, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, dict) or set(value) != {"accountId"}:
            raise field_error(name, "'accountId' must be the only user identifying property in the user object")
        if value["accountId"] is None:
            return None
        user = self.site.user(value["accountId"])
        if user is None:
            raise field_error(name, "Specified user does not exist or you do not have required permissions")
        if name == "assignee" and user.role == "viewer":
            raise field_error(name, f"User '{user.account_id}' cannot be assigned issues.")
        return user.account_id

    def _priority(self, value: Any) -> str:
        reference = (value.get("id") or value.get("name")) if isinstance(value, dict) else None
        for priority in self.site.data.priorities:
            if reference in (priority.id, priority.name):
                return priority.id
        raise field_error("priority", "Specify the Priority (id or name) in the string format")

    def _parent(self, value: Any) -> str | None:
        if value is None:
            return None
        reference = (value.get("key") or value.get("id")) if isinstance(value, dict) else None
        parent = self.site.issue(reference) if reference else None
        if parent is None:
            raise field_error("parent", "Could not find issue by id or key.")
        return parent.id

    def _sprint(self, value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
            raise field_error(SPRINT_FIELD, "Number value expected as the Sprint id.")
        sprint = self.site.sprint(int(value))
        if sprint is None:
            raise field_error(SPRINT_FIELD, f"Sprint with id {value} does not exist.")
        if sprint.state == "closed":
            raise field_error(SPRINT_FIELD, "Issue can be assigned only active or future sprints.")
        return sprint.id

    def _check_hierarchy(self, issue_id: str | None, project_id: str, parent_id: str | None, type_id: str) -> None:
        level = self.site.issue_type(type_id).hierarchy_level
        if parent_id is None:
            if level < 0:
                raise field_error("parent", "Issue type is a sub-task but parent issue key or id not specified.")
            return
        parent = self.site.issue(parent_id)
        assert parent is not None
        if (
            parent.id == issue_id
            or parent.project_id != project_id
            or self.site.issue_type(parent.issue_type_id).hierarchy_level != level + 1
        ):
            raise field_error("parent", "Given parent work item does not belong to appropriate hierarchy.")

    # --- applying -----------------------------------------------------------------

    def _apply(self, issue: Issue, values: dict[str, Any], *, record: bool) -> list[ChangeItem]:
        items: list[ChangeItem] = []
        for name, value in values.items():
            item = self._set(issue, name, value)
            if item is not None and record:
                items.append(item)
        return items

    def _set(self, issue: Issue, name: str, value: Any) -> ChangeItem | None:
        site = self.site
        if name == "summary" and value != issue.summary:
            item = ChangeItem(
                field="summary", fieldtype="jira", field_id="summary", from_string=issue.summary, to_string=value
            )
            issue.summary = value
            return item
        if name == "description" and value != issue.description:
            item = ChangeItem(
                field="description",
                fieldtype="jira",
                field_id="description",
                from_string=issue.description,
                to_string=value,
            )
            issue.description = value
            return item
        if name == "labels" and value != issue.labels:
            item = ChangeItem(
                field="labels",
                fieldtype="jira",
                field_id="labels",
                from_string=" ".join(issue.labels) or None,
                to_string=" ".join(value) or None,
            )
            issue.labels = value
            return item
        if name == "issuetype" and value != issue.issue_type_id:
            item = ChangeItem(
                field="issuetype",
                fieldtype="jira",
                field_id="issuetype",
                from_value=issue.issue_type_id,
                from_string=site.issue_type(issue.issue_type_id).name,
                to_value=value,
                to_string=site.issue_type(value).name,
            )
            issue.issue_type_id = value
            return item
        if name == "priority" and value != issue.priority_id:
            item = ChangeItem(
                field="priority",
                fieldtype="jira",
                field_id="priority",
                from_value=issue.priority_id,
                from_string=site.priority(issue.priority_id).name,
                to_value=value,
                to_string=site.priority(value).name,
            )
            issue.priority_id = value
            return item
        if name in ("assignee", "reporter"):
            attribute = f"{name}_id"
            old = getattr(issue, attribute)
            if value == old:
                return None
            setattr(issue, attribute, value)
            return ChangeItem(
                field=name,
                fieldtype="jira",
                field_id=name,
                from_value=old,
                from_string=_display_name(site, old),
                to_value=value,
                to_string=_display_name(site, value),
            )
        if name == "parent" and value != issue.parent_id:
            old_parent = site.issue(issue.parent_id) if issue.parent_id else None
            new_parent = site.issue(value) if value else None
            issue.parent_id = value
            return ChangeItem(
                field="IssueParentAssociation",
                fieldtype="jira",
                field_id="parent",
                from_value=issue_id_or_none(old_parent),
                from_string=old_parent.key if old_parent else None,
                to_value=issue_id_or_none(new_parent),
                to_string=new_parent.key if new_parent else None,
            )
        if name == SPRINT_FIELD:
            return self.move_to_sprint(issue, value)
        custom = site.custom_field(name)
        if custom is not None and value != issue.custom.get(name):
            old = issue.custom.get(name)
            issue.custom[name] = value
            return ChangeItem(
                field=custom.name,
                fieldtype="custom",
                field_id=custom.id,
                from_string=_text(old),
                to_string=_text(value),
            )
        return None

    def move_to_sprint(self, issue: Issue, sprint_id: int | None) -> ChangeItem | None:
        """Put the issue in a future/active sprint (or take it out of its open one).
        Closed sprints stay in the issue's sprint history, as in Jira."""
        current = self.site.open_sprint_of(issue)
        if (current.id if current else None) == sprint_id:
            return None
        before = list(issue.sprint_ids)
        if current is not None:
            issue.sprint_ids.remove(current.id)
        if sprint_id is not None:
            issue.sprint_ids.append(sprint_id)
        return ChangeItem(
            field="Sprint",
            fieldtype="custom",
            field_id=SPRINT_FIELD,
            from_value=", ".join(map(str, before)) or None,
            from_string=self._sprint_names(before),
            to_value=", ".join(map(str, issue.sprint_ids)) or None,
            to_string=self._sprint_names(issue.sprint_ids),
        )

    def _sprint_names(self, sprint_ids: list[int]) -> str | None:
        names = [sprint.name for sprint in map(self.site.sprint, sprint_ids) if sprint is not None]
        return ", ".join(names) or None

    def _read_operations(self, updates: dict[str, list[Any]]) -> _Operations:
        """Check ``update.comment`` (add) and ``update.issuelinks`` (add) before anything changes."""
        operations = _Operations()
        for operation in updates.get("comment", []):
            body = operation.get("add", {}).get("body") if isinstance(operation, dict) else None
            text = read_body(body, self.version, "comment")
            if not text:
                raise field_error("comment", "Comment body can not be empty!")
            operations.comments.append(text)
        for operation in updates.get("issuelinks", []):
            add = operation.get("add") if isinstance(operation, dict) else None
            if not isinstance(add, dict):
                raise field_error("issuelinks", "Only the 'add' operation is supported for issue links.")
            kind = given if isinstance(given := add.get("type"), dict) else {}
            link_type = self.site.link_type(str(kind.get("name") or kind.get("id")))
            other_ref = add.get("outwardIssue") or add.get("inwardIssue") or {}
            other = self.site.issue(other_ref.get("key") or other_ref.get("id") or "")
            if link_type is None or other is None:
                raise field_error("issuelinks", "Could not find the issue link type or the linked issue.")
            # The new link's other end is the issue being created or edited.
            operations.links.append((link_type.id, other, "outwardIssue" in add))
        return operations

    def _apply_operations(self, issue: Issue, operations: _Operations, change: IssueChange) -> None:
        for text in operations.comments:
            change.comments.append(self.add_comment(issue, text))
        for type_id, other, other_is_outward in operations.links:
            inward, outward = (issue, other) if other_is_outward else (other, issue)
            change.links.append(self.link(type_id, inward, outward))

    def link(self, type_id: str, inward: Issue, outward: Issue) -> IssueLink:
        link = IssueLink(
            id=str(self.site.next_id("link")), type_id=type_id, inward_issue_id=inward.id, outward_issue_id=outward.id
        )
        self.site.data.links.append(link)
        inward.updated = outward.updated = self.now
        return link


_INVALID = object()


@dataclass
class _Operations:
    comments: list[str] = field(default_factory=list)
    links: list[tuple[str, Issue, bool]] = field(default_factory=list)  # (type id, other issue, other is outward)


def issue_id_or_none(issue: Issue | None) -> str | None:
    return None if issue is None else issue.id


def _split_body(body: Any) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    if not isinstance(body, dict):
        raise JiraError(400, "Request body must be a JSON object.")
    fields = body.get("fields") or {}
    updates = body.get("update") or {}
    if not isinstance(fields, dict) or not isinstance(updates, dict):
        raise JiraError(400, "'fields' and 'update' must be JSON objects.")
    for name, operations in updates.items():
        if not isinstance(operations, list):
            raise field_error(name, f"Field '{name}': update operations must be a list.")
    return fields, updates


def _summary(value: Any) -> str:
    if not isinstance(value, str):
        raise field_error("summary", "Operation value must be a string")
    if "\n" in value or "\r" in value:
        raise field_error("summary", "The summary is invalid because it contains newline characters.")
    if len(value) > 255:
        raise field_error("summary", "Summary must be less than 255 characters.")
    return value


def _labels(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(label, str) for label in value):
        raise field_error("labels", "Operation value must be a list of strings")
    labels: list[str] = []
    for label in value:
        if not label or " " in label:
            raise field_error("labels", f"The label '{label}' contains spaces which is invalid.")
        if len(label) > 255:
            raise field_error("labels", "The label must not exceed 255 characters.")
        if label not in labels:
            labels.append(label)
    return labels


def _display_name(site: Site, account_id: str | None) -> str | None:
    user = site.user(account_id)
    return None if user is None else user.display_name


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
