"""The previews pages: the plans waiting for review, one plan as people read it, approve or discard.

A preview is a finished job whose request did not write (`update_jira` not true, `dry_run` not
false) and that kept a plan: in its record, or per ticket for a batch. The list looks at the
`LOOKED_AT` most recent completed jobs and says when there were more.

Approve and Discard go through the JSON API's own functions (`handlers.jobs.start_apply`,
`discard`), recorded as `ui` (`ui:<user>` with authentication on); an approval queues the apply
job (async mode) and the page follows it live. A refusal (409, 422) comes back as a message for
people with its status, swapped in beside the buttons (`HX-Retarget`).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from bot.http.routes import ApiError, RouteTable, check_body
from bot.jira.applier import fingerprint
from bot.jira.client import JiraError
from bot.jobs.store import JobNotFoundError
from bot.services import services
from handlers.jobs import actor, discard, planned_operations, start_apply
from handlers.tasks import team_based_tasks
from handlers.ui import page, same_origin, wiki
from handlers.ui import plans as plan_views
from schemas.applying import MAX_SELECTED, ApplyBody, PreviewClaim, PreviewDiscard
from schemas.generation import BatchCounts
from schemas.jobs import JobAccepted, JobRecord, JobStatus, PlanOperation
from schemas.keys import JobId, JobPath, TicketKey
from schemas.planning import MAX_TASK_STORIES, TaskGenerationRequest

routes = RouteTable("ui")

LOOKED_AT = 200  # the most recent completed jobs the list reads
MAX_DESCRIPTIONS = 20  # descriptions read from Jira for one page (a batch may plan many)
JIRA_READS = 4  # at once
LIVE_STOP = 286  # htmx stops polling on this status
State = Literal["waiting", "applied", "discarded"]


class PreviewListQuery(BaseModel):
    done: bool = Field(default=False, description="Include previews already applied or discarded.")


class StartForm(BaseModel):
    """The dashboard's form for a team-based task preview."""

    epic_key: TicketKey
    stories: str = Field(default="", max_length=MAX_TASK_STORIES * 20)

    @property
    def story_keys(self) -> list[str]:
        return [key for key in self.stories.replace(",", " ").upper().split() if key]


class ApplyJobPath(BaseModel):
    job_id: JobId


@dataclass(frozen=True)
class PreviewRow:
    record: JobRecord
    state: State
    plans: str


@dataclass(frozen=True)
class TextView:
    """A planned text field (a description, a Test Cases table) beside the one Jira holds now."""

    ticket_key: str
    op_id: str
    label: str  # the field as Jira names it
    current: str | None
    planned: str
    error: str = ""  # Jira could not be read
    changed: bool = False  # Jira's text is no longer the one the preview was planned against

    @property
    def current_html(self) -> Any:
        return wiki.to_html(self.current)

    @property
    def planned_html(self) -> Any:
        return wiki.to_html(self.planned)

    @property
    def diff(self) -> list[wiki.Piece]:
        return wiki.diff(self.current, self.planned)


@routes.get("/ui/previews", query=PreviewListQuery, in_schema=False)
async def previews_page(request: web.Request, query: PreviewListQuery) -> web.Response:
    listing = await services(request).jobs.records(status=JobStatus.completed, limit=LOOKED_AT)
    rows = [row for record in listing.records if (row := _row(record)) is not None]
    shown = rows if query.done else [row for row in rows if row.state == "waiting"]
    return page(
        request, "previews/list.html", rows=shown, done=query.done, looked_at=len(listing.records), listing=listing
    )


