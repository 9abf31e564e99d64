"""Jira write jobs: `update_ticket`, `update_story_ticket` and `create_ticket`.

Plan, then apply. The plan is made from what Jira holds: one `update_fields` operation for
the fields asked for (with the fingerprints of their current values, so a field somebody
edits meanwhile is not overwritten), a `set_parent` for a story's new epic, and one
`link_issues` per link. A preview answers the current and the new values and stops; with
`update_jira` the same plan goes through the applier, each operation recorded before the
next, so a redelivered job never writes twice and an identical link is never made twice.
Input Jira cannot take fails the job at once with 422: a story that is not a Story, a
parent that is not an Epic, an unknown link type, a ticket linked to itself. An unknown
ticket is 404.

`create_ticket` plans one `create_issue` (a Task under the epic, labelled with the job's
marker, its link to the story made in the same write, so the applier finds it again through
the story instead of creating it twice) and one `link_issues` per ticket it blocks, which
names it as "the key created by" that operation. `story_key` must be a Story.
"""

from __future__ import annotations

from typing import Any

from bot.jira.applier import ALREADY_APPLIED, APPLIED, CONFLICT, created_by, guarded_update
from bot.jira.client import JiraClient, JiraError, JiraNotFoundError, Ticket
from bot.jira.fields import ProjectFields
from bot.jira.links import BLOCKS, NO_STORY_LINK, StoryLink, link_type_names, stand_in_note
from bot.jobs.context import JobContext
from bot.jobs.errors import JIRA, InvalidInputJobError, NotFoundJobError, jira_failure
from bot.jobs.pipeline import Pipeline
from schemas.jira_operations import (
    CreateTicketRequest,
    IssueLinkRequest,
    LinkCreated,
    TicketCreateResult,
    TicketUpdateResult,
    UpdateStoryTicketRequest,
    UpdateTicketRequest,
)
from schemas.jobs import AppliedOperation, JobType, PlanOperation

pipeline = Pipeline("jira_operations")

FIELDS = ("summary", "description", "test_cases", "mandays")
# The request fields written to custom fields, by their role in `jira.fields`.
CUSTOM_ROLES = ("test_cases", "mandays")
STORY = "Story"
EPIC = "Epic"
TASK = "Task"
CREATE_OP = "create"


async def update_ticket(job: JobContext) -> TicketUpdateResult:
    request = UpdateTicketRequest.model_validate(job.request)
    return await _update(job, request.ticket_key.upper(), request)


async def update_story_ticket(job: JobContext) -> TicketUpdateResult:
    request = UpdateStoryTicketRequest.model_validate(job.request)
    return await _update(job, request.story_key.upper(), request)


async def _update(
    job: JobContext, key: str, request: UpdateTicketRequest | UpdateStoryTicketRequest
) -> TicketUpdateResult:

    async def make() -> tuple[list[PlanOperation], TicketUpdateResult]:
        await job.progress(f"Reading {key}", processed=0, total=1)
        return await Planner(job, key).plan(request)

    plan, result = await job.plan_once(make)
    draft = TicketUpdateResult.model_validate(result)
    if not request.update_jira:
        return draft
    await job.progress(f"Writing {key}")
    applied = await job.apply(plan, ticket_key=key)
    await job.progress(f"Wrote {key}", processed=1, total=1)
    return _final(key, draft, plan, applied)


