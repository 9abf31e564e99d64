"""Submitting a job from a request and answering as the API guide says.

Sync calls wait up to `limits.sync_timeout_seconds`: the result (200), a failure (the
status `bot.jobs.errors.HTTP_STATUS` gives its error, with the reason), or 202 with the
status URL when the job runs longer.
Async calls (and calls without a `result` shape) answer 202 at once. A ticket held by
another job answers 409.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiohttp import web
from pydantic import BaseModel

from bot.http.routes import ApiError, json_response
from bot.jobs.errors import http_status
from bot.jobs.store import TicketBusyError
from bot.services import services
from schemas.jobs import JobAccepted, JobRecord, JobStatus, JobType, job_status_url

SAFETY_NOTE = "JIRA will only be updated if update_jira is explicitly set to true"


async def submit(
    request: web.Request,
    job_type: JobType,
    body: BaseModel,
    *,
    ticket_keys: Sequence[str] = (),
    async_mode: bool,
    queued_message: str,
    result: Callable[[JobRecord], BaseModel] | None = None,
    update_jira: bool = False,
    safety_note: str | None = SAFETY_NOTE,
    accepted_as: type[JobAccepted] = JobAccepted,
    accepted: dict[str, object] | None = None,
) -> web.Response:
    """`accepted_as` is the job type's 202 answer, `accepted` the fields it adds to JobAccepted's."""
    service = services(request)
    wait = None if async_mode else service.settings.limits.sync_timeout_seconds
    try:
        record = await service.jobs.submit(job_type, body, ticket_keys, wait_seconds=wait, message=queued_message)
    except TicketBusyError as busy:
        raise ApiError(
            409,
            str(busy),
            {"X-Active-Job-Id": busy.lock.job_id, "X-Active-Job-Status-Url": job_status_url(busy.lock.job_id)},
        ) from None
    if record.status is JobStatus.completed and result is not None:
        return json_response(result(record))
    if record.status is JobStatus.failed:
        # A job that gave up after its attempts recorded no status: it answers what any error does.
        status = record.error_status if record.error_status and record.error_status >= 400 else http_status(Exception)
        raise ApiError(status, record.error or "The job failed", {"X-Job-Id": record.job_id})
    if record.status is JobStatus.cancelled:
        raise ApiError(409, f"Job {record.job_id} was cancelled", {"X-Job-Id": record.job_id})
    answer = accepted_as(
        job_id=record.job_id,
        message=queued_message,
        status_url=record.status_url,
        update_jira=update_jira,
        safety_note=safety_note,
        **(accepted or {}),
    )
    return json_response(answer, 202, {"Location": record.status_url})