@routes.post("/ui/previews/start", in_schema=False)
async def start_preview(request: web.Request) -> web.Response:
    """Plan the tasks of an epic's stories per team, as a preview, and go to the job's page.

    The stories are the epic's (at most the 50 the API takes), unless the form names some; the
    job goes through `POST /plan/tasks/team-based` itself, so it checks and answers alike."""
    same_origin(request)
    form = await request.post()
    try:
        start = StartForm.model_validate({name: str(value) for name, value in form.items()})
    except ValidationError as err:
        return _refused(request, 422, "; ".join(_field_message(error) for error in err.errors(include_url=False)))
    stories = start.story_keys
    if not stories:
        jql = f"parent = {start.epic_key} AND issuetype = Story ORDER BY key"
        try:
            found = await services(request).runtime.jira.search_issues(jql, MAX_TASK_STORIES)
        except JiraError as err:
            return _refused(request, 502, f"Jira could not list the stories of {start.epic_key}: {err}")
        stories = [issue["key"] for issue in found]
    if not stories:
        return _refused(request, 422, f"{start.epic_key} has no stories to plan tasks for.")
    try:
        body = TaskGenerationRequest(story_keys=stories, epic_key=start.epic_key, async_mode=True)
        check_body(request, body)  # the default model, as the JSON route resolves it
        response = await team_based_tasks(request, body)
    except ValidationError as err:
        return _refused(request, 422, "; ".join(_field_message(error) for error in err.errors(include_url=False)))
    except ApiError as err:
        return _refused(request, err.status, _message(err.detail))
    accepted = JobAccepted.model_validate_json(response.text or "{}")
    return web.Response(status=204, headers={"HX-Redirect": f"/ui/jobs/{accepted.job_id}"})


@routes.get("/ui/previews/{job_id}", path_params=JobPath, in_schema=False)
async def preview_page(request: web.Request, job_id: str) -> web.Response:
    record = await _record(request, job_id)
    planned = {
        key: [PlanOperation.model_validate(operation) for operation in plan]
        for key, plan in (await planned_operations(request, record)).items()
    }
    single = record.plan is not None
    settings = services(request).settings.jira
    estimates = tuple(name for name in (settings.mandays_custom_field, settings.story_points_custom_field) if name)
    operations = [operation for plan in planned.values() for operation in plan]
    descriptions = await _descriptions(request, operations)
    return page(
        request,
        "previews/preview.html",
        record=record,
        state=_state(record),
        preview=plan_views.is_preview(record),
        claim=record.section(PreviewClaim),
        discarded=record.section(PreviewDiscard),
        single=single,
        plans={key: plan_views.counts(plan) for key, plan in planned.items()},
        kinds=plan_views.counts(operations),
        view=plan_views.view(operations, estimates) if single else None,
        descriptions=descriptions,
        described=sum(len(_texts(operation)) for operation in operations),
        max_descriptions=MAX_DESCRIPTIONS,
    )


@routes.post("/ui/previews/{job_id}/apply", path_params=JobPath, in_schema=False)
async def approve(request: web.Request, job_id: str) -> web.Response:
    """Approve the ticked operations (a batch: the ticked tickets) and queue their apply job."""
    same_origin(request)
    form = await request.post()
    chosen = [str(value) for value in form.getall("op", [])][: MAX_SELECTED + 1]
    tickets = [str(value) for value in form.getall("ticket", [])][: MAX_SELECTED + 1]
    record = await _record(request, job_id)
    items: list[str] = tickets
    if record.plan is not None:
        items = plan_views.approved(record.plan, chosen)
        names = _names(record.plan)
        picked = {"operations": items or None}
    else:
        names = {}
        picked = {"ticket_keys": tickets or None}
    if not items:
        return _refused(request, 422, "Select at least one item to approve.")
    try:
        body = ApplyBody.model_validate({"async_mode": True, **picked})
        response = await start_apply(request, job_id, body, actor(request, "ui"))
    except ValidationError as err:
        return _refused(request, 422, "; ".join(error["msg"] for error in err.errors(include_url=False)))
    except ApiError as err:
        return _refused(request, err.status, _message(err.detail))
    accepted = JobAccepted.model_validate_json(response.text or "{}")
    return page(
        request,
        "previews/approved.html",
        accepted=accepted,
        who=actor(request, "ui"),
        items=[names.get(item, item) for item in items],
    )


@routes.post("/ui/previews/{job_id}/discard", path_params=JobPath, in_schema=False)
async def discard_page(request: web.Request, job_id: str) -> web.Response:
    same_origin(request)
    try:
        result = await discard(request, job_id, actor(request, "ui"))
    except ApiError as err:
        return _refused(request, err.status, _message(err.detail))
    return page(request, "previews/discarded.html", result=result)


