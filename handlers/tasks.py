"""`POST /plan/tasks/generate` and `POST /plan/tasks/team-based`: tasks for stories under their
epic (job type `task_generation`); preview by default (`dry_run: true`). The two differ only in
the job's `team_based` flag: per team, with cross-team blocking."""

from __future__ import annotations

from aiohttp import web

from bot.http.routes import RouteTable
from handlers.submitting import submit
from schemas.jobs import JobAccepted, JobRecord, JobType
from schemas.planning import TaskGenerationJob, TaskGenerationRequest, TaskPlanningResult

routes = RouteTable("planning")

SAFETY_NOTE = "JIRA will only be updated if dry_run is explicitly set to false"
RESPONSES = {
    202: ("Queued (async mode, or still running at the sync timeout)", JobAccepted),
    404: ("A story or the epic does not exist", None),
    409: ("The epic or a story is held by another active job; see X-Active-Job-Id", None),
    422: (
        "A field is invalid (story_keys empty, over 50 or repeated); a story is not a Story; the epic is not an "
        "Epic; without epic_key, a story has no epic or the stories have different ones",
        None,
    ),
    500: ("A configuration error: a broken prompt template, a missing API key", None),
    502: ("Jira or the LLM failed after retries; the detail says which and why", None),
}


@routes.post(
    "/plan/tasks/generate",
    body=TaskGenerationRequest,
    response=TaskPlanningResult,
    responses=RESPONSES,
    summary="Plan the tasks of stories",
)
async def generate_tasks(request: web.Request, body: TaskGenerationRequest) -> web.Response:
    """One LLM call per story, with the epic's context: per task a description, its team, an
    estimate in man-days, the tasks it depends on and its test cases; with summary statistics.
    Preview by default; `dry_run: false` creates each Task under the epic, linked to its story
    ("Work item split") and to the tasks it waits for ("Blocks"), never twice."""
    return await _submit(request, body, team_based=False)


@routes.post(
    "/plan/tasks/team-based",
    body=TaskGenerationRequest,
    response=TaskPlanningResult,
    responses=RESPONSES,
    summary="Plan the tasks of stories per team, with cross-team blocking",
)
async def team_based_tasks(request: web.Request, body: TaskGenerationRequest) -> web.Response:
    """As `/plan/tasks/generate`, planned per team (the configured `planning.teams`): a team whose
    work needs another's result is blocked by it ("QA is blocked by Backend"), which
    `summary_statistics.blocked_by` sums up; each task is labelled with its team."""
    return await _submit(request, body, team_based=True)


async def _submit(request: web.Request, body: TaskGenerationRequest, *, team_based: bool) -> web.Response:
    job = TaskGenerationJob(**body.model_dump(), team_based=team_based)
    stories = [key.upper() for key in body.story_keys]
    held = ([body.epic_key.upper()] if body.epic_key else []) + stories
    kind = "Team-based task" if team_based else "Task"
    return await submit(
        request,
        JobType.task_generation,
        job,
        ticket_keys=held,
        async_mode=body.async_mode,
        queued_message=f"{kind} generation for {', '.join(stories[:3])}{' …' if len(stories) > 3 else ''} queued",
        result=_result,
        update_jira=not body.dry_run,
        safety_note=SAFETY_NOTE,
    )


def _result(record: JobRecord) -> TaskPlanningResult:
    return TaskPlanningResult.model_validate(record.result)
