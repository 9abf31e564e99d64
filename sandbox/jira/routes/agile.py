"""The agile API ``/rest/agile/1.0``: boards, sprints and the issues in them.

Sprint rules follow Jira: a sprint is created ``future``; it can be started
(``future`` → ``active``) once it has a start and an end date and no other sprint on
its board is active; it can be completed (``active`` → ``closed``), which stamps
``completeDate``; a closed sprint cannot be updated; no other state change exists.
``PUT`` is a full update (absent fields become empty), ``POST`` a partial one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from sandbox.jira.auth import current_user, require
from sandbox.jira.clock import parse_time
from sandbox.jira.errors import ISSUE_NOT_FOUND, JiraError
from sandbox.jira.http import (
    jira_json,
    no_content,
    query_int,
    query_list,
    read_json,
    site_base,
)
from sandbox.jira.issue_edits import IssueEditor
from sandbox.jira.issue_shape import FieldSelection, View, issue_bean
from sandbox.jira.model import Board, Issue, Sprint
from sandbox.jira.search import compile_query, issue_facts
from sandbox.jira.shapes import Json, board_bean, sprint_bean
from sandbox.jira.state import JiraState, state_of

AGILE = "/rest/agile/1.0"
MAX_ISSUES_TO_MOVE = 50
_STATE_ORDER = {"closed": 0, "active": 1, "future": 2}


# --- boards -----------------------------------------------------------------------


async def boards(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    kind = request.query.get("type")
    name = request.query.get("name", "").lower()
    project_ref = request.query.get("projectKeyOrId")
    project = state.site.project(project_ref) if project_ref else None
    found = [
        board
        for board in state.site.data.boards
        if (not kind or board.type in kind.split(","))
        and name in board.name.lower()
        and (project_ref is None or (project is not None and board.project_id == project.id))
    ]
    return jira_json(_page(request, [board_bean(site_base(request), state.site, b) for b in found]))


async def board(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    return jira_json(board_bean(site_base(request), state.site, _board(state, request)))


async def board_sprints(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    found = _board(state, request)
    wanted = query_list(request, "state")
    unknown = [s for s in wanted if s not in _STATE_ORDER]
    if unknown:
        raise JiraError(400, f"The sprint state '{unknown[0]}' is not valid. Valid states: future, active, closed.")
    sprints = [s for s in state.site.data.sprints if s.board_id == found.id and (not wanted or s.state in wanted)]
    sprints.sort(key=lambda s: (_STATE_ORDER[s.state], s.id))
    return jira_json(_page(request, [sprint_bean(site_base(request), s) for s in sprints]))


async def board_issues(request: web.Request) -> web.Response:
    """All issues of the board's project, or with ``/backlog`` those in no open sprint
    and not done."""
    require(request, "browse")
    state = state_of(request)
    found = _board(state, request)
    issues = [i for i in state.site.issues() if i.project_id == found.project_id]
    if request.path.endswith("/backlog"):
        issues = [
            i
            for i in issues
            if state.site.open_sprint_of(i) is None and state.site.status(i.status_id).category != "done"
        ]
    return _issue_page(request, state, issues)


# --- sprints ----------------------------------------------------------------------


async def create_sprint(request: web.Request) -> web.Response:
    require(request, "write", "You do not have permission to manage sprints on this board.")
    state = state_of(request)
    body = _object(await read_json(request))
    name = str(body.get("name") or "").strip()
    errors = {}
    if not name:
        errors["name"] = "The sprint name must be specified."
    elif len(name) > 255:
        errors["name"] = "The sprint name must not exceed 255 characters."
    board_id = body.get("originBoardId")
    found = state.site.board(board_id) if isinstance(board_id, int) else None
    if found is None:
        if board_id is None:
            errors["originBoardId"] = "The origin board id must be specified."
        else:
            raise JiraError(404, f"Board with id {board_id} does not exist or you do not have permission to see it.")
    start, end = _date(body, "startDate", errors), _date(body, "endDate", errors)
    if errors:
        raise JiraError(400, errors=errors)
    assert found is not None
    _check_order(start, end)
    sprint = Sprint(
        id=state.site.next_id("sprint"),
        name=name,
        state="future",
        board_id=found.id,
        goal=body.get("goal") or None,
        start=start,
        end=end,
        created=state.clock.now(),
    )
    state.site.data.sprints.append(sprint)
    state.events.sprint_event("sprint_created", sprint)
    return jira_json(sprint_bean(site_base(request), sprint), status=201)


async def get_sprint(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    return jira_json(sprint_bean(site_base(request), _sprint(state, request)))


async def update_sprint(request: web.Request) -> web.Response:
    require(request, "write", "You do not have permission to manage sprints on this board.")
    state = state_of(request)
    sprint = _sprint(state, request)
    body = _object(await read_json(request))
    full = request.method == "PUT"
    unknown = set(body) - {
        "id",
        "self",
        "state",
        "name",
        "startDate",
        "endDate",
        "completeDate",
        "createdDate",
        "originBoardId",
        "goal",
    }
    if unknown:
        raise JiraError(400, f'Unrecognized field "{sorted(unknown)[0]}".')
    if sprint.state == "closed":
        raise JiraError(400, "Sprints that are in a closed state cannot be updated.")
    errors: dict[str, str] = {}
    name = body.get("name", None if full else sprint.name)
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "The sprint name must be specified."
    start = _date(body, "startDate", errors) if "startDate" in body or full else sprint.start
    end = _date(body, "endDate", errors) if "endDate" in body or full else sprint.end
    goal = body.get("goal") if "goal" in body or full else sprint.goal
    new_state = body.get("state", sprint.state) or sprint.state
    if errors:
        raise JiraError(400, errors=errors)
    assert isinstance(name, str), "checked above: a wrong one is in errors"
    _check_order(start, end)
    _check_transition(state, sprint, new_state, start, end)

    before = sprint_bean(state.base_url, sprint)
    old_state = sprint.state
    sprint.name, sprint.start, sprint.end, sprint.goal = name.strip(), start, end, goal or None
    sprint.state = new_state
    if old_state == "active" and new_state == "closed":
        sprint.complete = state.clock.now()
    state.events.sprint_event("sprint_updated", sprint, old=before)
    if old_state != new_state:
        state.events.sprint_event("sprint_started" if new_state == "active" else "sprint_closed", sprint)
    return jira_json(sprint_bean(site_base(request), sprint))


async def sprint_issues(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    sprint = _sprint(state, request)
    return _issue_page(request, state, state.site.issues_in_sprint(sprint))


async def move_to_sprint(request: web.Request) -> web.Response:
    actor = require(request, "write", "You do not have permission to schedule issues.")
    state = state_of(request)
    sprint = _sprint(state, request)
    body = _object(await read_json(request))
    keys = body.get("issues")
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise JiraError(400, "'issues' must be a non-empty list of issue keys or ids.")
    if len(keys) > MAX_ISSUES_TO_MOVE:
        raise JiraError(
            400, f"The maximum number of issues that can be moved in one operation is {MAX_ISSUES_TO_MOVE}."
        )
    if sprint.state == "closed":
        raise JiraError(400, "Issues can only be moved to future or active sprints.")
    issues = []
    for key in keys:
        issue = state.site.issue(key)
        if issue is None:
            raise JiraError(400, f"{ISSUE_NOT_FOUND} ({key})")
        if state.site.issue_type(issue.issue_type_id).hierarchy_level < 0:
            raise JiraError(400, f"Sub-tasks move with their parent and cannot be moved on their own ({key}).")
        issues.append(issue)
    editor = IssueEditor(state.site, actor, "2", state.clock.now())
    for issue in issues:
        item = editor.move_to_sprint(issue, sprint.id)
        if item is not None:
            state.events.issue_updated(issue, actor, editor.record(issue, [item]))
    return no_content()


async def agile_issue(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    issue = state.site.issue(request.match_info["issue"])
    if issue is None:
        raise JiraError(404, ISSUE_NOT_FOUND)
    view = View(site_base(request), state.site, "2")
    return jira_json(
        _agile_issue(
            view,
            issue,
            FieldSelection.parse(query_list(request, "fields"), "*navigable"),
            set(query_list(request, "expand")),
        )
    )


# --- helpers ------------------------------------------------------------------------


def _issue_page(request: web.Request, state: JiraState, issues: list[Issue]) -> web.Response:
    jql = request.query.get("jql")
    if jql:
        query = compile_query(state.site, jql, state.clock.now(), current_user(request).account_id)
        ordered = query.order([issue_facts(state.site, i) for i in issues if query.matches(issue_facts(state.site, i))])
        issues = [i for i in (state.site.issue(fact.key) for fact in ordered) if i is not None]
    start = query_int(request, "startAt", 0)
    limit = query_int(request, "maxResults", 50, minimum=1)
    view = View(site_base(request), state.site, "2")
    selection = FieldSelection.parse(query_list(request, "fields"), "*navigable")
    expand = set(query_list(request, "expand"))
    return jira_json(
        {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": limit,
            "total": len(issues),
            "issues": [_agile_issue(view, issue, selection, expand) for issue in issues[start : start + limit]],
        }
    )


def _agile_issue(view: View, issue: Issue, selection: FieldSelection, expand: set[str]) -> Json:
    """The agile form of an issue: the platform bean plus ``sprint`` and ``closedSprints``."""
    bean = issue_bean(view, issue, selection, expand)
    bean["self"] = f"{view.base}/rest/agile/1.0/issue/{issue.id}"
    if "fields" in bean:
        sprints = [s for s in map(view.site.sprint, issue.sprint_ids) if s is not None]
        open_sprint = view.site.open_sprint_of(issue)
        bean["fields"]["sprint"] = None if open_sprint is None else sprint_bean(view.base, open_sprint)
        bean["fields"]["closedSprints"] = [sprint_bean(view.base, s) for s in sprints if s.state == "closed"]
    return bean


def _page(request: web.Request, values: list[Json]) -> Json:
    start = query_int(request, "startAt", 0)
    limit = query_int(request, "maxResults", 50, minimum=1)
    page = values[start : start + limit]
    return {
        "maxResults": limit,
        "startAt": start,
        "total": len(values),
        "isLast": start + len(page) >= len(values),
        "values": page,
    }


def _board(state: JiraState, request: web.Request) -> Board:
    board_id = request.match_info["board_id"]
    found = state.site.board(int(board_id)) if board_id.isdigit() else None
    if found is None:
        raise JiraError(404, "Board does not exist or you do not have permission to see it.")
    return found


def _sprint(state: JiraState, request: web.Request) -> Sprint:
    sprint_id = request.match_info["sprint_id"]
    found = state.site.sprint(int(sprint_id)) if sprint_id.isdigit() else None
    if found is None:
        raise JiraError(404, f"Sprint with id {sprint_id} does not exist or you do not have permission to see it.")
    return found


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise JiraError(400, "Request body must be a JSON object.")
    return body


def _date(body: dict[str, Any], name: str, errors: dict[str, str]) -> datetime | None:
    raw = body.get(name)
    if raw in (None, ""):
        return None
    try:
        return parse_time(str(raw))
    except ValueError:
        errors[name] = f"The {name} '{raw}' is not a valid date. Use ISO 8601, e.g. 2015-04-11T15:22:00.000+10:00."
        return None


def _check_order(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end < start:
        raise JiraError(400, errors={"endDate": "The sprint end date must be after the start date."})


def _check_transition(
    state: JiraState, sprint: Sprint, new_state: Any, start: datetime | None, end: datetime | None
) -> None:
    if new_state == sprint.state:
        return
    if (sprint.state, new_state) == ("future", "active"):
        if start is None or end is None:
            raise JiraError(400, "The sprint cannot be started without a start date and an end date.")
        if any(s.state == "active" and s.board_id == sprint.board_id for s in state.site.data.sprints):
            raise JiraError(400, "The sprint cannot be started: another sprint is already active on this board.")
        return
    if (sprint.state, new_state) == ("active", "closed"):
        return
    raise JiraError(400, f"A sprint cannot change from '{sprint.state}' to '{new_state}'.")


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get(f"{AGILE}/board", boards)
    router.add_get(f"{AGILE}/board/{{board_id}}", board)
    router.add_get(f"{AGILE}/board/{{board_id}}/sprint", board_sprints)
    router.add_get(f"{AGILE}/board/{{board_id}}/issue", board_issues)
    router.add_get(f"{AGILE}/board/{{board_id}}/backlog", board_issues)
    router.add_post(f"{AGILE}/sprint", create_sprint)
    router.add_get(f"{AGILE}/sprint/{{sprint_id}}", get_sprint)
    router.add_put(f"{AGILE}/sprint/{{sprint_id}}", update_sprint)
    router.add_post(f"{AGILE}/sprint/{{sprint_id}}", update_sprint)
    router.add_get(f"{AGILE}/sprint/{{sprint_id}}/issue", sprint_issues)
    router.add_post(f"{AGILE}/sprint/{{sprint_id}}/issue", move_to_sprint)
    router.add_get(f"{AGILE}/issue/{{issue}}", agile_issue)