@routes.get("/ui/previews/apply-jobs/{job_id}", path_params=ApplyJobPath, in_schema=False)
async def apply_status(request: web.Request, job_id: str) -> web.Response:
    """The apply job's status line, polled by the page until the job ends."""
    record = await _record(request, job_id)
    final = record.status.is_final
    return page(request, "previews/applying.html", job=record, status=LIVE_STOP if final else 200)


async def _record(request: web.Request, job_id: str) -> JobRecord:
    try:
        return await services(request).jobs.get(job_id)
    except JobNotFoundError:
        raise ApiError(404, f"Job {job_id} not found") from None


def _row(record: JobRecord) -> PreviewRow | None:
    if not plan_views.is_preview(record):
        return None
    if record.plan is not None:
        plans = plan_views.counts(record.plan)
    else:
        tickets = record.section(BatchCounts).successful_tickets
        plans = f"plans for {tickets} ticket{'s' if tickets != 1 else ''}"
    return PreviewRow(record=record, state=_state(record), plans=plans)


def _state(record: JobRecord) -> State:
    if record.section(PreviewClaim).applied_by:
        return "applied"
    if record.section(PreviewDiscard).discarded_by:
        return "discarded"
    return "waiting"


def _texts(operation: PlanOperation) -> list[tuple[str, str]]:
    """(field id, planned text) of each text field the operation sets on an existing ticket."""
    if operation.kind != "update_fields" or not operation.ticket_key:
        return []
    fields = operation.payload.get("fields") or {}
    return [(field, value) for field, value in fields.items() if isinstance(value, str)]


async def _descriptions(request: web.Request, operations: list[PlanOperation]) -> list[TextView]:
    """Each planned text beside Jira's current one, for the first `MAX_DESCRIPTIONS`."""
    jira = services(request).runtime.jira
    gate = asyncio.Semaphore(JIRA_READS)
    planned = [(operation, field, text) for operation in operations for field, text in _texts(operation)]
    planned = planned[:MAX_DESCRIPTIONS]
    labels = {"description": "Description"}
    if any(field not in labels for _, field, _ in planned):
        with contextlib.suppress(JiraError):  # unread, the field's id will do
            labels |= {str(found["id"]): str(found.get("name") or found["id"]) for found in await jira.fields()}

    async def read(operation: PlanOperation, field: str, text: str) -> TextView:
        key, label = operation.ticket_key or "", labels.get(field, field)
        async with gate:
            try:
                current = (await jira.field_values(key, [field]))[field]
            except JiraError as err:
                return TextView(key, operation.op_id, label, None, text, error=str(err))
        expected = (operation.payload.get("expect_sha256") or {}).get(field)
        changed = expected is not None and expected != fingerprint(current)
        return TextView(key, operation.op_id, label, current, text, changed=changed)

    return list(await asyncio.gather(*(read(*change) for change in planned)))


def _names(plan: list[PlanOperation]) -> dict[str, str]:
    """How the approved operations read: the new issue's summary, else the kind and ticket."""
    view = plan_views.view(plan, ())
    names = {row.op_id: f"Create {row.issue_type or 'issue'} “{row.summary}”" for row in view.creates}
    return names | {row.op_id: f"{row.kind.replace('_', ' ')}: {row.details}" for row in view.others}


def _message(detail: Any) -> str:
    """An API error's detail as a sentence: a 422 lists its fields' messages."""
    if isinstance(detail, list):
        return "; ".join(str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in detail)
    return str(detail)


def _field_message(error: Any) -> str:
    return f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" if error["loc"] else error["msg"]


def _refused(request: web.Request, status: int, message: str) -> web.Response:
    """The refusal as a message swapped in beside the buttons, with the API's status."""
    response = page(request, "previews/refused.html", status=status, message=message)
    response.headers.update({"HX-Retarget": "#review-message", "HX-Reswap": "innerHTML"})
    return response
