"""`prd_story_sync`: the stories of a PRD's story table, as Jira stories under the epic.

Plan, then apply. The PRD is the page `prd_url` names, else the one the epic's PRD field
links (a team-managed project's own field included: `bot.jira.context`). Its story table
is read by rule (`bot.documents.prd_stories`), not by an LLM. Rows with the same title
(any case) are merged, with a warning, so titles in one plan are unique. The epic's
stories (`parent = EPIC AND issuetype = Story`, every page, at most `MAX_EXISTING`) are
matched by normalised title; without an epic, the stories of `project_key`.

The plan: a `create_issue` per new story (a Story in the epic's project, under the epic,
its description and an "Acceptance Criteria" list in wiki markup, labelled with the job's
marker `augment-<12 hex of the job id>`; the applier looks for the marker and the summary,
unique in the plan, before creating, so a retry, a redelivery, a worker killed mid-apply, or
`POST /jobs/{id}/apply` after the preview never creates a story twice); for
`existing_ticket_action: update`, an `update_fields` of the existing story's description
with the fingerprint of what it held (a story edited meanwhile is not overwritten); nothing
for `skip`. `error` fails the job (422) naming the existing stories before anything is
written. A dry run (the default) stops at the plan; otherwise it goes through `job.apply`.

`/augment sync-prd [skip|update]` on an epic previews and answers with a table of the
stories and the `/augment apply <job>` line.
"""

from __future__ import annotations

import asyncio

from bot.commands.context import CommandContext
from bot.documents import DocumentError, DocumentReader
from bot.documents.prd_stories import PrdStory, StoryTableError, find_story_table, normalise_title
from bot.formatting.limits import fit_wiki
from bot.formatting.plans import story_wiki, table_cell
from bot.jira.applier import ALREADY_APPLIED, APPLIED, CONFLICT, guarded_update
from bot.jira.client import JiraClient, JiraError, JiraNotFoundError, Ticket
from bot.jira.context import TicketContextReader
from bot.jobs.context import JobContext
from bot.jobs.errors import (
    JIRA,
    InvalidInputJobError,
    JobError,
    NotFoundJobError,
    PermanentJobError,
    TransientJobError,
    jira_failure,
)
from bot.jobs.pipeline import Pipeline
from bot.replies import job_ref, monospace
from schemas.jobs import AppliedOperation, JobRecord, JobType, PlanOperation
from schemas.planning import CreatedTickets, PlanningResult, PrdStorySyncRequest, StoryDetail

pipeline = Pipeline("prd_sync")

STORY = "Story"
EPIC = "Epic"
# The epic's existing stories read to match titles against; an epic has far fewer.
MAX_EXISTING = 1000
READ_CONCURRENCY = 8
COMMAND_ACTIONS = ("skip", "update")


async def sync_from_prd(job: JobContext) -> PlanningResult:
    request = PrdStorySyncRequest.model_validate(job.request)

    async def make() -> tuple[list[PlanOperation], PlanningResult]:
        await job.progress("Reading the PRD's story table", processed=0, total=1)
        return await _plan(job, request)

    plan, result = await job.plan_once(make)
    draft = PlanningResult.model_validate(result)
    if request.dry_run:
        return draft.model_copy(update={"execution_time_seconds": job.elapsed()})
    applied = await job.apply(plan, ticket_key=draft.epic_key or "", doing=f"Writing {len(plan)} stories")
    return _final(draft, applied, job.elapsed())


