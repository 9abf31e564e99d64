"""`/jobs`: list, inspect, find by ticket, cancel, and apply or discard a preview.

Approving and discarding are functions of their own (`start_apply`, `discard`), which the
dashboard's Approve and Discard call too: one set of checks, whoever asks. Who asked is
recorded as `api`/`ui`, with the signed-in user when authentication is on (`actor`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Literal

from aiohttp import web

from bot.http.routes import ApiError, FieldInvalidError, RouteTable
from bot.jobs.queue import JobAlreadyFinishedError
from bot.jobs.store import JobNotFoundError
from bot.jobs.watch import InvalidCursorError
from bot.services import services
from handlers.submitting import submit
from schemas.applying import (
    ApplyBody,
    ApplyRequest,
    ApplyResult,
    DiscardResult,
    PreviewClaim,
    PreviewDiscard,
)
from schemas.generation import TicketWork
from schemas.jobs import JobAccepted, JobCancelled, JobList, JobListQuery, JobRecord, JobStatus, JobType
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
    """The whole record: status and progress while it runs, then its `result` (or `error`), the
    `plan` of Jira changes (a preview's, to approve with `POST /jobs/{job_id}/apply` or discard with
    `POST /jobs/{job_id}/discard`), what was `applied`, and the tokens and cost it spent. A preview
    approved shows `applied_by`, `approved_by` and `approved_operations`; one discarded shows
    `discarded_by` and `discarded_at`. Poll it until `status` is completed, failed or cancelled."""
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


@routes.post(
    "/jobs/{job_id}/apply",
    path_params=JobPath,
    body=ApplyBody,
    body_required=False,
    response=ApplyResult,
    responses={
        202: ("Queued (async mode, or still running at the sync timeout)", JobAccepted),
        404: ("Unknown job", None),
        409: (
            "Not a finished preview (running, failed, cancelled, or it wrote already); already applied "
            "(see X-Applied-By); discarded; or a ticket is held by another active job (see X-Active-Job-Id)",
            None,
        ),
        502: ("Jira kept failing; the detail says which and why", None),
    },
    summary="Write the stored plan of a preview job",
)
async def apply_preview(request: web.Request, job_id: str, body: ApplyBody) -> web.Response:
    """Writes what a preview job (`update_jira` false: a single ticket or a batch) planned, without
    generating again, once: a second call answers 409 naming the apply job that wrote it, and a
    discarded preview answers 409. The apply job locks the tickets it writes. A ticket changed in
    Jira since the preview is not overwritten: its outcome is `conflict`."""
    return await start_apply(request, job_id, body, actor(request, "api"))


@routes.post(
    "/jobs/{job_id}/discard",
    path_params=JobPath,
    response=DiscardResult,
    errors={
        404: "Unknown job",
        409: "Not a finished preview with a plan (running, failed, cancelled, or it wrote already), "
        "already applied (see X-Applied-By), or already discarded",
    },
    summary="Discard a preview job: its plan is never written",
)
async def discard_preview(request: web.Request, job_id: str) -> DiscardResult:
    """Marks a finished preview as discarded (who and when show in `GET /jobs/{job_id}` as
    `discarded_by` and `discarded_at`): a later apply answers 409. A preview is applied or
    discarded, never both, even when the two race."""
    return await discard(request, job_id, actor(request, "api"))


def actor(request: web.Request, via: Literal["api", "ui"]) -> str:
    """Who approves or discards, for the record: the API or the dashboard, and the user when
    authentication is on."""
    auth = services(request).settings.auth
    return f"{via}:{auth.username}" if auth.enabled else via


async def start_apply(request: web.Request, job_id: str, body: ApplyBody, approved_by: str) -> web.Response:
    """Check the preview and the selection, then queue its apply job: 200 with the `ApplyResult`,
    or 202 with `JobAccepted` in async mode (or past the sync timeout); an `ApiError` otherwise."""
    source = await _source(request, job_id)
    _check_preview(source)
    planned = await planned_operations(request, source)
    if not planned:
        raise ApiError(409, f"Job {job_id} has no plan to apply")
    keys = _selected_tickets(list(planned), body.ticket_keys)
    if body.operations is not None:
        if len(planned) != 1:
            raise FieldInvalidError(
                ("body", "operations"), "a batch preview's tickets are chosen with ticket_keys, not operations"
            )
        _check_operations(next(iter(planned.values())), body.operations)
    return await submit(
        request,
        JobType.apply,
        ApplyRequest(job_id=job_id, ticket_keys=keys, operations=body.operations, approved_by=approved_by),
        ticket_keys=keys,
        async_mode=body.async_mode,
        queued_message=f"Applying the plan of job {job_id}",
        result=_applied,
        update_jira=True,
        safety_note=None,
    )


async def discard(request: web.Request, job_id: str, discarded_by: str) -> DiscardResult:
    """Mark a finished preview with a plan as discarded; the mark is set with compare-and-set on
    the very record an apply job claims, and only while nothing claimed it: one of them wins."""
    source = await _source(request, job_id)
    _check_preview(source)
    if not await planned_operations(request, source):
        raise ApiError(409, f"Job {job_id} has no plan to discard")
    store = services(request).runtime.store
    mark = PreviewDiscard(discarded_by=discarded_by, discarded_at=store.clock.now())
    try:
        await store.update(job_id, lambda record: _discarded(record, mark))
    except JobNotFoundError:
        raise ApiError(404, f"Job {job_id} not found") from None
    assert mark.discarded_at is not None
    return DiscardResult(
        job_id=job_id,
        discarded_by=discarded_by,
        discarded_at=mark.discarded_at,
        message=f"Discarded the preview of job {job_id}",
    )


def _discarded(record: JobRecord, mark: PreviewDiscard) -> JobRecord:
    _check_preview(record)  # again, on the revision the mark is written over
    record.keep(mark)
    return record


async def planned_operations(request: web.Request, source: JobRecord) -> dict[str, list[dict[str, Any]]]:
    """The preview's plans by ticket, as JSON: one plan for all its tickets (in the record, under
    its first ticket), or a batch's plan per ticket (in the results bucket); tickets without one left out."""
    if source.plan and source.ticket_keys:
        return {source.ticket_keys[0]: [operation.model_dump(mode="json") for operation in source.plan]}
    jobs = services(request).jobs
    works = await asyncio.gather(*(jobs.ticket_work(source.job_id, key) for key in source.ticket_keys))
    return {key: work["plan"] for key, work in zip(source.ticket_keys, works, strict=True) if work and work.get("plan")}


