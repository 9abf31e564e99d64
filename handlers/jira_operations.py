"""`POST /jira/update-ticket`, `POST /jira/update-story-ticket` (partial updates) and
`POST /jira/create-ticket`; all preview by default."""

from __future__ import annotations

from aiohttp import web

from bot.http.routes import RouteTable
from handlers.submitting import submit
from schemas.jira_operations import (
    CreateTicketRequest,
    TicketCreateResult,
    TicketUpdateResult,
    UpdateStoryTicketRequest,
    UpdateTicketRequest,
)
from schemas.jobs import JobAccepted, JobRecord, JobType

routes = RouteTable("jira")

RESPONSES: dict[int, tuple[str, type[JobAccepted] | None]] = {
    202: ("Queued (async mode, or still running at the sync timeout)", JobAccepted),
    404: ("No such ticket (or parent, or link target) in Jira", None),
    409: ("The ticket is held by another active job; see X-Active-Job-Id", None),
    422: ("A field is invalid, or Jira cannot take it: an unknown link type, a ticket linked to itself", None),
    502: ("Jira failed after retries, or refused the change; the detail says why", None),
}


@routes.post(
    "/jira/update-ticket",
    body=UpdateTicketRequest,
    response=TicketUpdateResult,
    responses=RESPONSES,
    summary="Update a ticket's fields and add links",
)
async def update_ticket(request: web.Request, body: UpdateTicketRequest) -> web.Response:
    """Changes only the fields given. Preview by default: `preview` has the current and the new
    values and nothing is written; with `update_jira` the answer says what was written
    (`updates_applied`, `links_created`). A link that exists already is not made again."""
    key = body.ticket_key.upper()
    return await submit(
        request,
        JobType.update_ticket,
        body,
        ticket_keys=[key],
        async_mode=body.async_mode,
        queued_message=f"Update of {key} queued",
        result=_result,
        update_jira=body.update_jira,
    )


@routes.post(
    "/jira/update-story-ticket",
    body=UpdateStoryTicketRequest,
    response=TicketUpdateResult,
    responses=RESPONSES
    | {422: ("A field is invalid; or `story_key` is not a Story, or `parent_key` not an Epic", None)},
    summary="Update a Story: fields, parent epic, links",
)
async def update_story_ticket(request: web.Request, body: UpdateStoryTicketRequest) -> web.Response:
    """As update-ticket, for Stories only (another issue type answers 422 naming it), and
    `parent_key` moves the story to another epic."""
    key = body.story_key.upper()
    return await submit(
        request,
        JobType.update_story_ticket,
        body,
        ticket_keys=[key],
        async_mode=body.async_mode,
        queued_message=f"Update of story {key} queued",
        result=_result,
        update_jira=body.update_jira,
    )


def _result(record: JobRecord) -> TicketUpdateResult:
    return TicketUpdateResult.model_validate(record.result)


@routes.post(
    "/jira/create-ticket",
    body=CreateTicketRequest,
    response=TicketCreateResult,
    responses=RESPONSES
    | {
        404: ("The epic, the story or a blocked ticket is not in Jira", None),
        409: ("The story is held by another active job; see X-Active-Job-Id", None),
        422: ("A field is invalid; `parent_key` is not an Epic; the site lacks the link types", None),
    },
    summary="Create a Task under an epic, split from a story",
)
async def create_ticket(request: web.Request, body: CreateTicketRequest) -> web.Response:
    """Preview by default: `preview` shows the task and its links and nothing is created. With
    `create_ticket` the Task is created under `parent_key`, linked to `story_key` ("Work item
    split", or a stand-in the message names) and to each of `blocks`. The task carries the
    job's `marker` label: a retried job finds it and never creates it twice."""
    key = body.story_key.upper()
    return await submit(
        request,
        JobType.create_ticket,
        body,
        ticket_keys=[key],
        async_mode=body.async_mode,
        queued_message=f"Task split from {key} queued",
        result=_created,
        update_jira=body.create_ticket,
    )


def _created(record: JobRecord) -> TicketCreateResult:
    return TicketCreateResult.model_validate(record.result)
