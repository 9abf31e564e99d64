"""`/plan/...`: the planning endpoints. `POST /plan/stories/sync-from-prd` syncs the stories of
a PRD's story table to Jira; preview by default (`dry_run: true`)."""

from __future__ import annotations

from aiohttp import web

from bot.documents import DocumentError, DocumentReader
from bot.http.routes import FieldInvalidError, RouteTable
from bot.services import services
from handlers.submitting import submit
from schemas.jobs import JobAccepted, JobRecord, JobType
from schemas.planning import PlanningResult, PrdStorySyncRequest

routes = RouteTable("planning")

SAFETY_NOTE = "JIRA will only be updated if dry_run is explicitly set to false"


@routes.post(
    "/plan/stories/sync-from-prd",
    body=PrdStorySyncRequest,
    response=PlanningResult,
    responses={
        202: ("Queued (async mode, or still running at the sync timeout)", JobAccepted),
        404: ("The epic, or the PRD page, does not exist", None),
        409: ("The epic is held by another active job; see X-Active-Job-Id", None),
        422: (
            "A field is invalid: neither epic_key nor prd_url, or a prd_url that is not a Confluence page of this "
            "site; the epic is not an Epic or has no PRD link; the page has no story table; "
            "existing_ticket_action is error and stories exist (the detail names them)",
            None,
        ),
        502: ("Jira or Confluence failed after retries, or refused; the detail says why", None),
    },
    summary="Sync the stories of a PRD's story table to Jira",
)
async def sync_from_prd(request: web.Request, body: PrdStorySyncRequest) -> web.Response:
    """Reads the story table of the epic's PRD (or of `prd_url`) and plans a Story under the epic
    for each row whose title (any case) is not one of the epic's stories yet; an existing one is
    skipped, updated or an error, as `existing_ticket_action` says. Preview by default
    (`operation_mode: preview`, nothing written; `POST /jobs/{job_id}/apply` writes it later);
    `dry_run: false` writes it. A retried job never creates a story twice."""
    if body.prd_url is not None:
        # A link Augment cannot read is a bad field, answered before a job is queued.
        try:
            DocumentReader.from_settings(services(request).settings).check_link(body.prd_url)
        except DocumentError as err:
            raise FieldInvalidError(("body", "prd_url"), str(err), body.prd_url[:200]) from None
    epic_key = body.epic_key.upper() if body.epic_key else None
    return await submit(
        request,
        JobType.prd_story_sync,
        body,
        ticket_keys=[epic_key] if epic_key else [],
        async_mode=body.async_mode,
        queued_message=f"PRD story sync for epic {epic_key} queued" if epic_key else "PRD story sync queued",
        result=_result,
        update_jira=not body.dry_run,
        safety_note=SAFETY_NOTE,
    )


def _result(record: JobRecord) -> PlanningResult:
    return PlanningResult.model_validate(record.result)
