"""Issue link types and issue links. ``inwardIssue`` is the link's source: with type
Blocks, ``{"inwardIssue": A, "outwardIssue": B}`` reads "A blocks B".

As Jira Cloud: a new link fires ``issuelink_created`` and ``jira:issue_updated`` (a ``Link``
changelog item) for both issues; a request that duplicates a link answers 201 and makes
no second link and no event (its comment, if any, is still added)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.jira.auth import require
from sandbox.jira.errors import ISSUE_NOT_FOUND, JiraError
from sandbox.jira.http import jira_json, no_content, read_json
from sandbox.jira.issue_edits import IssueEditor, read_body
from sandbox.jira.issue_shape import linked_issue
from sandbox.jira.model import ChangeItem, Issue, IssueLink
from sandbox.jira.routes import API
from sandbox.jira.shapes import link_type_bean
from sandbox.jira.state import JiraState, api_version, state_of


async def link_types(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    view = state.view(request)
    return jira_json(
        {"issueLinkTypes": [link_type_bean(view.base, t, view.version) for t in state.site.data.link_types]}
    )


async def link_type(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    found = state.site.link_type(request.match_info["type_id"])
    if found is None:
        raise JiraError(404, f"No issue link type with id '{request.match_info['type_id']}' found.")
    view = state.view(request)
    return jira_json(link_type_bean(view.base, found, view.version))


async def create_link(request: web.Request) -> web.Response:
    actor = require(request, "write", "You do not have the permission to link issues.")
    state = state_of(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise JiraError(400, "Request body must be a JSON object.")
    kind = body.get("type") or {}
    found_type = state.site.link_type(str(kind.get("name") or kind.get("id") or "")) if isinstance(kind, dict) else None
    if found_type is None:
        raise JiraError(
            404, f"No issue link type with name '{kind.get('name') if isinstance(kind, dict) else kind}' found."
        )
    inward, outward = _issue(state, body.get("inwardIssue")), _issue(state, body.get("outwardIssue"))
    editor = IssueEditor(state.site, actor, api_version(request), state.clock.now())
    if not _linked(state, found_type.id, inward, outward):
        link = editor.link(found_type.id, inward, outward)
        state.events.issuelink_created(link)
        for issue, item in (
            (inward, _link_item(outward, f"This issue {found_type.outward} {outward.key}")),
            (outward, _link_item(inward, f"This issue {found_type.inward} {inward.key}")),
        ):
            state.events.issue_updated(issue, actor, editor.record(issue, [item]))
    comment = body.get("comment")
    if isinstance(comment, dict) and comment.get("body"):
        added = editor.add_comment(inward, read_body(comment["body"], api_version(request), "comment") or "")
        state.events.comment_created(inward, added)
    return web.Response(status=201)


async def get_link(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    link = _link(state, request.match_info["link_id"])
    view = state.view(request)
    found_type = state.site.link_type(link.type_id)
    inward, outward = state.site.issue(link.inward_issue_id), state.site.issue(link.outward_issue_id)
    assert found_type is not None and inward is not None and outward is not None
    return jira_json(
        {
            "id": link.id,
            "self": f"{view.api}/issueLink/{link.id}",
            "type": link_type_bean(view.base, found_type, view.version),
            "inwardIssue": linked_issue(view, inward),
            "outwardIssue": linked_issue(view, outward),
        }
    )


async def delete_link(request: web.Request) -> web.Response:
    require(request, "write", "You do not have the permission to delete this link.")
    state = state_of(request)
    link = _link(state, request.match_info["link_id"])
    state.site.data.links.remove(link)
    return no_content()


def _issue(state: JiraState, reference: Any) -> Issue:
    key = (reference.get("key") or reference.get("id")) if isinstance(reference, dict) else None
    issue = state.site.issue(str(key)) if key else None
    if issue is None:
        raise JiraError(404, ISSUE_NOT_FOUND)
    return issue


def _linked(state: JiraState, type_id: str, inward: Issue, outward: Issue) -> bool:
    """Whether the very link exists: Jira answers a duplicate as created and makes no second one."""
    return any(
        link.type_id == type_id and link.inward_issue_id == inward.id and link.outward_issue_id == outward.id
        for link in state.site.links_of(inward)
    )


def _link(state: JiraState, link_id: str) -> IssueLink:
    link = state.site.link(link_id)
    if link is None:
        raise JiraError(404, f"No issue link with id '{link_id}' exists.")
    return link


def _link_item(other: Issue, text: str) -> ChangeItem:
    return ChangeItem(field="Link", fieldtype="jira", field_id=None, to_value=other.key, to_string=text)


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get(f"{API}/issueLinkType", link_types)
    router.add_get(f"{API}/issueLinkType/{{type_id}}", link_type)
    router.add_post(f"{API}/issueLink", create_link)
    router.add_get(f"{API}/issueLink/{{link_id}}", get_link)
    router.add_delete(f"{API}/issueLink/{{link_id}}", delete_link)