class Planner:
    """Reads the ticket (and what its links and parent name) and makes the plan and the preview."""

    def __init__(self, job: JobContext, key: str) -> None:
        self._jira: JiraClient = job.runtime.jira
        self._fields = ProjectFields(job.runtime.settings, job.runtime.jira)  # this job's only
        self._key = key

    async def plan(
        self, request: UpdateTicketRequest | UpdateStoryTicketRequest
    ) -> tuple[list[PlanOperation], TicketUpdateResult]:
        key = self._key
        story = isinstance(request, UpdateStoryTicketRequest)
        site_ids = tuple(i for role in CUSTOM_ROLES if (i := self._fields.site_id(role)))
        ticket = await self._ticket(key, custom_fields=site_ids)
        if story and ticket.issue_type != STORY:
            raise InvalidInputJobError(
                f"story_key {key} is a {ticket.issue_type}, not a Story: update-story-ticket changes Stories only",
                ticket_key=key,
            )
        asked = {name: getattr(request, name) for name in FIELDS if getattr(request, name, None) is not None}
        field_ids = {"summary": "summary", "description": "description"}
        field_ids |= await _custom_field_ids(
            self._fields, ticket, tuple(role for role in CUSTOM_ROLES if role in asked), job_key=key
        )
        current = {"summary": ticket.summary, "description": ticket.description} | await self._custom_values(
            ticket, {role: field_ids[role] for role in CUSTOM_ROLES if role in asked}
        )
        preview: dict[str, Any] = {"story_key" if story else "ticket_key": key}
        would_change: dict[str, bool] = {}
        plan: list[PlanOperation] = []
        for name, value in asked.items():
            preview[f"current_{name}"], preview[f"new_{name}"] = current[name], value
            would_change[name] = (current[name] or "") != value
        if asked:
            plan.append(
                guarded_update(
                    f"fields:{key}",
                    key,
                    {field_ids[name]: value for name, value in asked.items()},
                    read={field_ids[name]: current[name] for name in asked},
                )
            )
        parent_key = (
            request.parent_key.upper() if isinstance(request, UpdateStoryTicketRequest) and request.parent_key else None
        )
        if parent_key is not None:
            await self._check_parent(parent_key)
            preview["current_parent_key"], preview["new_parent_key"] = ticket.parent_key, parent_key
            would_change["parent_key"] = ticket.parent_key != parent_key
            plan.append(
                PlanOperation(
                    op_id=f"parent:{key}",
                    kind="set_parent",
                    ticket_key=key,
                    payload={"parent_key": parent_key, "expect_parent_key": ticket.parent_key},
                )
            )
        if request.links:
            link_plan, link_preview = await self._links(request.links)
            plan += link_plan
            preview["links"] = link_preview
        kind = "Story ticket" if story else "Ticket"
        draft = TicketUpdateResult(
            success=True,
            ticket_key=key,
            updated_in_jira=False,
            updates_applied=would_change,
            preview=preview,
            message=f"Preview: {kind} {key} would be updated. Set update_jira=true to commit.",
        )
        return plan, draft

    async def _custom_values(self, ticket: Ticket, ids: dict[str, str]) -> dict[str, Any]:
        """role -> the current value of its field; a team-managed project's own fields were
        not among those read with the ticket."""
        values = dict(ticket.custom)
        if own := [field_id for field_id in ids.values() if field_id not in values]:
            try:
                values |= await self._jira.field_values(ticket.key, own)
            except JiraError as err:
                raise jira_failure(err, ticket_key=self._key) from None
        return {role: values.get(field_id) for role, field_id in ids.items()}

    async def _ticket(self, key: str, *, what: str = "Ticket", custom_fields: tuple[str, ...] = ()) -> Ticket:
        try:
            return await self._jira.ticket(key, custom_fields=custom_fields)
        except JiraNotFoundError:
            raise NotFoundJobError(f"{what} {key} not found in Jira", ticket_key=self._key, provider=JIRA) from None
        except JiraError as err:
            raise jira_failure(err, ticket_key=self._key) from None

    async def _check_parent(self, parent_key: str) -> None:
        parent = await self._ticket(parent_key, what="Parent")
        if parent.issue_type != EPIC:
            raise InvalidInputJobError(
                f"parent_key {parent_key} is a {parent.issue_type}, not an Epic", ticket_key=self._key
            )

    async def _links(self, links: list[IssueLinkRequest]) -> tuple[list[PlanOperation], list[dict[str, Any]]]:
        key = self._key
        try:
            types = {kind["name"].lower(): kind["name"] for kind in await self._jira.link_types()}
            existing = await self._jira.issue_links(key)
        except JiraError as err:
            raise jira_failure(err, ticket_key=key) from None
        plan: list[PlanOperation] = []
        preview: list[dict[str, Any]] = []
        for index, link in enumerate(links):
            name = types.get(link.link_type.lower())
            if name is None:
                raise InvalidInputJobError(
                    f"links[{index}].link_type {link.link_type!r} is not a link type of this Jira "
                    f"(it has: {', '.join(sorted(types.values()))})",
                    ticket_key=key,
                )
            target = link.target_key.upper()
            if target == key:
                raise InvalidInputJobError(
                    f"links[{index}].target_key: {key} cannot be linked to itself", ticket_key=key
                )
            await self._ticket(target, what="Link target")
            inward, outward = (key, target) if link.direction == "outward" else (target, key)
            other = "outwardIssue" if link.direction == "outward" else "inwardIssue"
            exists = any(
                (found.get("type") or {}).get("name") == name and (found.get(other) or {}).get("key") == target
                for found in existing
            )
            plan.append(
                PlanOperation(
                    op_id=f"link:{inward}:{name}:{outward}",
                    kind="link_issues",
                    ticket_key=key,
                    payload={"link_type": name, "inward_key": inward, "outward_key": outward},
                )
            )
            preview.append({"link_type": name, "target_key": target, "direction": link.direction, "exists": exists})
        return plan, preview