async def _source(request: web.Request, job_id: str) -> JobRecord:
    try:
        return await services(request).jobs.get(job_id)
    except JobNotFoundError:
        raise ApiError(404, f"Job {job_id} not found") from None


def _selected_tickets(planned: list[str], selected: list[str] | None) -> list[str]:
    """The preview's tickets to write: all with a plan, or those `ticket_keys` names."""
    if selected is None:
        return planned
    wanted = [key.upper() for key in selected]
    if unknown := [key for key in wanted if key not in planned]:
        raise FieldInvalidError(
            ("body", "ticket_keys"), "not tickets of this preview with a plan: " + ", ".join(unknown[:20])
        )
    return [key for key in planned if key in wanted]


def creates_needed(operation: dict[str, Any]) -> list[str]:
    """The `create_issue` (or `create_sprint`) operations whose new key the operation's payload names."""
    return [
        value["created_by"]
        for value in operation["payload"].values()
        if isinstance(value, dict) and set(value) == {"created_by"}
    ]


def _check_operations(plan: list[dict[str, Any]], selected: list[str]) -> None:
    """422 for an operation the plan does not hold, or one on an issue whose create is left out."""
    ops = {op["op_id"]: op for op in plan}
    if unknown := [op_id for op_id in selected if op_id not in ops]:
        raise FieldInvalidError(("body", "operations"), "not operations of this plan: " + ", ".join(unknown[:20]))
    chosen = set(selected)
    for op_id in selected:
        if missing := [need for need in creates_needed(ops[op_id]) if need not in chosen]:
            raise FieldInvalidError(
                ("body", "operations"), f"{op_id} needs the issue {missing[0]} creates: select {missing[0]} too"
            )


def _check_preview(source: JobRecord) -> None:
    """409 unless the job is a finished preview whose plan nobody applied or discarded yet."""
    job_id, status = source.job_id, source.status
    if status in (JobStatus.started, JobStatus.processing):
        raise ApiError(409, f"Job {job_id} is still {status.value}; apply it once it has completed")
    if status is not JobStatus.completed:
        raise ApiError(409, f"Job {job_id} {status.value}; it has no plan to apply")
    if source.request.get("update_jira") is True:
        raise ApiError(409, f"Job {job_id} wrote to Jira itself (update_jira was true); it is not a preview")
    if source.request.get("dry_run") is False:
        raise ApiError(409, f"Job {job_id} wrote to Jira itself (dry_run was false); it is not a preview")
    if applied_by := source.section(PreviewClaim).applied_by:
        raise _already_applied(job_id, applied_by)
    discarded = source.section(PreviewDiscard)
    if discarded.discarded_by is not None:
        raise _discarded_already(job_id, discarded.discarded_by, discarded.discarded_at)


def _applied(record: JobRecord) -> ApplyResult:
    result = ApplyResult.model_validate(record.result)
    if result.discarded_by is not None:  # discarded after the checks, before the apply job claimed it
        raise _discarded_already(result.source_job_id, result.discarded_by, None)
    if result.applied_by is not None and result.applied_by != record.job_id:
        raise _already_applied(result.source_job_id, result.applied_by)  # another apply claimed it first
    return result


def _already_applied(job_id: str, applied_by: str) -> ApiError:
    return ApiError(
        409, f"The plan of job {job_id} is already applied by job {applied_by}", {"X-Applied-By": applied_by}
    )


def _discarded_already(job_id: str, discarded_by: str, at: datetime | None) -> ApiError:
    when = f" at {at:%Y-%m-%d %H:%M:%S} UTC" if at else ""
    return ApiError(409, f"The preview of job {job_id} was discarded by {discarded_by}{when}")
