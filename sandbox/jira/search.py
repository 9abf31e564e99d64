"""JQL over the site: the bridge between stored issues and ``sandbox.jql``.

``issue_facts`` describes an issue the way the JQL engine reads it; ``find_issues``
compiles a query (400 with Jira's message when it is malformed) and returns the
matching issues in the query's order, out of the issues the search sees (``seen``: the
lagging index's versions, ``sandbox.jira.search_index``; by default the site as it is).
"""

from __future__ import annotations

import re
from datetime import datetime

from sandbox.jira.errors import JiraError
from sandbox.jira.markup import wiki_to_text
from sandbox.jira.model import Issue
from sandbox.jira.site import Site
from sandbox.jql import IssueFacts, JqlError, Query, compile_jql

_UNBOUNDED = re.compile(r"\s*(order\s+by\b.*)?", re.IGNORECASE | re.DOTALL)


def issue_facts(site: Site, issue: Issue) -> IssueFacts:
    project = site.project(issue.project_id)
    assert project is not None
    parent = site.issue(issue.parent_id) if issue.parent_id else None
    sprints = [site.sprint(sprint_id) for sprint_id in issue.sprint_ids]
    return IssueFacts(
        key=issue.key,
        id=int(issue.id),
        project=project.key,
        project_name=project.name,
        issuetype=site.issue_type(issue.issue_type_id).name,
        status=site.status(issue.status_id).name,
        labels=tuple(issue.labels),
        parent=parent.key if parent else None,
        sprints=tuple((s.id, s.name, s.state) for s in sprints if s is not None),
        summary=issue.summary,
        description=wiki_to_text(issue.description),
        comments=tuple(wiki_to_text(comment.body) for comment in issue.comments),
        assignee=issue.assignee_id,
        reporter=issue.reporter_id,
        created=issue.created,
        updated=issue.updated,
        custom={field_id: value for field_id, value in issue.custom.items()},
        rank=issue.rank,
    )


def compile_query(site: Site, jql: str, now: datetime, current_user: str | None = None) -> Query:
    """Compile ``jql`` against this site: values that do not exist are refused, as Jira
    does, and ``currentUser()`` is ``current_user``."""
    # A team-managed project's own fields are left out: their names are the site's too.
    names = {field.name.lower(): field.id for field in site.data.custom_fields if field.project_id is None}
    data = site.data
    account_ids = [user.account_id for user in data.users]
    known_values = {
        "project": [p.key for p in data.projects] + [p.name for p in data.projects],
        "issuetype": [t.name for t in data.issue_types],
        "status": [s.name for s in data.statuses],
        "sprint": [s.name for s in data.sprints] + [str(s.id) for s in data.sprints],
        "assignee": account_ids,
        "reporter": account_ids,
    }
    try:
        return compile_jql(jql, now=now, custom_field_names=names, known_values=known_values, current_user=current_user)
    except JqlError as error:
        raise JiraError(400, str(error)) from None


def find_issues(
    site: Site, jql: str, now: datetime, current_user: str | None = None, seen: list[Issue] | None = None
) -> list[Issue]:
    """Issues matching ``jql`` in its order. The enhanced search refuses unbounded
    queries (no restriction before ORDER BY), as Jira Cloud does."""
    if _UNBOUNDED.fullmatch(jql):
        raise JiraError(
            400, "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
        )
    query = compile_query(site, jql, now, current_user)
    issues = {issue.key: issue for issue in (site.issues() if seen is None else seen)}
    facts = [issue_facts(site, issue) for issue in issues.values()]
    ordered = query.order([fact for fact in facts if query.matches(fact)])
    return [issues[fact.key] for fact in ordered]


def matches(site: Site, jql: str, issue: Issue, now: datetime) -> bool:
    """Whether one issue matches ``jql`` (webhook filters); a bad filter matches nothing."""
    try:
        query = compile_query(site, jql, now)
    except JiraError:
        return False
    return query.matches(issue_facts(site, issue))
