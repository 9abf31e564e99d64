"""`POST /plan/stories/generate`: stories for an epic, proposed by the LLM; preview by default
(`dry_run: true`). `max_stories` above the configured `planning.max_stories` is refused (422)."""

from __future__ import annotations

from aiohttp import web

from bot.http.routes import FieldInvalidError, RouteTable
from bot.services import services
from handlers.submitting import submit
from schemas.jobs import JobAccepted, JobRecord, JobType
from schemas.planning import StoryGenerationRequest, StoryGenerationResult

routes = RouteTable("planning")

SAFETY_NOTE = "JIRA will only be updated if dry_run is explicitly set to false"


@routes.post(
    "/plan/stories/generate",
    body=StoryGenerationRequest,
    response=StoryGenerationResult,
    responses={
        202: ("Queued (async mode, or still running at the sync timeout)", JobAccepted),
        404: ("The epic does not exist", None),
        409: ("The epic is held by another active job; see X-Active-Job-Id", None),
        422: (
            "A field is invalid: max_stories above planning.max_stories, an unknown provider or model; "
            "epic_key is not an Epic, or its project has no Story type",
            None,
        ),
        500: ("A configuration error: a broken prompt template, a missing API key", None),
        502: (
            "Jira or the LLM failed after retries, or refused, or the LLM's answer kept breaking a planning rule; "
            "the detail says which and why (and names the rule)",
            None,
        ),
    },
    summary="Propose stories for an epic from its description, PRD and RFC",
)
async def generate_stories(request: web.Request, body: StoryGenerationRequest) -> web.Response:
    """Reads the epic (summary, description, PRD, RFC) and the stories under it, and asks the LLM
    for new stories: title, user story, acceptance criteria, priority. A title the epic has
    already (any case or punctuation) is never proposed. Preview by default (`operation_mode:
    preview`, nothing written; `POST /jobs/{job_id}/apply` writes it later); `dry_run: false`
    creates them under the epic. A retried job never asks the LLM twice nor creates a story twice."""
    configured = services(request).settings.planning.max_stories
    if body.max_stories is not None and body.max_stories > configured:
        raise FieldInvalidError(
            ("body", "max_stories"), f"at most {configured} (planning.max_stories)", body.max_stories
        )
    epic_key = body.epic_key.upper()
    return await submit(
        request,
        JobType.story_generation,
        body,
        ticket_keys=[epic_key],
        async_mode=body.async_mode,
        queued_message=f"Story generation for epic {epic_key} queued",
        result=_result,
        update_jira=not body.dry_run,
        safety_note=SAFETY_NOTE,
    )


def _result(record: JobRecord) -> StoryGenerationResult:
    return StoryGenerationResult.model_validate(record.result)
