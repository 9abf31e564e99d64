"""The jobs pages: every job, live, and one job whole.

- `/ui/jobs` lists 50 jobs a page, newest first, filtered by status, type and ticket (a GET
  form, read by `JobsPageQuery`: a bad value answers 422 with the page saying which, not a 500).
- `/ui/jobs/stream` follows the job watch (`JobService.following`) as server-sent events: a
  changed job that passes the page's filters is sent as its rendered row (`event: job`), one
  that left a status filter as `event: leave`, and `event: reload` when the page may have
  missed changes (it fell behind, or the watch restarted). A keep-alive comment goes every
  `KEEP_ALIVE_SECONDS`. The stream ends when the process shuts down.
- `/ui/jobs/{job_id}` shows the whole record, and the same stream (`?job=`) swaps its body.
- `/ui/jobs/{job_id}/cancel` cancels from the page (`same_origin` first).

A plan's operations are put in words from their kind and payload only (`describe`): the page
knows no pipeline. Everything shown is bounded: a long plan, list or JSON is cut, saying so.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import AfterValidator, BaseModel, Field, ValidationError, field_validator

from bot.http.routes import ApiError, RouteTable
from bot.jobs.queue import JobAlreadyFinishedError
from bot.jobs.store import JobNotFoundError
from bot.jobs.watch import InvalidCursorError, Listener, ListenerEnd, TooManyListenersError
from bot.services import services
from handlers.ui import environment, page, plans, same_origin
from schemas.applying import PreviewClaim
from schemas.jobs import AppliedOperation, JobRecord, JobStatus, JobType, PlanOperation
from schemas.keys import JobId, TicketKey, is_job_id

routes = RouteTable("ui")

PAGE_SIZE = 50
KEEP_ALIVE_SECONDS = 15.0
# What one job's page shows at most; the whole record is at /jobs/{job_id}.
MAX_TICKETS_IN_ROW = 3
MAX_TICKETS_SHOWN = 50
MAX_PLAN_ROWS = 200
MAX_LINES = 200
MAX_JSON_CHARS = 20_000
MAX_ECHO = 60  # of a rejected filter value, shown back in its input

TIMELINE_TYPES = frozenset({JobType.sprint_planning, JobType.timeline_planning})


def _blank_is_none(value: Any) -> Any:
    """A form's "Any" option and an empty input send `name=`: no filter."""
    return None if isinstance(value, str) and not value.strip() else value


