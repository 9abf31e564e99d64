"""`/jobs`: list, inspect, find by ticket, cancel."""

from __future__ import annotations

from aiohttp import web

from bot.http.routes import ApiError, RouteTable
from bot.jobs.queue import JobAlreadyFinishedError
from bot.jobs.store import JobNotFoundError
from bot.jobs.watch import InvalidCursorError
from bot.services import services
from schemas.generation import TicketWork
from schemas.jobs import JobCancelled, JobList, JobListQuery, JobRecord
from schemas.keys import JobPath, JobTicketPath, TicketPath

routes = RouteTable("jobs")


@routes.get("/jobs", query=JobListQuery, response=JobList, summary="List jobs, newest first")
async def list_jobs(request: web.Request, query: JobListQuery) -> JobList:
    """Filter by `status` and `job_type`; page with `limit` and the `next_cursor` of the previous page."""
    try:
        return await services(request).jobs.list(query)
    except InvalidCursorError as err:
        raise ApiError(
            422, [{"loc": ["query", "cursor"], "msg": str(err), "type": "value_error", "input": query.cursor}]
        ) from None


@routes.get(
    "/jobs/ticket/{ticket_key}",
    path_params=TicketPath,
    response=JobRecord,
    errors={404: "No job for this ticket"},
    summary="The job of a ticket",
)
async def job_for_ticket(request: web.Request, ticket_key: str) -> JobRecord:
    """The ticket's active job (`started` or `processing`), else the latest job that touched it."""
    record = await services(request).jobs.for_ticket(ticket_key)
    if record is None:
        raise ApiError(404, f"No job found for ticket key: {ticket_key}")
    return record


@routes.get(
    "/jobs/{job_id}",
    path_params=JobPath,
    response=JobRecord,
    errors={404: "Unknown job"},
    summary="Job status, progress and result",
)
async def get_job(request: web.Request, job_id: str) -> JobRecord:
    try:
        return await services(request).jobs.get(job_id)
    except JobNotFoundError:
        raise ApiError(404, f"Job {job_id} not found") from None


@routes.get(
    "/jobs/{job_id}/tickets/{ticket_key}",
    path_params=JobTicketPath,
    response=TicketWork,
    errors={404: "Unknown job, or the job has no work for this ticket"},
    summary="One ticket's work in a job",
)
async def job_ticket(request: web.Request, job_id: str, ticket_key: str) -> TicketWork:
    """The generated text, the plan and what was applied, for one ticket of a job (a batch's
    per-ticket results are kept here, the job itself lists one line per ticket)."""
    work = await services(request).jobs.ticket_work(job_id, ticket_key)
    if work is None:
        raise ApiError(404, f"Job {job_id} has no work for ticket {ticket_key}")
    return TicketWork.model_validate(work)


@routes.delete(
    "/jobs/{job_id}",
    path_params=JobPath,
    response=JobCancelled,
    errors={404: "Unknown job", 409: "The job already finished"},
    summary="Cancel a job",
)
async def cancel_job(request: web.Request, job_id: str) -> JobCancelled:
    """A queued job never starts; a running job stops at its next step; a finished job answers 409."""
    try:
        record = await services(request).jobs.cancel(job_id)
    except JobNotFoundError:
        raise ApiError(404, f"Job {job_id} not found") from None
    except JobAlreadyFinishedError as err:
        raise ApiError(409, f"Job {job_id} already {err.record.status.value}; nothing to cancel") from None
    return JobCancelled(message=f"Job {record.job_id} cancelled successfully")
