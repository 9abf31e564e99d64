"""Sprints (the API guide's "Sprint Planning"): reads, admin writes, and assigning issues.

- Reads answer at once, from Jira, every page: `GET /sprint/board/{board_id}/sprints`,
  `GET /sprint/{sprint_id}`, `GET /sprint/{sprint_id}/issues`.
- `POST /sprint/create` and `PUT /sprint/{sprint_id}` are explicit admin actions: they write
  at once, with no preview. Jira's state rules are checked before Jira is called (the sprint
  is read first), and a rule broken answers 422 naming the field and the rule: a future
  sprint starts only with start_date and end_date; an active sprint can only be closed; a
  future sprint can only be started; a closed sprint cannot be changed; end_date not before
  start_date. What Jira still refuses (another sprint already active) is a 422 with its words.
- `POST /sprint/{sprint_id}/assign` previews by default (which issues are in the sprint
  already); `dry_run: false` runs a `sprint_assign` job that holds the issues (one job per
  ticket: 409) and moves them 50 per call (see `pipelines/sprints.py`).
Unknown board or sprint: 404. Jira failing after retries: 502.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from pydantic import ConfigDict, RootModel

from bot.http.routes import ApiError, FieldInvalidError, RouteTable, json_response
from bot.jira.agile import AgileClient, jira_date
from bot.jira.client import JiraError, JiraNotFoundError
from bot.services import services
from handlers.submitting import submit
from schemas.jobs import JobAccepted, JobRecord, JobType
from schemas.sprints import (
    ASSIGN_PREVIEW,
    AssignRequest,
    AssignResult,
    BoardPath,
    CreateSprintRequest,
    Sprint,
    SprintIssue,
    SprintIssues,
    SprintListQuery,
    SprintPath,
    UpdateSprintRequest,
)

routes = RouteTable("sprints")

ISSUE_FIELDS = ("summary", "status", "issuetype", "assignee")
ERRORS = {404: "No such board or sprint in Jira", 502: "Jira failed after retries; the detail says why"}


class SprintList(RootModel[list[Sprint]]):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                [
                    {
                        "id": 1,
                        "name": "DEMO Sprint 1",
                        "state": "closed",
                        "start_date": "2026-11-13",
                        "end_date": "2026-11-27",
                        "board_id": 1,
                        "goal": "Ship CSV export to beta",
                    },
                    {
                        "id": 2,
                        "name": "DEMO Sprint 2",
                        "state": "active",
                        "start_date": "2026-11-27",
                        "end_date": "2026-12-11",
                        "board_id": 1,
                        "goal": "Scheduled exports",
                    },
                ]
            ]
        }
    )


@routes.get(
    "/sprint/board/{board_id}/sprints",
    path_params=BoardPath,
    query=SprintListQuery,
    response=SprintList,
    errors=ERRORS,
    uses_nats=False,
    summary="List a board's sprints",
)
async def board_sprints(request: web.Request, board_id: int, query: SprintListQuery) -> SprintList:
    """Every sprint of the board (all pages), in Jira's order (closed, active, future);
    `state` filters, as a comma list if need be (`active,future`)."""
    agile = _agile(request)
    async with _jira(f"Board {board_id}"):
        found = await agile.sprints(board_id, query.states())
    return SprintList([Sprint.from_jira(sprint) for sprint in found])


@routes.get(
    "/sprint/{sprint_id}", path_params=SprintPath, response=Sprint, errors=ERRORS, uses_nats=False, summary="A sprint"
)
async def get_sprint(request: web.Request, sprint_id: int) -> Sprint:
    """The sprint as Jira has it: name, state (future, active, closed), dates, board and goal."""
    return await _sprint(request, sprint_id)


@routes.get(
    "/sprint/{sprint_id}/issues",
    path_params=SprintPath,
    response=SprintIssues,
    errors=ERRORS,
    uses_nats=False,
    summary="The issues in a sprint",
)
async def sprint_issues(request: web.Request, sprint_id: int) -> SprintIssues:
    """Every issue in the sprint (all pages): key, summary, status, type, assignee, and the
    estimate (Mandays, else Story points) when those fields are known (`jira.fields`)."""
    settings = services(request).settings.jira
    estimates = tuple(f for f in (settings.mandays_custom_field, settings.story_points_custom_field) if f)
    async with _jira(f"Sprint {sprint_id}"):
        found = await _agile(request).sprint_issues(sprint_id, ISSUE_FIELDS + estimates)
    return SprintIssues(
        sprint_id=sprint_id, total_issues=len(found), issues=[_issue(issue, estimates) for issue in found]
    )


@routes.post(
    "/sprint/create",
    body=CreateSprintRequest,
    response=Sprint,
    status=201,
    errors=ERRORS | {422: "A field is invalid, or end_date is before start_date"},
    uses_nats=False,
    summary="Create a sprint (written at once)",
)
async def create_sprint(request: web.Request, body: CreateSprintRequest) -> Sprint:
    """An explicit admin action: the sprint is created in Jira at once (no dry_run), as a
    future sprint. Answers 201 with it."""
    _check_order(body.start_date, body.end_date)
    agile = _agile(request)
    async with _jira(f"Board {body.board_id}", refused_at=("body",)):
        await agile.board(body.board_id)
        made = await agile.create_sprint(body.board_id, body.name, body.start_date, body.end_date, body.goal)
    return Sprint.from_jira(made)


@routes.put(
    "/sprint/{sprint_id}",
    path_params=SprintPath,
    body=UpdateSprintRequest,
    response=Sprint,
    errors=ERRORS | {422: "A field is invalid, or a sprint state rule is broken (the detail says which)"},
    uses_nats=False,
    summary="Change a sprint (written at once)",
)
async def update_sprint(request: web.Request, sprint_id: int, body: UpdateSprintRequest) -> Sprint:
    """An explicit admin action: written at once (no dry_run). Only the fields given change.
    `state: active` starts a future sprint (both dates needed, given here or already set),
    `state: closed` completes an active one; a closed sprint cannot be changed."""
    sprint = await _sprint(request, sprint_id)
    _check_rules(sprint, body)
    changes: dict[str, Any] = {}
    if body.name is not None:
        changes["name"] = body.name
    if body.start_date is not None:
        changes["startDate"] = jira_date(body.start_date)
    if body.end_date is not None:
        changes["endDate"] = jira_date(body.end_date)
    if body.goal is not None:
        changes["goal"] = body.goal
    if body.state is not None:
        changes["state"] = body.state
    async with _jira(f"Sprint {sprint_id}", refused_at=("body", "state") if body.state else ("body",)):
        changed = await _agile(request).update_sprint(sprint_id, changes)
    return Sprint.from_jira(changed)


@routes.post(
    "/sprint/{sprint_id}/assign",
    path_params=SprintPath,
    body=AssignRequest,
    response=AssignResult,
    responses={
        202: ("Queued (async mode, or still running at the sync timeout)", JobAccepted),
        404: ("No such sprint in Jira", None),
        409: ("An issue is held by another active job; see X-Active-Job-Id", None),
        422: ("A field is invalid, or the sprint is closed", None),
        502: ("Jira failed after retries, or refused the move", None),
    },
    summary="Assign issues to a sprint",
)
async def assign(request: web.Request, sprint_id: int, body: AssignRequest) -> web.Response:
    """Preview by default (`dry_run: true`): nothing moves; `already_in_sprint` lists the
    issues in the sprint now. With `dry_run: false` a `sprint_assign` job moves the others,
    at most 50 per call to Jira, each call recorded: a job resumed after a crash sends no
    call twice. The issues are held by the job (another job holding one: 409)."""
    if body.sprint_id is not None and body.sprint_id != sprint_id:
        raise FieldInvalidError(("body", "sprint_id"), f"sprint_id must be the path's ({sprint_id})", body.sprint_id)
    sprint = await _sprint(request, sprint_id)
    if sprint.state == "closed":
        raise FieldInvalidError(
            ("path", "sprint_id"),
            f"sprint {sprint_id} is closed: issues can only be assigned to future or active sprints",
            sprint_id,
        )
    if body.dry_run:
        async with _jira(f"Sprint {sprint_id}"):
            inside = {issue["key"] for issue in await _agile(request).sprint_issues(sprint_id)}
        preview = AssignResult(
            success=True,
            sprint_id=sprint_id,
            issue_keys=body.issue_keys,
            assigned_in_jira=False,
            message=ASSIGN_PREVIEW,
            already_in_sprint=[key for key in body.issue_keys if key in inside],
        )
        return json_response(preview)
    return await submit(
        request,
        JobType.sprint_assign,
        body.model_copy(update={"sprint_id": sprint_id}),
        ticket_keys=body.issue_keys,
        async_mode=body.async_mode,
        queued_message=f"Assignment of {len(body.issue_keys)} issues to sprint {sprint_id} queued",
        result=_assigned,
        update_jira=True,
        safety_note=None,
    )


def _assigned(record: JobRecord) -> AssignResult:
    return AssignResult.model_validate(record.result)


# -- rules -----------------------------------------------------------------------------


def _check_rules(sprint: Sprint, body: UpdateSprintRequest) -> None:
    """Jira's sprint state rules, each a 422 naming its field."""
    if sprint.state == "closed":
        raise FieldInvalidError(
            ("path", "sprint_id"), f"sprint {sprint.id} is closed: a closed sprint cannot be changed"
        )
    target = body.state or sprint.state
    if sprint.state == "active" and target == "future":
        raise FieldInvalidError(("body", "state"), "an active sprint can only be closed", body.state)
    if sprint.state == "future" and target == "closed":
        raise FieldInvalidError(("body", "state"), "a future sprint can only be started (active), not closed", "closed")
    start, end = body.start_date or sprint.start_date, body.end_date or sprint.end_date
    if sprint.state == "future" and target == "active" and (start is None or end is None):
        missing = "start_date" if start is None else "end_date"
        raise FieldInvalidError(("body", missing), "a future sprint starts only with start_date and end_date")
    _check_order(start, end)


