"""Comments: list, add, get and update. Adding fires ``comment_created`` and a
``jira:issue_updated`` of type ``issue_commented``; editing fires ``comment_updated``
and ``issue_comment_edited``, as Jira does."""

from __future__ import annotations

from aiohttp import web

from sandbox.jira.auth import require
from sandbox.jira.errors import JiraError
from sandbox.jira.http import jira_json, query_int, read_json
from sandbox.jira.issue_edits import IssueEditor, read_body
from sandbox.jira.issue_shape import comment_bean
from sandbox.jira.model import Comment, Issue
from sandbox.jira.routes import API
from sandbox.jira.state import api_version, state_of


async def list_comments(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    issue = state.find_issue(request.match_info["issue"])
    view = state.view(request)
    start = query_int(request, "startAt", 0)
    limit = query_int(request, "maxResults", 5000)
    order = request.query.get("orderBy", "created")
    comments = sorted(issue.comments, key=lambda c: c.created, reverse=order.startswith("-"))
    return jira_json(
        {
            "self": f"{view.api}/issue/{issue.id}/comment",
            "startAt": start,
            "maxResults": limit,
            "total": len(comments),
            "comments": [comment_bean(view, issue, comment) for comment in comments[start : start + limit]],
        }
    )


async def add_comment(request: web.Request) -> web.Response:
    actor = require(request, "write", "You do not have permission to comment on this issue.")
    state = state_of(request)
    issue = state.find_issue(request.match_info["issue"])
    text = _comment_text(await read_json(request), api_version(request))
    comment = IssueEditor(state.site, actor, api_version(request), state.clock.now()).add_comment(issue, text)
    state.events.comment_created(issue, comment)
    state.events.issue_updated(issue, actor, None, event_type="issue_commented", comment=comment)
    return jira_json(comment_bean(state.view(request), issue, comment), status=201)


async def get_comment(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    issue = state.find_issue(request.match_info["issue"])
    return jira_json(comment_bean(state.view(request), issue, _find(issue, request.match_info["comment"])))


async def update_comment(request: web.Request) -> web.Response:
    actor = require(request, "write", "You do not have permission to edit this comment.")
    state = state_of(request)
    issue = state.find_issue(request.match_info["issue"])
    comment = _find(issue, request.match_info["comment"])
    if comment.author_id != actor.account_id and actor.role != "admin":
        raise JiraError(403, "You do not have permission to edit this comment.")
    comment.body = _comment_text(await read_json(request), api_version(request))
    comment.updated = issue.updated = state.clock.now()
    comment.update_author_id = actor.account_id
    state.events.comment_updated(issue, comment)
    state.events.issue_updated(issue, actor, None, event_type="issue_comment_edited", comment=comment)
    return jira_json(comment_bean(state.view(request), issue, comment))


def _comment_text(body: object, version: str) -> str:
    if not isinstance(body, dict):
        raise JiraError(400, "Request body must be a JSON object.")
    text = read_body(body.get("body"), version, "comment")
    if not text or not text.strip():
        raise JiraError(400, errors={"comment": "Comment body can not be empty!"})
    return text


def _find(issue: Issue, comment_id: str) -> Comment:
    comment = next((c for c in issue.comments if c.id == comment_id), None)
    if comment is None:
        raise JiraError(404, "Can not find a comment for the id: " + comment_id + ".")
    return comment


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get(f"{API}/issue/{{issue}}/comment", list_comments)
    router.add_post(f"{API}/issue/{{issue}}/comment", add_comment)
    router.add_get(f"{API}/issue/{{issue}}/comment/{{comment}}", get_comment)
    router.add_put(f"{API}/issue/{{issue}}/comment/{{comment}}", update_comment)
