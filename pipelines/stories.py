"""`story_generation`: stories for an epic, proposed by the LLM, as Jira stories under the epic.

Plan, then apply. The epic is read with its PRD and RFC (`bot.jira.context`, within the
context budget); a key that is not an Epic fails the job (422) before the LLM is asked. The
epic's stories (`parent = EPIC AND issuetype = Story`, every page, at most `MAX_EXISTING`)
are the titles not to propose again: the prompt lists the first `MAX_LISTED` of them, and
the answer is checked against all of them (`GeneratedStories` with `StoryRules`; a broken
rule is re-asked, one still broken fails the job naming the rule). The tokens and cost of
the answer, re-asks included, go into the record, also when the answer stays unusable.

The plan: a `create_issue` per story (a Story in the epic's project, under the epic, its user
story and an "Acceptance Criteria" list in wiki markup, its priority when the project's create
screen has the field and the priority, labelled with the job's marker `augment-<12 hex of the
job id>`). Titles in one answer are unique, so marker and summary name one create: a retry, a
redelivery, a worker killed mid-apply, or `POST /jobs/{id}/apply` after the preview never
creates a story twice. The plan and the preview are kept in the record before anything is
written, so a redelivered job never asks the LLM again. A dry run (the default) stops at the
plan; otherwise it goes through `job.apply`.

`/augment stories [provider] [model]` on an epic previews and answers with a table of the
stories (title, priority, criteria count) and the `/augment apply <job>` line; a trigger rule
with `job_type: story_generation` runs it too (`update_jira: true` writes).
"""

from __future__ import annotations

from typing import Any

from bot.commands.context import CommandContext
from bot.config import TriggerAction
from bot.documents import cut_to_budget
from bot.formatting.limits import fit_wiki
from bot.formatting.plans import story_wiki, table_cell
from bot.jira.applier import ALREADY_APPLIED, APPLIED
from bot.jira.client import JiraError, JiraNotFoundError
from bot.jira.context import NOT_GIVEN, TicketContext, TicketContextReader
from bot.jobs.context import JobContext
from bot.jobs.errors import (
    JIRA,
    ConfigurationJobError,
    InvalidInputJobError,
    NotFoundJobError,
    jira_failure,
)
from bot.jobs.pipeline import Pipeline
from bot.llm.catalogue import Catalogue, ModelChoice
from bot.prompting import PromptError, PromptTemplates
from bot.replies import job_ref
from schemas.jobs import AppliedOperation, JobRecord, JobType, PlanOperation, TokenUsage
from schemas.planning import (
    CreatedTickets,
    ExistingStory,
    GeneratedStoryDetail,
    StoryGenerationRequest,
    StoryGenerationResult,
)
from schemas.planning_outputs import GeneratedStories, StoryRules

pipeline = Pipeline("stories")

STORY = "Story"
EPIC = "Epic"
# The epic's stories read to match titles against; an epic has far fewer.
MAX_EXISTING = 1000
# Existing titles listed in the prompt; the answer is checked against all of them.
MAX_LISTED = 200
# The epic's own description in the prompt; the PRD and RFC share the context budget.
DESCRIPTION_TOKENS = 2000


async def generate_stories(job: JobContext) -> StoryGenerationResult:
    request = StoryGenerationRequest.model_validate(job.request)

    async def make() -> tuple[list[PlanOperation], StoryGenerationResult]:
        await job.progress(f"Proposing stories for {request.epic_key.upper()}", processed=0, total=1)
        return await _plan(job, request)

    plan, result = await job.plan_once(make)
    draft = StoryGenerationResult.model_validate(result)
    if request.dry_run:
        return draft.model_copy(update={"execution_time_seconds": job.elapsed()})
    applied = await job.apply(plan, ticket_key=draft.epic_key or "", doing=f"Writing {len(plan)} stories")
    return _final(draft, applied, job.elapsed())


