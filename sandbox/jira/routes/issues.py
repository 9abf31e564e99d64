"""Issues: get, create, edit and transition, each announcing its webhook events."""

from __future__ import annotations

from aiohttp import web

from sandbox.jira.auth import require
from sandbox.jira.errors import JiraError
from sandbox.jira.http import jira_json, no_content, query_list, read_json
from sandbox.jira.issue_edits import IssueChange, IssueEditor
from sandbox.jira.issue_shape import FieldSelection, issue_bean
from sandbox.jira.model import ChangeItem, Issue, Status, User
from sandbox.jira.routes import API
from sandbox.jira.shapes import status_details
from sandbox.jira.state import JiraState, api_version, state_of


async def get_issue(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    issue = state.find_issue(request.match_info["issue"])
    selection = FieldSelection.parse(query_list(request, "fields"), default="*all")
    expand = set(query_list(request, "expand"))
    return jira_json(issue_bean(state.view(request), issue, selection, expand))


async def create_issue(request: web.Request) -> web.Response:
    actor = require(request, "write", "You do not have permission to create issues in this project.")
    state = state_of(request)
    body = await read_json(request)
    editor = IssueEditor(state.site, actor, api_version(request), state.clock.now())
    change = editor.create(body)
    state.events.issue_created(change.issue, actor)
    announce_side_effects(state, change, actor)
    view = state.view(request)
    return jira_json(
        {"id": change.issue.id, "key": change.issue.key, "self": f"{view.api}/issue/{change.issue.id}"}, status=201
    )


async def edit_issue(request: web.Request) -> web.Response:
    actor = require(request, "write", "You do not have permission to edit issues in this project.")
    state = state_of(request)
    issue = state.find_issue(request.match_info["issue"])
    body = await read_json(request)
    notify_users = request.query.get("notifyUsers", "true").lower() != "false"
    change = IssueEditor(state.site, actor, api_version(request), state.clock.now()).edit(
        issue, body, notify_users=notify_users
    )
    if change.group is not None:
        state.events.issue_updated(issue, actor, change.group)
        state.edit_notifications.append((issue.key, change.notified))
    announce_side_effects(state, change, actor)
    if request.query.get("returnIssue") == "true":
        return jira_json(issue_bean(state.view(request), issue, FieldSelection.parse([], "*all"), set()))
    return no_content()


def announce_side_effects(state: JiraState, change: IssueChange, actor: User) -> None:
    """Comments and links made through ``update`` fire their own events, as in Jira."""
    for comment in change.comments:
        state.events.comment_created(change.issue, comment)
        state.events.issue_updated(change.issue, actor, None, event_type="issue_commented", comment=comment)
    for link in change.links:
        state.events.issuelink_created(link)


async def assign_issue(request: web.Request) -> web.Response:
    """``PUT /issue/{key}/assignee`` with ``{"accountId": id | null}`` (jira's ``assign_issue``)."""
    actor = require(request, "write", "You do not have permission to assign issues in this project.")
    state = state_of(request)
    issue = state.find_issue(request.match_info["issue"])
    body = await read_json(request)
    change = IssueEditor(state.site, actor, api_version(request), state.clock.now()).edit(
        issue, {"fields": {"assignee": body}}
    )
    if change.group is not None:
        state.events.issue_updated(issue, actor, change.group)
    return no_content()


# --- transitions: every status is reachable from every other, as in a simple workflow.


async def get_transitions(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    issue = state.find_issue(request.match_info["issue"])
    view = state.view(request)
    return jira_json(
        {
            "expand": "transitions",
            "transitions": [
                {
                    "id": transition_id,
                    "name": status.name,
                    "to": status_details(view.base, status, view.version),
                    "hasScreen": False,
                    "isGlobal": True,
                    "isInitial": False,
                    "isAvailable": True,
                    "isConditional": False,
                    "isLooped": False,
                }
                for transition_id, status in _transitions(state).items()
                if status.id != issue.status_id
            ],
        }
    )


async def do_transition(request: web.Request) -> web.Response:
    actor = require(request, "write", "You do not have permission to transition this issue.")
    state = state_of(request)
    issue = state.find_issue(request.match_info["issue"])
    body = await read_json(request)
    transition_id = str((body.get("transition") or {}).get("id", "")) if isinstance(body, dict) else ""
    target = _transitions(state).get(transition_id)
    if target is None or target.id == issue.status_id:
        raise JiraError(400, "Transition id '" + transition_id + "' is not valid for this issue.")
    editor = IssueEditor(state.site, actor, api_version(request), state.clock.now())
    change = editor.edit(issue, {k: v for k, v in body.items() if k in ("fields", "update")})
    items = list(change.group.items) if change.group else []
    items.extend(_status_change(state, issue, target.id))
    if change.group is not None:
        issue.history.remove(change.group)
    group = editor.record(issue, items)
    state.events.issue_updated(issue, actor, group, event_type="issue_generic")
    announce_side_effects(state, change, actor)
    return no_content()


def _transitions(state: JiraState) -> dict[str, Status]:
    """One global transition into each status, numbered 11, 21, 31... as Jira does."""
    return {str(11 + 10 * index): status for index, status in enumerate(state.site.data.statuses)}


def _status_change(state: JiraState, issue: Issue, status_id: str) -> list[ChangeItem]:
    site = state.site
    old, new = site.status(issue.status_id), site.status(status_id)
    items = [
        ChangeItem(
            field="status",
            fieldtype="jira",
            field_id="status",
            from_value=old.id,
            from_string=old.name,
            to_value=new.id,
            to_string=new.name,
        )
    ]
    issue.status_id = new.id
    issue.status_changed = state.clock.now()
    if new.category == "done" and issue.resolution_date is None:
        issue.resolution_date = state.clock.now()
        items.append(
            ChangeItem(field="resolution", fieldtype="jira", field_id="resolution", to_value="10000", to_string="Done")
        )
    elif new.category != "done" and issue.resolution_date is not None:
        issue.resolution_date = None
        items.append(
            ChangeItem(
                field="resolution", fieldtype="jira", field_id="resolution", from_value="10000", from_string="Done"
            )
        )
    return items


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_post(f"{API}/issue", create_issue)
    router.add_get(f"{API}/issue/{{issue}}", get_issue)
    router.add_put(f"{API}/issue/{{issue}}", edit_issue)
    router.add_put(f"{API}/issue/{{issue}}/assignee", assign_issue)
    router.add_get(f"{API}/issue/{{issue}}/transitions", get_transitions)
    router.add_post(f"{API}/issue/{{issue}}/transitions", do_transition)
