"""`POST /diagnostics/ping`: a job that goes through the queue and a worker, doing nothing else."""

from __future__ import annotations

from aiohttp import web

from bot.http.routes import FieldInvalidError, RouteTable
from bot.services import services
from handlers.submitting import submit
from schemas.diagnostics import PingRequest, PingResult
from schemas.jobs import JobAccepted, JobRecord, JobType

routes = RouteTable("diagnostics")


@routes.post(
    "/diagnostics/ping",
    body=PingRequest,
    response=PingResult,
    responses={
        202: ("Queued (async mode, or still running at the sync timeout)", JobAccepted),
        409: ("The ticket is held by another active job; see X-Active-Job-Id", None),
        502: ("The job failed", None),
    },
    summary="Run a diagnostic job",
)
async def ping(request: web.Request, body: PingRequest) -> web.Response:
    """Checks that workers are alive and measures the job round trip. With `ticket_key`, the ticket
    is locked while the job runs, exactly as for real jobs; `fail_attempts` exercises retries."""
    if body.stall_seconds and not services(request).settings.worker.allow_stall:
        raise FieldInvalidError(
            ("body", "stall_seconds"), "stalling a worker is off (worker.allow_stall)", body.stall_seconds
        )
    return await submit(
        request,
        JobType.ping,
        body,
        ticket_keys=[body.ticket_key] if body.ticket_key else [],
        async_mode=body.async_mode,
        queued_message="Ping queued",
        result=_result,
        safety_note=None,
    )


def _result(record: JobRecord) -> PingResult:
    return PingResult.model_validate(record.result)