async def _plan(job: JobContext, request: StoryGenerationRequest) -> tuple[list[PlanOperation], StoryGenerationResult]:
    """Read the epic and its stories, ask the LLM; nothing is written here."""
    epic_key = request.epic_key.upper()
    choice = ModelChoice.queued(request.llm_provider, request.llm_model)
    context = await _epic_context(job, epic_key)
    epic = context.ticket
    existing = await _existing(job, epic_key)
    priorities = await _priorities(job, epic.project, epic_key)  # before the LLM: a project without Stories fails
    configured = job.runtime.settings.planning.max_stories
    limit = min(request.max_stories or configured, configured)  # the API refuses more; a rule may not
    titles = tuple(story.title for story in existing)
    values = context.prompt_values() | {
        "epic_key": epic.key,
        "description": cut_to_budget(epic.description, DESCRIPTION_TOKENS) or NOT_GIVEN,
    }
    values |= StoryRules(limit, titles[:MAX_LISTED]).prompt_values()
    try:
        prompt = PromptTemplates(job.runtime.settings.prompts).render("stories", epic.project, values)
    except PromptError as err:
        raise ConfigurationJobError(str(err), ticket_key=epic_key) from None
    answer = await job.ask(choice, prompt, GeneratedStories, context=StoryRules(limit, titles), ticket_key=epic_key)
    assert isinstance(answer.value, GeneratedStories)
    marker = job.marker
    plan: list[PlanOperation] = []
    details: list[GeneratedStoryDetail] = []
    for index, story in enumerate(answer.value.stories):
        fields: dict[str, Any] = {
            "project": {"key": epic.project},
            "issuetype": {"name": STORY},
            "parent": {"key": epic.key},
            "summary": story.title,
            "description": fit_wiki(story_wiki(story.description, story.acceptance_criteria), f"/jobs/{job.job_id}"),
            "labels": [marker],
        }
        if priorities is None or story.priority.value in priorities:
            fields["priority"] = {"name": story.priority.value}
        plan.append(
            PlanOperation(op_id=f"create:{index}", kind="create_issue", payload={"fields": fields, "marker": marker})
        )
        details.append(
            GeneratedStoryDetail(
                title=story.title,
                description=story.description,
                acceptance_criteria=story.acceptance_criteria,
                priority=story.priority,
                action="create",
                ticket_key=None,
            )
        )
    warnings = []
    if len(existing) >= MAX_EXISTING:
        warnings.append(f"{epic_key} has {MAX_EXISTING} stories or more; only the first {MAX_EXISTING} were compared")
    draft = StoryGenerationResult(
        epic_key=epic_key,
        operation_mode="preview",
        success=True,
        created_tickets=CreatedTickets(),
        story_details=details,
        execution_time_seconds=0.0,
        warnings=warnings,
        existing_stories=existing,
        llm_provider=choice.provider,
        llm_model=choice.model,
        usage=TokenUsage().plus(answer.usage),
        message=f"Preview: {len(details)} new stories for {epic_key} ({len(existing)} exist already). "
        "Set dry_run=false to write.",
    )
    return plan, draft


async def _epic_context(job: JobContext, epic_key: str) -> TicketContext:
    reader = TicketContextReader(job.runtime.settings, job.runtime.jira)
    try:
        context = await reader.read(epic_key)
    except JiraNotFoundError:
        raise NotFoundJobError(f"Epic {epic_key} not found in Jira", ticket_key=epic_key, provider=JIRA) from None
    except JiraError as err:
        raise jira_failure(err, ticket_key=epic_key) from None
    if context.ticket.issue_type != EPIC:
        kind = context.ticket.issue_type
        raise InvalidInputJobError(f"epic_key {epic_key} is a {kind}, not an Epic", ticket_key=epic_key)
    return context


async def _existing(job: JobContext, epic_key: str) -> list[ExistingStory]:
    """The epic's stories, by key, every page up to `MAX_EXISTING`."""
    jql = f"parent = {epic_key} AND issuetype = {STORY} ORDER BY key"
    try:
        found = await job.runtime.jira.search_issues(jql, MAX_EXISTING, fields=("summary",))
    except JiraError as err:
        raise jira_failure(err, ticket_key=epic_key) from None
    return [ExistingStory(key=issue["key"], title=str(issue["fields"].get("summary") or "")) for issue in found]