async def _custom_field_ids(
    fields: ProjectFields,
    ticket: Ticket,
    roles: tuple[str, ...],
    *,
    job_key: str,
    create: bool = False,
) -> dict[str, str]:
    """role -> the id of the field `roles` are written to on `ticket` (with `create`: on a new
    Task in `ticket`'s project), by `ProjectFields.write_ids`. A role with no field there fails
    the job with 422 naming the request field and the project, before anything is written
    (Jira would refuse a field off the screen)."""
    screen = TASK if create else None
    try:
        ids = await fields.write_ids(ticket, roles, create=screen)
    except JiraError as err:
        raise jira_failure(err, ticket_key=job_key) from None
    for role in roles:
        if role not in ids:
            raise InvalidInputJobError(fields.missing(ticket, role, create=screen), ticket_key=job_key)
    return ids


def _final(
    key: str, draft: TicketUpdateResult, plan: list[PlanOperation], applied: list[AppliedOperation]
) -> TicketUpdateResult:
    """What the update did, from the outcome of each operation."""
    status = {entry.op_id: entry.outcome.get("status") for entry in applied}
    written = {op.op_id for op in plan if status.get(op.op_id) in (APPLIED, ALREADY_APPLIED)}
    updates: dict[str, bool] = {}
    links: list[LinkCreated] = []
    for op in plan:
        if op.kind == "update_fields":
            updates |= {name: op.op_id in written for name in draft.updates_applied if name != "parent_key"}
        elif op.kind == "set_parent":
            updates["parent_key"] = op.op_id in written
        elif op.kind == "link_issues":
            links.append(
                LinkCreated(
                    link_type=op.payload["link_type"],
                    source_key=op.payload["inward_key"],
                    target_key=op.payload["outward_key"],
                    status="created" if status.get(op.op_id) == APPLIED else "already_exists",
                )
            )
    conflict = CONFLICT in status.values()
    message = (
        f"{key} changed in Jira since it was read; the changed values were not overwritten"
        if conflict
        else f"Successfully updated {key}"
    )
    return draft.model_copy(
        update={
            "success": not conflict,
            "updated_in_jira": not conflict,
            "updates_applied": updates,
            "links_created": links,
            "message": message,
        }
    )


async def create_ticket(job: JobContext) -> TicketCreateResult:
    request = CreateTicketRequest.model_validate(job.request)
    key = request.story_key.upper()

    async def make() -> tuple[list[PlanOperation], TicketCreateResult]:
        await job.progress(f"Reading {request.parent_key.upper()} and {key}", processed=0, total=1)
        return await _plan_create(job, request)

    plan, result = await job.plan_once(make)
    draft = TicketCreateResult.model_validate(result)
    if not request.create_ticket:
        return draft
    await job.progress(f"Creating a task split from {key}")
    applied = await job.apply(plan, ticket_key=key)
    created = next(entry.outcome["key"] for entry in applied if entry.op_id == CREATE_OP)
    await job.progress(f"Created {created}", processed=1, total=1)
    return _created(created, draft, plan, applied)