async def _plan(job: JobContext, request: PrdStorySyncRequest) -> tuple[list[PlanOperation], PlanningResult]:
    """Read the epic, the PRD and the existing stories; fail before anything is written."""
    jira: JiraClient = job.runtime.jira
    epic_key = request.epic_key.upper() if request.epic_key else None
    project = request.project_key.upper() if request.project_key else None
    url = request.prd_url
    if epic_key is not None:
        epic, link = await _epic(job, epic_key)
        project, url = epic.project, url or link
        if not url:
            raise InvalidInputJobError(
                f"Epic {epic_key} has no PRD link (its PRD field is empty); give prd_url", ticket_key=epic_key
            )
    assert url is not None, "the request has epic_key or prd_url"
    try:
        document = await DocumentReader.from_settings(job.runtime.settings).read(url)
        table = find_story_table(document.storage)
    except DocumentError as err:
        raise _document_failure(err, epic_key) from None
    except StoryTableError as err:
        raise InvalidInputJobError(f"{err} (in {url})", ticket_key=epic_key) from None
    stories, warnings = _merged(table.stories)
    warnings = table.warnings + warnings
    existing = await _existing(jira, epic_key, project)
    found = [(story, existing.get(normalise_title(story.title))) for story in stories]
    if request.existing_ticket_action == "error" and any(ticket for _, ticket in found):
        named = ", ".join(f'{ticket.key} "{ticket.summary}"' for _, ticket in found if ticket)
        where = f"under {epic_key}" if epic_key else f"in {project}"
        raise InvalidInputJobError(
            f"Stories of the PRD already exist {where}: {named}. existing_ticket_action is error: nothing was written",
            ticket_key=epic_key,
        )
    marker = job.marker
    plan: list[PlanOperation] = []
    details: list[StoryDetail] = []
    for index, (story, ticket) in enumerate(found):
        wiki = fit_wiki(story_wiki(story.description, story.acceptance_criteria), f"/jobs/{job.record.job_id}")
        detail = StoryDetail(
            title=story.title,
            description=story.description,
            acceptance_criteria=list(story.acceptance_criteria),
            action="create",
            ticket_key=ticket.key if ticket else None,
        )
        if ticket is None:
            if project is None:
                detail.message = "Would be created once project_key (or epic_key) says where"
            else:
                fields = {
                    "project": {"key": project},
                    "issuetype": {"name": STORY},
                    "summary": story.title,
                    "description": wiki,
                    "labels": [marker],
                } | ({"parent": {"key": epic_key}} if epic_key else {})
                plan.append(
                    PlanOperation(
                        op_id=f"create:{index}", kind="create_issue", payload={"fields": fields, "marker": marker}
                    )
                )
        elif request.existing_ticket_action == "skip":
            detail.action, detail.message = "skip", f"{ticket.key} has this title already; left as it is"
        elif ticket.description == wiki:
            detail.action, detail.message = "unchanged", f"{ticket.key} holds this description already"
        else:
            detail.action = "update"
            plan.append(
                guarded_update(
                    f"update:{index}", ticket.key, {"description": wiki}, read={"description": ticket.description}
                )
            )
        details.append(detail)
    counts = {action: sum(d.action == action for d in details) for action in ("create", "update", "skip", "unchanged")}
    draft = PlanningResult(
        epic_key=epic_key,
        prd_url=document.url,
        operation_mode="preview",
        success=True,
        created_tickets=CreatedTickets(),
        story_details=details,
        execution_time_seconds=0.0,
        warnings=warnings,
        message=f"Preview: {counts['create']} stories to create, {counts['update']} to update, "
        f"{counts['skip'] + counts['unchanged']} left as they are. Set dry_run=false to write.",
    )
    return plan, draft


async def _epic(job: JobContext, epic_key: str) -> tuple[Ticket, str | None]:
    reader = TicketContextReader(job.runtime.settings, job.runtime.jira)
    try:
        epic, link = await reader.document_link(epic_key, "prd")
    except JiraNotFoundError:
        raise NotFoundJobError(f"Epic {epic_key} not found in Jira", ticket_key=epic_key, provider=JIRA) from None
    except JiraError as err:
        raise jira_failure(err, ticket_key=epic_key) from None
    if epic.issue_type != EPIC:
        raise InvalidInputJobError(f"epic_key {epic_key} is a {epic.issue_type}, not an Epic", ticket_key=epic_key)
    return epic, link


def _document_failure(err: DocumentError, epic_key: str | None) -> JobError:
    if err.reason in ("rate_limited", "unreachable", "failed"):
        return TransientJobError(str(err), ticket_key=epic_key)
    if err.reason == "not_found":
        return NotFoundJobError(str(err), ticket_key=epic_key)
    if err.reason == "no_permission":
        return PermanentJobError(str(err), ticket_key=epic_key)
    return InvalidInputJobError(str(err), ticket_key=epic_key)


def _merged(stories: list[PrdStory]) -> tuple[list[PrdStory], list[str]]:
    """One story per title: a repeated row's new criteria are added to the first row's."""
    kept: dict[str, PrdStory] = {}
    warnings: list[str] = []
    for story in stories:
        title = normalise_title(story.title)
        first = kept.get(title)
        if first is None:
            kept[title] = story
            continue
        warnings.append(f'Row {story.row} repeats the title of row {first.row} ("{first.title}"); merged into it')
        extra = tuple(c for c in story.acceptance_criteria if c not in first.acceptance_criteria)
        kept[title] = PrdStory(first.title, first.description, first.acceptance_criteria + extra, first.row)
    return list(kept.values()), warnings


