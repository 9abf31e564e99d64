"""`POST /sprint/plan/epic` (a `sprint_planning` job) and `POST /sprint/timeline` (a
`timeline_planning` job): an epic's tasks planned into a board's sprints, previewed unless
`dry_run` is false (see `pipelines/sprint_planning.py`). The epic is held by the job (one job
per ticket: 409). A `team_id` the team database does not hold is a 422 before anything is
queued. A preview is written later with `POST /jobs/{id}/apply`.
"""

from __future__ import annotations

from aiohttp import web

from bot.http.routes import FieldInvalidError, RouteTable
from bot.services import services
from bot.teams.store import TeamStore
from handlers.submitting import submit
from schemas.jobs import JobAccepted, JobRecord, JobType
from schemas.sprint_planning import DRY_RUN_NOTE, PlanEpicRequest, SprintPlanResult, TimelineRequest, TimelineResult

routes = RouteTable("sprint_planning")

RESPONSES: dict[int, tuple[str, type[JobAccepted] | None]] = {
    202: ("Queued (async mode, or still running at the sync timeout)", JobAccepted),
    404: ("No such epic or board in Jira", None),
    409: ("The epic is held by another active job; see X-Active-Job-Id", None),
    422: (
        "A field is invalid; an unknown team; the epic is not an Epic; its Blocks links form a cycle (the detail "
        "names the tickets); or the board's sprints cannot hold the work without auto_create_sprints",
        None,
    ),
    502: ("Jira failed after retries, or refused a write; the detail says why", None),
}


@routes.post(
    "/sprint/plan/epic",
    body=PlanEpicRequest,
    response=SprintPlanResult,
    responses=RESPONSES,
    summary="Plan an epic's tasks into sprints",
)
async def plan_epic(request: web.Request, body: PlanEpicRequest) -> web.Response:
    """Capacity (per skill with `team_id`, else `sprint_capacity_days`) is never exceeded, a
    blocked task lands after its blockers, the active sprint's work stays, closed sprints are
    not used, future sprints fill before new ones (`auto_create_sprints`). Fewest sprints, then
    rank order, solved exactly under a time limit: `optimal` and `lower_bound` say how good.
    Preview by default; `dry_run: false` creates the sprints and moves the issues."""
    epic = await _checked(request, body)
    return await submit(
        request,
        JobType.sprint_planning,
        body,
        ticket_keys=[epic],
        async_mode=body.async_mode,
        queued_message=f"Sprint planning for epic {epic} queued",
        result=lambda record: SprintPlanResult.model_validate(record.result),
        update_jira=not body.dry_run,
        safety_note=DRY_RUN_NOTE,
    )


@routes.post(
    "/sprint/timeline",
    body=TimelineRequest,
    response=TimelineResult,
    responses=RESPONSES,
    summary="Plan an epic on the calendar: sprints, task dates, completion date",
)
async def timeline(request: web.Request, body: TimelineRequest) -> web.Response:
    """The same plan as `/sprint/plan/epic` (capacity `team_capacity_days`; new sprints proposed
    unless `auto_create_sprints` is false), with each task on working days inside its sprint
    (skills in parallel, blockers first) and `estimated_completion_date`. Preview by default."""
    epic = await _checked(request, body)
    return await submit(
        request,
        JobType.timeline_planning,
        body,
        ticket_keys=[epic],
        async_mode=body.async_mode,
        queued_message=f"Timeline planning for epic {epic} queued",
        result=_timeline,
        update_jira=not body.dry_run,
        safety_note=DRY_RUN_NOTE,
    )


def _timeline(record: JobRecord) -> TimelineResult:
    return TimelineResult.model_validate(record.result)


async def _checked(request: web.Request, body: PlanEpicRequest | TimelineRequest) -> str:
    """The epic's key; 422 for a team the team database does not hold."""
    if (
        body.team_id is not None
        and await TeamStore(services(request).runtime.buckets.teams, services(request).runtime.js).get(body.team_id)
        is None
    ):
        raise FieldInvalidError(("body", "team_id"), f"no team {body.team_id!r} in the team database", body.team_id)
    return body.epic_key.upper()
