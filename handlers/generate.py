"""`POST /generate/single` and `POST /generate/batch`: ticket descriptions, preview by default."""

from __future__ import annotations

from aiohttp import web

from bot.http.routes import ApiError, FieldInvalidError, RouteTable
from bot.jira.client import JiraError, JiraQueryError
from bot.services import services
from handlers.submitting import submit
from schemas.generation import GenerateBatchRequest, GenerateSingleRequest, GenerationAccepted, TicketDescription
from schemas.jobs import JobRecord, JobType

routes = RouteTable("generation")

QUEUED = ("Queued (async mode, or still running at the sync timeout)", GenerationAccepted)
BUSY = ("The ticket is held by another active job; see X-Active-Job-Id", None)


@routes.post(
    "/generate/single",
    body=GenerateSingleRequest,
    response=TicketDescription,
    responses={
        202: QUEUED,
        404: ("No such ticket in Jira", None),
        409: BUSY,
        500: ("A configuration error: a broken prompt template, a missing API key", None),
        502: ("Jira or the LLM failed after retries; the detail says which and why", None),
    },
    summary="Generate the description of one ticket",
)
async def generate_single(request: web.Request, body: GenerateSingleRequest) -> web.Response:
    """Preview by default: nothing is written unless `update_jira` is true. The answer has the
    Markdown the LLM wrote, the wiki markup that is (or would be) written, and the token usage."""
    return await submit(
        request,
        JobType.single,
        body,
        ticket_keys=[body.ticket_key],
        async_mode=body.async_mode,
        queued_message=f"Ticket {body.ticket_key.upper()} queued for processing",
        result=_single_result,
        update_jira=body.update_jira,
        accepted_as=GenerationAccepted,
        accepted={"jql": "", "max_results": 1},
    )


@routes.post(
    "/generate/batch",
    body=GenerateBatchRequest,
    response=GenerationAccepted,
    status=202,
    responses={502: ("Jira could not be asked to check the query", None)},
    summary="Generate descriptions for the tickets of a JQL query",
)
async def generate_batch(request: web.Request, body: GenerateBatchRequest) -> web.Response:
    """Always a job: follow it at `status_url`. Tickets another job is working on are skipped
    with the reason; cancelling stops it between tickets. The JQL is checked with Jira first:
    a query Jira rejects answers 422 with Jira's message."""
    try:
        await services(request).runtime.jira.check_jql(body.jql)
    except JiraQueryError as err:
        raise FieldInvalidError(("body", "jql"), str(err), body.jql) from None
    except JiraError as err:
        raise ApiError(502, str(err)) from None
    mode = "UPDATE" if body.update_jira else "PREVIEW"
    return await submit(
        request,
        JobType.batch,
        body,
        async_mode=True,
        queued_message=f"Batch processing started in {mode} mode",
        update_jira=body.update_jira,
        accepted_as=GenerationAccepted,
        accepted={"jql": body.jql, "max_results": body.max_results},
    )


def _single_result(record: JobRecord) -> TicketDescription:
    return TicketDescription.model_validate(record.result)