async def _existing(jira: JiraClient, epic_key: str | None, project: str | None) -> dict[str, Ticket]:
    """The stories to match against, by normalised title (the first by key wins)."""
    if epic_key is not None:
        jql = f"parent = {epic_key} AND issuetype = {STORY} ORDER BY key"
    elif project is not None:
        jql = f"project = {project} AND issuetype = {STORY} ORDER BY key"
    else:
        return {}
    gate = asyncio.Semaphore(READ_CONCURRENCY)

    async def read(key: str) -> Ticket:
        async with gate:
            return await jira.ticket(key)

    try:
        keys = await jira.search_keys(jql, MAX_EXISTING)
        tickets = await asyncio.gather(*(read(key) for key in keys))
    except JiraError as err:
        raise jira_failure(err, ticket_key=epic_key) from None
    found: dict[str, Ticket] = {}
    for ticket in tickets:
        found.setdefault(normalise_title(ticket.summary), ticket)
    return found


def _final(draft: PlanningResult, applied: list[AppliedOperation], elapsed: float) -> PlanningResult:
    """What the sync did, from each operation's outcome."""
    outcomes = {entry.op_id: entry.outcome for entry in applied}
    created: list[str] = []
    details: list[StoryDetail] = []
    conflicts = 0
    for index, detail in enumerate(draft.story_details):
        made = outcomes.get(f"create:{index}")
        changed = outcomes.get(f"update:{index}")
        if made is not None and made.get("status") in (APPLIED, ALREADY_APPLIED):
            created.append(made["key"])
            detail = detail.model_copy(update={"ticket_key": made["key"], "message": f"Created {made['key']}"})
        elif changed is not None and changed.get("status") == CONFLICT:
            conflicts += 1
            message = f"{detail.ticket_key} changed in Jira since it was read; it was not overwritten"
            detail = detail.model_copy(update={"message": message})
        elif changed is not None:
            detail = detail.model_copy(update={"message": f"Updated {detail.ticket_key}"})
        details.append(detail)
    updated = sum(
        1 for op_id, outcome in outcomes.items() if op_id.startswith("update:") and outcome["status"] != CONFLICT
    )
    return draft.model_copy(
        update={
            "operation_mode": "apply",
            "success": conflicts == 0,
            "created_tickets": CreatedTickets(stories=created),
            "story_details": details,
            "execution_time_seconds": elapsed,
            "message": f"Created {len(created)} stories, updated {updated}"
            + (f"; {conflicts} changed in Jira meanwhile and were not overwritten" if conflicts else ""),
        }
    )


async def sync_command(command: CommandContext) -> str:
    """`/augment sync-prd [skip|update]` on an epic: a preview, posted here when it is ready."""
    action = (command.arguments or ("skip",))[0].lower()
    if action not in COMMAND_ACTIONS:
        return f"Cannot run {monospace('/augment sync-prd')}: {action!r} is not one of {', '.join(COMMAND_ACTIONS)}."
    key = command.ticket_key
    request = PrdStorySyncRequest(epic_key=key, existing_ticket_action="update" if action == "update" else "skip")
    return await command.preview(
        JobType.prd_story_sync,
        request,
        queued=f"PRD story sync for epic {key} queued",
        doing=f"Reading the PRD of {key} for its stories",
    )


def sync_reply(record: JobRecord) -> str:
    result = PlanningResult.model_validate(record.result)
    if result.operation_mode == "apply":
        return f"{result.message} (job {job_ref(record.job_id)})."
    rows = "\n".join(
        f"|{table_cell(detail.title)}|{detail.action}|{detail.ticket_key or ' '}|" for detail in result.story_details
    )
    table = f"||Story||Action||Existing story||\n{rows}" if rows else "The table lists no stories."
    warnings = "".join(f"\n* {table_cell(warning)}" for warning in result.warnings)
    ending = (
        f"Nothing was written. To write it, comment:\n\n/augment apply {record.job_id}"
        if record.plan
        else "Nothing to write: every story of the PRD exists already."
    )
    return (
        f"h4. Preview: stories from the PRD of {result.epic_key}\n{table}\n"
        + (f"\nWarnings:{warnings}\n" if warnings else "")
        + f"\n{ending}"
    )


pipeline.on(JobType.prd_story_sync, sync_from_prd, reply=sync_reply)
pipeline.command(
    "sync-prd", sync_command, usage="/augment sync-prd [skip|update]", help="preview the stories of the epic's PRD"
)