class JobsFilter(BaseModel):
    """The list's filters, as its form sends them."""

    status: JobStatus | None = None
    job_type: JobType | None = None
    ticket: Annotated[TicketKey, AfterValidator(str.upper)] | None = None

    @field_validator("status", "job_type", "ticket", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_is_none(value)

    def admits(self, record: JobRecord) -> bool:
        return self.admits_kind(record) and (self.status is None or record.status == self.status)

    def admits_kind(self, record: JobRecord) -> bool:
        """Everything but the status, which a job changes."""
        return (self.job_type is None or record.job_type == self.job_type) and (
            self.ticket is None or self.ticket in record.ticket_keys
        )

    def query(self) -> dict[str, str]:
        fields = {"status": self.status, "job_type": self.job_type, "ticket": self.ticket}
        return {name: str(value) for name, value in fields.items() if value is not None}


class JobsPageQuery(JobsFilter):
    cursor: str | None = Field(default=None, max_length=200)

    @field_validator("cursor", mode="before")
    @classmethod
    def _blank_cursor(cls, value: Any) -> Any:
        return _blank_is_none(value)


class JobsStreamQuery(JobsFilter):
    job: JobId | None = None
    """Only this job (its own page)."""
    since: datetime | None = None
    """When the list was rendered: the jobs changed since are sent first."""


# What a rejected filter's message says, by field.
HINTS = {
    "status": "Status: choose one from the list",
    "job_type": "Type: choose one from the list",
    "ticket": "Ticket: give a Jira key such as DEMO-3",
    "cursor": "This page of older jobs is not one the list gave: start again from the newest jobs",
}


@routes.get("/ui/jobs", in_schema=False)
async def jobs_page(request: web.Request) -> web.Response:
    form = {name: request.query.get(name, "")[:MAX_ECHO] for name in ("status", "job_type", "ticket")}
    context: dict[str, Any] = {
        "form": form,
        "statuses": [status.value for status in JobStatus],
        "types": [job_type.value for job_type in JobType],
        "filtered": any(form.values()),
        "records": [],
        "total": 0,
        "problems": [],
        "stream_url": None,
        "next_url": None,
        "newest_url": None,
        "now": services(request).runtime.clock.now(),
        "cut": False,
    }
    try:
        query = JobsPageQuery.model_validate(dict(request.query))
        listing = await services(request).jobs.records(
            status=query.status, job_type=query.job_type, ticket_key=query.ticket, limit=PAGE_SIZE, cursor=query.cursor
        )
    except ValidationError as err:
        problems = [HINTS.get(str(error["loc"][0]), error["msg"]) for error in err.errors() if error["loc"]]
        return page(request, "jobs/list.html", status=422, **(context | {"problems": problems}))
    except InvalidCursorError:
        return page(request, "jobs/list.html", status=422, **(context | {"problems": [HINTS["cursor"]]}))
    filters = query.query()
    newest = "/ui/jobs" + (f"?{urlencode(filters)}" if filters else "")
    return page(
        request,
        "jobs/list.html",
        **context
        | {
            "records": listing.records,
            "total": listing.total,
            "stream_url": "/ui/jobs/stream?" + urlencode(filters | {"since": context["now"].isoformat()}),
            # New jobs go on top of the first page only; an older page keeps its rows.
            "insert": query.cursor is None,
            "next_url": f"/ui/jobs?{urlencode(filters | {'cursor': listing.next_cursor})}"
            if listing.next_cursor
            else None,
            "newest_url": newest if query.cursor else None,
        },
    )


# Registered before `/ui/jobs/{job_id}`, which would take "stream" for a job id.
@routes.get("/ui/jobs/stream", query=JobsStreamQuery, in_schema=False)
async def jobs_stream(request: web.Request, query: JobsStreamQuery) -> web.StreamResponse:
    """Server-sent events: each changed job the page shows, rendered as the page shows it."""
    try:
        with services(request).jobs.following() as listener:
            return await _follow(request, query, listener)
    except TooManyListenersError as err:
        raise ApiError(503, f"{err}; try again shortly", {"Retry-After": "10"}) from None


async def _follow(request: web.Request, query: JobsStreamQuery, listener: Listener) -> web.StreamResponse:
    clock = services(request).runtime.clock
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    try:
        await response.write(b"retry: 3000\n\n")
        for missed in await _missed(request, query):
            if event := _change(query, missed, clock.now()):
                await response.write(event)
        while True:
            try:
                async with asyncio.timeout(KEEP_ALIVE_SECONDS):
                    record = await listener.next()
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if record is None:  # ended: at shutdown the page just goes; else it reloads
                if listener.ended is not ListenerEnd.closing:
                    await response.write(_event("reload", str(listener.ended)))
                return response
            if event := _change(query, record, clock.now()):
                await response.write(event)
    except ConnectionResetError:  # the page went away
        return response


async def _missed(request: web.Request, query: JobsStreamQuery) -> list[JobRecord]:
    """What changed between the page's rendering and its stream's start (the stream carries only
    what changes after it starts): the job itself, or the list's newest jobs changed since."""
    jobs = services(request).jobs
    if query.job is not None:
        found = await _record(request, query.job)
        return [found] if found is not None else []
    if query.since is None:
        return []
    newest = await jobs.records(job_type=query.job_type, ticket_key=query.ticket, limit=PAGE_SIZE)
    return [record for record in reversed(newest.records) if record.updated_at >= query.since]


def _change(query: JobsStreamQuery, record: JobRecord, now: datetime) -> bytes | None:
    """The event a changed record makes on a page with these filters, if any."""
    if query.job is not None:
        if record.job_id != query.job:
            return None
        return _event("job", _render("jobs/_job.html", **_job_context(record, now)))
    if query.admits(record):
        return _event("job", _render("jobs/_row.html", job=record, now=now))
    if query.status is not None and query.admits_kind(record):
        return _event("leave", f"job-{record.job_id}")
    return None


def _event(name: str, data: str) -> bytes:
    lines = data.replace("\r\n", "\n").replace("\r", "\n").strip("\n").split("\n")
    return (f"event: {name}\n" + "".join(f"data: {line}\n" for line in lines) + "\n").encode()


def _render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


@routes.get("/ui/jobs/{job_id}", in_schema=False)
async def job_page(request: web.Request, job_id: str) -> web.Response:
    record = await _record(request, job_id)
    if record is None:
        return page(request, "jobs/missing.html", status=404, job_id=job_id[:MAX_ECHO])
    now = services(request).runtime.clock.now()
    return page(request, "jobs/job.html", **_job_context(record, now))


@routes.post("/ui/jobs/{job_id}/cancel", in_schema=False)
async def cancel_job(request: web.Request, job_id: str) -> web.Response:
    """Cancel from the job's page; answers the page's body, now cancelled."""
    same_origin(request)
    jobs = services(request).jobs
    job_id = job_id.lower()
    if not is_job_id(job_id):
        raise ApiError(404, f"No job {job_id[:MAX_ECHO]}")
    try:
        record = await jobs.cancel(job_id)
    except JobNotFoundError:
        raise ApiError(404, f"No job {job_id}") from None
    except JobAlreadyFinishedError as err:
        raise ApiError(409, f"This job already {err.record.status.value}; there is nothing to cancel") from None
    return page(request, "jobs/_job.html", **_job_context(record, services(request).runtime.clock.now()))


async def _record(request: web.Request, job_id: str) -> JobRecord | None:
    if not is_job_id(job_id):
        return None
    try:
        return await services(request).jobs.get(job_id.lower())
    except JobNotFoundError:
        return None


def _job_context(record: JobRecord, now: datetime) -> dict[str, Any]:
    """What `jobs/_job.html` shows of a record: the job page, and each change the stream sends."""
    plan = record.plan or []
    claim = record.section(PreviewClaim)
    extras = {
        name: value
        for name, value in (record.model_extra or {}).items()
        if isinstance(value, str | int | float | bool) and name not in PreviewClaim.model_fields
    }
    return {
        "job": record,
        "now": now,
        "approved_by": claim.approved_by or record.request.get("approved_by"),
        "applied_by": claim.applied_by,
        "extras": extras,
        "plan_rows": [(operation, plans.describe(operation, plan)) for operation in plan[:MAX_PLAN_ROWS]],
        "plan_cut": max(0, len(plan) - MAX_PLAN_ROWS),
        "applied": _applied(record, plan),
        "lines": _lines(record.result),
        "request_json": _json(record.request),
        "result_json": None if record.result is None else _json(record.result),
        "preview_url": f"/ui/previews/{record.job_id}" if plans.is_preview(record) else None,
        "timeline_url": f"/ui/timeline/{record.job_id}" if record.job_type in TIMELINE_TYPES else None,
        "max_tickets": MAX_TICKETS_SHOWN,
        "max_lines": MAX_LINES,
    }


def _applied(record: JobRecord, plan: list[PlanOperation]) -> list[tuple[AppliedOperation, str, str]]:
    """(operation, what it did in words, Jira's answer): the record's own, or an apply job's result."""
    applied = record.applied
    if not applied and isinstance(record.result, dict) and isinstance(record.result.get("operations"), list):
        try:
            applied = [AppliedOperation.model_validate(entry) for entry in record.result["operations"]]
        except ValidationError:
            applied = []
    planned = {operation.op_id: operation for operation in plan}
    rows = []
    for entry in applied[:MAX_PLAN_ROWS]:
        operation = planned.get(entry.op_id)
        what = plans.describe(operation, plan) if operation is not None else ""
        answer = ", ".join(f"{name.replace('_', ' ')}: {_short(value)}" for name, value in entry.outcome.items())
        rows.append((entry, what, answer))
    return rows


def _lines(result: Any) -> list[dict[str, str]]:
    """One line per ticket, when the result holds them: a batch's list, or an apply's `tickets`."""
    items = result.get("tickets") if isinstance(result, dict) else result
    if not isinstance(items, list):
        return []
    lines = []
    for item in items:
        if not isinstance(item, dict) or "ticket_key" not in item:
            return []
        lines.append({"ticket_key": str(item["ticket_key"]), "outcome": _outcome(item), "note": _note(item)})
    return lines


def _outcome(line: dict[str, Any]) -> str:
    if "outcome" in line:
        return str(line["outcome"]).replace("_", " ")
    if line.get("skipped"):
        return "skipped"
    if not line.get("success", True):
        return "failed"
    return "written to Jira" if line.get("updated_in_jira") else "drafted"


def _note(line: dict[str, Any]) -> str:
    if line.get("error"):
        return str(line["error"])
    if line.get("changed_fields"):
        return "changed in Jira since the preview: " + ", ".join(map(str, line["changed_fields"]))
    return ""


def _json(value: Any) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    if len(text) <= MAX_JSON_CHARS:
        return text
    return text[:MAX_JSON_CHARS] + f"\n… cut: {len(text) - MAX_JSON_CHARS:,} more characters"


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:200] + "…"