async def _plan_create(job: JobContext, request: CreateTicketRequest) -> tuple[list[PlanOperation], TicketCreateResult]:
    """The create and its links; input Jira cannot take fails here, before anything is written."""
    jira: JiraClient = job.runtime.jira
    story_key, parent_key = request.story_key.upper(), request.parent_key.upper()
    blocks = list(dict.fromkeys(key.upper() for key in request.blocks))

    async def read(key: str, what: str) -> Ticket:
        try:
            return await jira.ticket(key)
        except JiraNotFoundError:
            raise NotFoundJobError(f"{what} {key} not found in Jira", ticket_key=story_key, provider=JIRA) from None
        except JiraError as err:
            raise jira_failure(err, ticket_key=story_key) from None

    parent = await read(parent_key, "Parent")
    if parent.issue_type != EPIC:
        raise InvalidInputJobError(
            f"parent_key {parent_key} is a {parent.issue_type}, not an Epic", ticket_key=story_key
        )
    story = await read(story_key, "Story")
    if story.issue_type != STORY:
        raise InvalidInputJobError(
            f"story_key {story_key} is a {story.issue_type}, not a Story: a task is split from a Story",
            ticket_key=story_key,
        )
    for key in blocks:
        await read(key, "Blocked ticket")
    try:
        types = await link_type_names(jira)
    except JiraError as err:
        raise jira_failure(err, ticket_key=story_key) from None
    story_link = StoryLink.among(types)
    if story_link is None:
        raise InvalidInputJobError(NO_STORY_LINK, ticket_key=story_key)
    if blocks and BLOCKS not in types:
        raise InvalidInputJobError(f"this Jira has no {BLOCKS} link type", ticket_key=story_key)

    fields: dict[str, Any] = {
        "project": {"key": parent.project},
        "issuetype": {"name": TASK},
        "parent": {"key": parent_key},
        "summary": request.summary,
        "description": request.description,
    }
    values = {role: value for role in CUSTOM_ROLES if (value := getattr(request, role)) is not None}
    ids = await _custom_field_ids(
        ProjectFields(job.runtime.settings, jira), parent, tuple(values), job_key=story_key, create=True
    )
    fields |= {ids[role]: value for role, value in values.items()}
    marker = job.marker
    fields["labels"] = [marker]
    task = created_by(CREATE_OP)
    name = story_link.name
    # The story's link goes in the create itself: the task and its link appear in one write,
    # and the applier finds a task made before a crash through the story (GET, not the search).
    link_ends = [(name, story_key, task) if story_link.story_inward else (name, task, story_key)]
    link_ends += [(BLOCKS, task, key) for key in blocks]
    plan = [
        PlanOperation(
            op_id=CREATE_OP,
            kind="create_issue",
            payload={"fields": fields, "marker": marker, "links": [story_link.of(story_key)]},
        )
    ]
    plan += [
        PlanOperation(
            op_id=f"link:{index}:{BLOCKS}",
            kind="link_issues",
            payload={"link_type": BLOCKS, "inward_key": task, "outward_key": key},
        )
        for index, key in enumerate(blocks, start=1)
    ]
    draft = TicketCreateResult(
        success=True,
        ticket_key=None,
        created_in_jira=False,
        marker=marker,
        story_link_type=name,
        preview={
            "project": parent.project,
            "parent_key": parent_key,
            "summary": request.summary,
            "description": request.description,
            "test_cases": request.test_cases,
            "mandays": request.mandays,
            "links": [
                {"link_type": link_type, "source_key": _shown(inward), "target_key": _shown(outward)}
                for link_type, inward, outward in link_ends
            ],
        },
        message=f"Preview: a Task under {parent_key} split from {story_key} would be created. "
        f"Set create_ticket=true to create it.{stand_in_note(name)}",
    )
    return plan, draft


def _shown(end: str | dict[str, str]) -> str:
    return end if isinstance(end, str) else TASK.upper()


def _created(
    key: str, draft: TicketCreateResult, plan: list[PlanOperation], applied: list[AppliedOperation]
) -> TicketCreateResult:
    status = {entry.op_id: entry.outcome.get("status") for entry in applied}

    def end(value: str | dict[str, str]) -> str:
        return value if isinstance(value, str) else key

    # The links made with the task exist since the create that was applied, or since an earlier one.
    made_with = "created" if status.get(CREATE_OP) == APPLIED else "already_exists"
    links = [
        LinkCreated(
            link_type=link["type"]["name"],
            source_key=link["inwardIssue"]["key"] if "inwardIssue" in link else key,
            target_key=key if "inwardIssue" in link else link["outwardIssue"]["key"],
            status=made_with,
        )
        for op in plan
        if op.kind == "create_issue"
        for link in op.payload.get("links", [])
    ]
    links += [
        LinkCreated(
            link_type=op.payload["link_type"],
            source_key=end(op.payload["inward_key"]),
            target_key=end(op.payload["outward_key"]),
            status="created" if status.get(op.op_id) == APPLIED else "already_exists",
        )
        for op in plan
        if op.kind == "link_issues"
    ]
    return draft.model_copy(
        update={
            "ticket_key": key,
            "created_in_jira": True,
            "links_created": links,
            "message": f"Successfully created task {key}.{stand_in_note(draft.story_link_type)}",
        }
    )


pipeline.on(JobType.update_ticket, update_ticket)
pipeline.on(JobType.update_story_ticket, update_story_ticket)
pipeline.on(JobType.create_ticket, create_ticket)