def _check_order(start: Any, end: Any) -> None:
    if start is not None and end is not None and end < start:
        raise FieldInvalidError(("body", "end_date"), f"end_date ({end}) is before start_date ({start})", str(end))


# -- Jira ------------------------------------------------------------------------------


def _agile(request: web.Request) -> AgileClient:
    return AgileClient(services(request).runtime.jira)


async def _sprint(request: web.Request, sprint_id: int) -> Sprint:
    async with _jira(f"Sprint {sprint_id}"):
        return Sprint.from_jira(await _agile(request).sprint(sprint_id))


@asynccontextmanager
async def _jira(what: str, *, refused_at: tuple[str, ...] | None = None) -> AsyncIterator[None]:
    """Jira's answers as this API's: not found 404; a write Jira refused (400) a 422 at
    `refused_at` with Jira's words; anything else 502."""
    try:
        yield
    except JiraNotFoundError:
        raise ApiError(404, f"{what} not found in Jira") from None
    except JiraError as err:
        if err.status == 400 and refused_at is not None:
            raise FieldInvalidError(refused_at, str(err)) from None
        raise ApiError(502, str(err)) from None


def _issue(issue: dict[str, Any], estimates: tuple[str, ...]) -> SprintIssue:
    fields = issue.get("fields") or {}
    estimate = next((fields[f] for f in estimates if isinstance(fields.get(f), int | float)), None)
    return SprintIssue(
        key=issue["key"],
        summary=fields.get("summary") or "",
        status=(fields.get("status") or {}).get("name"),
        type=(fields.get("issuetype") or {}).get("name"),
        assignee=(fields.get("assignee") or {}).get("displayName"),
        estimate=estimate,
    )
