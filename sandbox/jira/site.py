"""The in-memory Jira site: lookups and id allocation over ``SiteData``.

Handlers read and change the models in place; this class only finds things and
hands out ids, so every rule about *what* may change lives in the handlers and
``issue_edits``.
"""

from __future__ import annotations

from collections.abc import Iterator

from sandbox.jira.model import (
    Board,
    CustomField,
    Issue,
    IssueLink,
    IssueLinkType,
    IssueType,
    Priority,
    Project,
    SiteData,
    Sprint,
    Status,
    User,
    Webhook,
)

# Where Jira starts counting each kind of id.
_FIRST_IDS = {"issue": 10000, "comment": 10000, "link": 10000, "changegroup": 10000, "sprint": 1, "webhook": 1}


class Site:
    def __init__(self, data: SiteData) -> None:
        self.data = data
        self._issues_by_id = {issue.id: issue for issue in data.issues}
        self._issues_by_key = {issue.key: issue for issue in data.issues}

    # --- ids ----------------------------------------------------------------------

    def next_id(self, kind: str) -> int:
        value = self.data.next_ids.get(kind, _FIRST_IDS[kind])
        self.data.next_ids[kind] = value + 1
        return value

    def next_issue_key(self, project: Project) -> str:
        number = self.data.issue_counters.get(project.key, 0) + 1
        self.data.issue_counters[project.key] = number
        return f"{project.key}-{number}"

    # --- people -------------------------------------------------------------------

    def user(self, account_id: str | None) -> User | None:
        return next((user for user in self.data.users if user.account_id == account_id), None)

    def authenticate(self, email: str, api_token: str) -> User | None:
        for user in self.data.users:
            if user.email.lower() == email.lower() and user.api_token == api_token and user.active:
                return user
        return None

    # --- configuration ------------------------------------------------------------

    def project(self, key_or_id: str) -> Project | None:
        wanted = str(key_or_id)
        return next((p for p in self.data.projects if p.id == wanted or p.key == wanted.upper()), None)

    def issue_type(self, type_id: str) -> IssueType:
        return next(t for t in self.data.issue_types if t.id == type_id)

    def status(self, status_id: str) -> Status:
        return next(s for s in self.data.statuses if s.id == status_id)

    def priority(self, priority_id: str) -> Priority:
        return next(p for p in self.data.priorities if p.id == priority_id)

    def custom_field(self, field_id: str) -> CustomField | None:
        return next((f for f in self.data.custom_fields if f.id == field_id), None)

    def link_type(self, name_or_id: str) -> IssueLinkType | None:
        return next((t for t in self.data.link_types if name_or_id in (t.id, t.name)), None)

    # --- issues -------------------------------------------------------------------

    def issue(self, key_or_id: str | int) -> Issue | None:
        wanted = str(key_or_id).strip()
        return self._issues_by_id.get(wanted) or self._issues_by_key.get(wanted.upper())

    def issues(self) -> Iterator[Issue]:
        return iter(self.data.issues)

    def add_issue(self, issue: Issue) -> None:
        self.data.issues.append(issue)
        self._issues_by_id[issue.id] = issue
        self._issues_by_key[issue.key] = issue

    def children(self, parent: Issue) -> list[Issue]:
        return [issue for issue in self.data.issues if issue.parent_id == parent.id]

    def links_of(self, issue: Issue) -> list[IssueLink]:
        return [link for link in self.data.links if issue.id in (link.inward_issue_id, link.outward_issue_id)]

    def link(self, link_id: str) -> IssueLink | None:
        return next((link for link in self.data.links if link.id == link_id), None)

    # --- agile --------------------------------------------------------------------

    def board(self, board_id: int) -> Board | None:
        return next((b for b in self.data.boards if b.id == board_id), None)

    def sprint(self, sprint_id: int) -> Sprint | None:
        return next((s for s in self.data.sprints if s.id == sprint_id), None)

    def open_sprint_of(self, issue: Issue) -> Sprint | None:
        """The future or active sprint the issue is in, if any."""
        for sprint_id in reversed(issue.sprint_ids):
            sprint = self.sprint(sprint_id)
            if sprint is not None and sprint.state != "closed":
                return sprint
        return None

    def issues_in_sprint(self, sprint: Sprint) -> list[Issue]:
        return [issue for issue in self.data.issues if sprint.id in issue.sprint_ids]

    # --- webhooks -----------------------------------------------------------------

    def webhook(self, webhook_id: int) -> Webhook | None:
        return next((w for w in self.data.webhooks if w.id == webhook_id), None)