async def _priorities(job: JobContext, project: str, epic_key: str) -> set[str] | None:
    """The priorities a new story in `project` may take: None when any (the screen lists none),
    empty when the create screen has no priority field."""
    try:
        screen = await job.runtime.jira.create_metadata(project, STORY)
    except JiraError as err:
        raise jira_failure(err, ticket_key=epic_key) from None
    if not screen:
        raise InvalidInputJobError(f"Project {project} has no {STORY} issue type to create", ticket_key=epic_key)
    field = screen.get("priority")
    if field is None:
        return set()
    allowed = field.get("allowedValues")
    return {str(value.get("name")) for value in allowed} if allowed else None


def _final(draft: StoryGenerationResult, applied: list[AppliedOperation], elapsed: float) -> StoryGenerationResult:
    """What was created, from each create's outcome."""
    outcomes = {entry.op_id: entry.outcome for entry in applied}
    created: list[str] = []
    details: list[GeneratedStoryDetail] = []
    for index, detail in enumerate(draft.story_details):
        made = outcomes.get(f"create:{index}")
        if made is not None and made.get("status") in (APPLIED, ALREADY_APPLIED):
            created.append(made["key"])
            detail = detail.model_copy(update={"ticket_key": made["key"], "message": f"Created {made['key']}"})
        details.append(detail)
    return draft.model_copy(
        update={
            "operation_mode": "apply",
            "success": len(created) == len(details),
            "created_tickets": CreatedTickets(stories=created),
            "story_details": details,
            "execution_time_seconds": elapsed,
            "message": f"Created {len(created)} stories under {draft.epic_key}",
        }
    )


async def stories_command(command: CommandContext) -> str:
    """`/augment stories [provider] [model]` on an epic: a preview, posted here when it is ready."""
    provider, model = (*command.arguments, None, None)[:2]
    choice = command.model(provider, model)
    key = command.ticket_key
    request = StoryGenerationRequest(epic_key=key, llm_provider=choice.provider, llm_model=choice.model)
    return await command.preview(
        JobType.story_generation,
        request,
        queued=f"Story generation for epic {key} queued",
        doing=f"Proposing stories for {key} with {choice.provider} ({choice.model})",
    )


def stories_for_rule(action: TriggerAction, ticket_key: str, catalogue: Catalogue) -> StoryGenerationRequest:
    """What a trigger rule with `job_type: story_generation` runs on its epic."""
    choice = catalogue.choose(action.llm_provider, action.llm_model)
    return StoryGenerationRequest(
        epic_key=ticket_key, dry_run=not action.update_jira, llm_provider=choice.provider, llm_model=choice.model
    )


def stories_reply(record: JobRecord) -> str:
    result = StoryGenerationResult.model_validate(record.result)
    if result.operation_mode == "apply":
        return f"{result.message} (job {job_ref(record.job_id)})."
    rows = "\n".join(
        f"|{table_cell(detail.title)}|{detail.priority.value}|{len(detail.acceptance_criteria)}|"
        for detail in result.story_details
    )
    return (
        f"h4. Preview: new stories for {result.epic_key}\n"
        f"||Story||Priority||Acceptance criteria||\n{rows}\n\n"
        f"Proposed by {result.llm_provider} ({result.llm_model}); {len(result.existing_stories)} stories of the epic "
        "were left out as existing.\n\n"
        f"Nothing was written. To write it, comment:\n\n/augment apply {record.job_id}"
    )


pipeline.on(JobType.story_generation, generate_stories, reply=stories_reply)
pipeline.rule_action(JobType.story_generation, stories_for_rule)
pipeline.command(
    "stories",
    stories_command,
    usage="/augment stories [provider] [model]",
    help="preview new stories for the epic from its description, PRD and RFC",
)
