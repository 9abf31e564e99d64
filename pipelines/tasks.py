"""`task_generation`: tasks for stories, planned by the LLM, as Jira Tasks under the epic.

Plan, then apply. The stories are read first (each must be a Story) and the epic found: the
request's `epic_key`, else the stories' parent, which they must all share (422 before any LLM
call otherwise). Then one LLM call per story, all at once (the LLM client bounds them by
`llm.concurrency`), each checked against `TaskRules` (the configured teams, `max_task_days`,
`max_tasks_per_story`; team-based plans add the cross-team blocking rule to the prompt). A
story's answer is kept in the results bucket as it arrives, and its tokens charged to the
record, so a redelivered job does not ask again for it.

The plan: per task a `create_issue` (a Task in the epic's project under the epic, labelled
with the job's marker and, team-based, its team; mandays and test cases in their fields, a
team-managed project's own ones; the story's "Work item split" link, or its stand-in, in the
create itself) and per dependency a `link_issues` "Blocks" from the task needed first to the
task waiting, both ends named by `created_by`. Summaries are unique in the plan (a title two
stories share is prefixed with its story's key), so the applier's marker + summary look-up
never creates a task twice: after a retry, a redelivery, a worker killed mid-apply, or
`POST /jobs/{id}/apply` on the preview. A field the site does not have (mandays, test cases
not configured) is left out with a warning. A dry run (the default) stops at the plan.

`/augment tasks [team-based]` on a story (or an epic: its stories, at most `MAX_TASK_STORIES`)
previews and answers with a table and the `/augment apply <job>` line. A trigger rule with
`job_type: task_generation` previews the team-based tasks of its story.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from nats.js.errors import KeyNotFoundError

from bot.commands.context import CommandContext
from bot.config import TriggerAction
from bot.formatting.jira_wiki import markdown_to_wiki
from bot.formatting.limits import fit_wiki, job_ticket_path
from bot.formatting.plans import table_cell
from bot.jetstream import layout
from bot.jira.applier import ALREADY_APPLIED, APPLIED, created_by
from bot.jira.client import JiraClient, JiraError, JiraNotFoundError, Ticket
from bot.jira.context import TicketContextReader
from bot.jira.fields import ProjectFields
from bot.jira.links import BLOCKS, NO_STORY_LINK, StoryLink, link_type_names
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
from bot.llm.types import Usage
from bot.prompting import PromptError, PromptTemplates
from bot.replies import job_ref, monospace
from schemas.jobs import AppliedOperation, JobRecord, JobType, PlanOperation
from schemas.planning import (
    MAX_TASK_STORIES,
    CreatedTickets,
    TaskDetail,
    TaskGenerationJob,
    TaskPlanningResult,
    TaskStatistics,
    TeamStatistics,
)
from schemas.planning_outputs import TITLE_MAX, GeneratedTasks, TaskRules, normalised

pipeline = Pipeline("tasks")

STORY = "Story"
EPIC = "Epic"
TASK = "Task"
CUSTOM_ROLES = ("mandays", "test_cases")
READ_CONCURRENCY = 8
NONE = "(none)"


async def generate_tasks(job: JobContext) -> TaskPlanningResult:
    request = TaskGenerationJob.model_validate(job.request)

    plan, result = await job.plan_once(Planner(job, request).plan)
    draft = TaskPlanningResult.model_validate(result)
    if request.dry_run:
        return draft.model_copy(update={"execution_time_seconds": job.elapsed()})
    creates = sum(op.kind == "create_issue" for op in plan)
    applied = await job.apply(plan, ticket_key=draft.epic_key or "", doing=f"Creating {creates} tasks and their links")
    return _final(draft, applied, job.elapsed())


class Planner:
    """Reads the stories and the epic, asks the LLM per story, and makes the plan and the preview."""

    def __init__(self, job: JobContext, request: TaskGenerationJob) -> None:
        self._job = job
        self._request = request
        self._jira: JiraClient = job.runtime.jira
        settings = job.runtime.settings
        self._teams = tuple(settings.planning.teams)
        self._rules = TaskRules(
            teams=self._teams,
            max_days=settings.planning.max_task_days,
            max_tasks=settings.planning.max_tasks_per_story,
            team_based=request.team_based,
        )
        self._context = TicketContextReader(settings, job.runtime.jira)
        self._templates = PromptTemplates(settings.prompts)
        self._gate = asyncio.Semaphore(READ_CONCURRENCY)
        self._keys = [key.upper() for key in request.story_keys]
        self._held = (request.epic_key or self._keys[0]).upper()  # the key failures name

    async def plan(self) -> tuple[list[PlanOperation], TaskPlanningResult]:
        stories = await asyncio.gather(*(self._read(key, "Story") for key in self._keys))
        for story in stories:
            if story.issue_type != STORY:
                raise InvalidInputJobError(
                    f"story_keys: {story.key} is a {story.issue_type}, not a Story", ticket_key=story.key
                )
        epic = await self._epic(stories)
        types = await self._link_types()
        await self._job.progress(f"Planning the tasks of {len(stories)} stories", processed=0, total=len(stories))
        answers = await asyncio.gather(*(self._answer(story) for story in stories))
        return await self._planned(epic, stories, answers, types)

    async def _read(self, key: str, what: str) -> Ticket:
        async with self._gate:
            try:
                return await self._jira.ticket(key)
            except JiraNotFoundError:
                raise NotFoundJobError(f"{what} {key} not found in Jira", ticket_key=key, provider=JIRA) from None
            except JiraError as err:
                raise jira_failure(err, ticket_key=key) from None

    async def _epic(self, stories: list[Ticket]) -> Ticket:
        """The request's epic, else the one parent every story has."""
        key = self._request.epic_key
        if key is None:
            parents = {story.parent_key for story in stories}
            if None in parents:
                orphans = ", ".join(story.key for story in stories if story.parent_key is None)
                raise InvalidInputJobError(f"{orphans} has no epic; give epic_key", ticket_key=self._held)
            if len(parents) > 1:
                named = ", ".join(f"{story.key} → {story.parent_key}" for story in stories)
                raise InvalidInputJobError(
                    f"the stories are under different epics ({named}); plan them per epic", ticket_key=self._held
                )
            key = parents.pop()
        assert key is not None
        epic = await self._read(key.upper(), "Epic")
        if epic.issue_type != EPIC:
            raise InvalidInputJobError(f"{epic.key} is a {epic.issue_type}, not an Epic", ticket_key=self._held)
        return epic

    async def _link_types(self) -> set[str]:
        try:
            return await link_type_names(self._jira)
        except JiraError as err:
            raise jira_failure(err, ticket_key=self._held) from None

    async def _answer(self, story: Ticket) -> GeneratedTasks:
        """The story's tasks: kept from an earlier attempt of this job, else asked for now."""
        results = self._job.runtime.buckets.results
        # Not the story's own ticket key: that one is where a preview's plan is kept for apply.
        kept_at = layout.ticket_result_key(self._job.job_id, f"{story.key}-tasks")
        try:
            kept = (await results.get(kept_at)).value
        except KeyNotFoundError:
            kept = None
        if kept is not None:
            return GeneratedTasks.model_validate_json(kept)
        choice = ModelChoice.queued(self._request.llm_provider, self._request.llm_model)
        try:
            context = await self._context.read(story.key)
        except JiraError as err:
            raise jira_failure(err, ticket_key=story.key) from None
        values = context.prompt_values() | {
            "story_key": story.key,
            "description": story.description or NONE,
        }
        try:
            prompt = self._templates.render("tasks", story.project, values | self._rules.prompt_values())
        except PromptError as err:
            raise ConfigurationJobError(str(err), ticket_key=story.key) from None
        answer = await self._job.ask(choice, prompt, GeneratedTasks, context=self._rules, ticket_key=story.key)
        assert isinstance(answer.value, GeneratedTasks)
        # Charged before it is kept: a crash in between asks again, and that answer is paid too.
        await self._job.update(lambda record: _charge(record, answer.usage, story.key))
        await results.put(kept_at, answer.value.model_dump_json().encode())
        return answer.value

    async def _planned(
        self, epic: Ticket, stories: list[Ticket], answers: list[GeneratedTasks], types: set[str]
    ) -> tuple[list[PlanOperation], TaskPlanningResult]:
        story_link = StoryLink.among(types)
        if story_link is None:
            raise InvalidInputJobError(NO_STORY_LINK, ticket_key=self._held)
        has_dependencies = any(task.depends_on for answer in answers for task in answer.tasks)
        if has_dependencies and BLOCKS not in types:
            raise InvalidInputJobError(f'this Jira has no "{BLOCKS}" link type', ticket_key=self._held)
        ids, warnings = await self._field_ids(epic)
        tasks = _details(stories, answers, self._teams)
        marker = self._job.marker
        plan: list[PlanOperation] = []
        for index, detail in enumerate(tasks):
            fields: dict[str, Any] = {
                "project": {"key": epic.project},
                "issuetype": {"name": TASK},
                "parent": {"key": epic.key},
                "summary": detail.title,
                "description": fit_wiki(
                    markdown_to_wiki(detail.description), job_ticket_path(self._job.job_id, detail.story_key)
                ),
                "labels": [marker] + ([_label(detail.team)] if self._request.team_based else []),
            }
            if "mandays" in ids:
                fields[ids["mandays"]] = detail.estimate_days
            if "test_cases" in ids and detail.test_cases:
                fields[ids["test_cases"]] = "\n".join(f"# {_line(case)}" for case in detail.test_cases)
            plan.append(
                PlanOperation(
                    op_id=f"create:{index}",
                    kind="create_issue",
                    payload={
                        "fields": fields,
                        "marker": marker,
                        "links": [story_link.of(detail.story_key)],
                    },
                )
            )
        # Summaries are unique in the plan, and a task depends only on tasks of its own story.
        position = {detail.title: index for index, detail in enumerate(tasks)}
        for index, detail in enumerate(tasks):
            for needed in dict.fromkeys(detail.depends_on):
                first = position[needed]
                plan.append(
                    PlanOperation(
                        op_id=f"blocks:{first}:{index}",
                        kind="link_issues",
                        payload={
                            "link_type": BLOCKS,
                            "inward_key": created_by(f"create:{first}"),
                            "outward_key": created_by(f"create:{index}"),
                        },
                    )
                )
        statistics = _statistics(tasks)
        kind = "team-based tasks" if self._request.team_based else "tasks"
        draft = TaskPlanningResult(
            epic_key=epic.key,
            operation_mode="preview",
            success=True,
            created_tickets=CreatedTickets(),
            task_details=tasks,
            team_based=self._request.team_based,
            summary_statistics=statistics,
            execution_time_seconds=0.0,
            warnings=warnings,
            message=f"Preview: {len(tasks)} {kind} for {len(stories)} stories under {epic.key}, "
            f"{statistics.total_estimated_days:g} man-days. Set dry_run=false to write.",
        )
        return plan, draft

    async def _field_ids(self, epic: Ticket) -> tuple[dict[str, str], list[str]]:
        """role -> the field a new Task in the epic's project takes it in (a team-managed
        project's own, by name); a role without one is left out, with a warning."""
        fields = ProjectFields(self._job.runtime.settings, self._jira)
        try:
            ids = await fields.write_ids(epic, CUSTOM_ROLES, create=TASK)
        except JiraError as err:
            raise jira_failure(err, ticket_key=self._held) from None
        missing = [role for role in CUSTOM_ROLES if role not in ids]
        warnings = [f"{role}: project {epic.project} has no such field for a Task; not written" for role in missing]
        return ids, warnings


def _details(stories: list[Ticket], answers: list[GeneratedTasks], teams: tuple[str, ...]) -> list[TaskDetail]:
    """Each task's detail, its team spelled as configured. A title two stories share is
    prefixed with the story's key, so every summary in the plan is unique."""
    owners: dict[str, set[str]] = defaultdict(set)
    for story, answer in zip(stories, answers, strict=True):
        for task in answer.tasks:
            owners[normalised(task.title)].add(story.key)
    spelled = {team.casefold(): team for team in teams}
    details: list[TaskDetail] = []
    for story, answer in zip(stories, answers, strict=True):
        titles = {normalised(task.title): _summary(story.key, task.title, owners) for task in answer.tasks}
        for task in answer.tasks:
            details.append(
                TaskDetail(
                    title=titles[normalised(task.title)],
                    description=task.description,
                    story_key=story.key,
                    team=spelled.get(task.team.casefold(), task.team),
                    estimate_days=task.estimate_days,
                    depends_on=list(dict.fromkeys(titles[normalised(needed)] for needed in task.depends_on)),
                    test_cases=task.test_cases,
                )
            )
    return details


def _summary(story_key: str, title: str, owners: dict[str, set[str]]) -> str:
    clean = " ".join(title.split())
    if len(owners[normalised(title)]) < 2:
        return clean
    prefix = f"{story_key}: "
    return prefix + clean[: TITLE_MAX - len(prefix)]


def _statistics(tasks: list[TaskDetail]) -> TaskStatistics:
    by_team: dict[str, TeamStatistics] = {}
    for task in tasks:
        team = by_team.setdefault(task.team, TeamStatistics(tasks=0, estimated_days=0))
        team.tasks += 1
        team.estimated_days = round(team.estimated_days + task.estimate_days, 2)
    team_of = {task.title: task.team for task in tasks}
    blocked_by: dict[str, set[str]] = defaultdict(set)
    for task in tasks:
        blocked_by[task.team] |= {team_of[needed] for needed in task.depends_on if team_of[needed] != task.team}
    return TaskStatistics(
        total_tasks=len(tasks),
        total_estimated_days=round(sum(task.estimate_days for task in tasks), 2),
        by_team=by_team,
        blocked_by={team: sorted(teams) for team, teams in sorted(blocked_by.items()) if teams},
    )


def _label(team: str) -> str:
    """A team as a Jira label, which takes no spaces."""
    return "-".join(team.split())


def _line(text: str) -> str:
    """One numbered-list line of wiki markup: no line breaks inside."""
    return " ".join(text.split())


def _charge(record: JobRecord, usage: Usage, story_key: str | None = None) -> None:
    record.usage = record.usage.plus(usage)
    if story_key is not None:
        record.progress.processed = (record.progress.processed or 0) + 1
        record.progress.message = f"Planned the tasks of {story_key}"


def _final(draft: TaskPlanningResult, applied: list[AppliedOperation], elapsed: float) -> TaskPlanningResult:
    """The plan's tasks with the keys they were created (or found) as."""
    outcomes = {entry.op_id: entry.outcome for entry in applied}
    details: list[TaskDetail] = []
    for index, detail in enumerate(draft.task_details):
        made = outcomes.get(f"create:{index}") or {}
        key = made.get("key") if made.get("status") in (APPLIED, ALREADY_APPLIED) else None
        details.append(detail.model_copy(update={"ticket_key": key}))
    created = [detail.ticket_key for detail in details if detail.ticket_key]
    links = sum(op_id.startswith("blocks:") for op_id in outcomes)
    return draft.model_copy(
        update={
            "operation_mode": "apply",
            "success": len(created) == len(details),
            "created_tickets": CreatedTickets(tasks=created),
            "task_details": details,
            "execution_time_seconds": elapsed,
            "message": f"Created {len(created)} tasks under {draft.epic_key} with {links} Blocks links",
        }
    )


async def tasks_command(command: CommandContext) -> str:
    """`/augment tasks [team-based]` on a story, or on an epic for its stories: a preview, posted here."""
    arguments = [argument.lower() for argument in command.arguments]
    if arguments not in ([], ["team-based"]):
        return f"Cannot run {monospace('/augment tasks')}: say nothing or {monospace('team-based')} after it."
    key = command.ticket_key
    jira: JiraClient = command.runtime.jira
    ticket = await jira.ticket(key)
    if ticket.issue_type == EPIC:
        jql = f"parent = {key} AND issuetype = {STORY} ORDER BY key"
        stories = await jira.search_keys(jql, MAX_TASK_STORIES)
        if not stories:
            return f"{key} has no stories to plan tasks for."
    elif ticket.issue_type == STORY:
        stories = [key]
    else:
        return f"Cannot run {monospace('/augment tasks')} on a {ticket.issue_type}: comment on a story or an epic."
    choice = command.model()
    request = TaskGenerationJob(
        story_keys=stories,
        epic_key=key if ticket.issue_type == EPIC else None,
        team_based=bool(arguments),
        llm_provider=choice.provider,
        llm_model=choice.model,
    )
    kind = "team-based tasks" if arguments else "tasks"
    return await command.preview(
        JobType.task_generation,
        request,
        queued=f"Task generation for {key} queued",
        doing=f"Planning the {kind} of {len(stories)} {'story' if len(stories) == 1 else 'stories'}",
    )


def tasks_for_rule(action: TriggerAction, ticket_key: str, catalogue: Catalogue) -> TaskGenerationJob:
    """What a trigger rule with `job_type: task_generation` runs: its story's team-based tasks."""
    choice = catalogue.choose(action.llm_provider, action.llm_model)
    return TaskGenerationJob(
        story_keys=[ticket_key],
        team_based=True,
        dry_run=not action.update_jira,
        llm_provider=choice.provider,
        llm_model=choice.model,
    )


def tasks_reply(record: JobRecord) -> str:
    result = TaskPlanningResult.model_validate(record.result)
    if result.operation_mode == "apply":
        return f"{result.message} (job {job_ref(record.job_id)})."
    rows = "\n".join(
        f"|{table_cell(task.title)}|{table_cell(task.team)}|{task.story_key}|{task.estimate_days:g}|"
        f"{table_cell(', '.join(task.depends_on)) or ' '}|"
        for task in result.task_details
    )
    statistics = result.summary_statistics
    teams = ", ".join(
        f"{team} {stats.tasks} ({stats.estimated_days:g} d)" for team, stats in statistics.by_team.items()
    )
    blocked = "; ".join(f"{team} is blocked by {', '.join(by)}" for team, by in statistics.blocked_by.items())
    warnings = "".join(f"\n* {table_cell(warning)}" for warning in result.warnings)
    return (
        f"h4. Preview: {'team-based ' if result.team_based else ''}tasks under {result.epic_key}\n"
        f"||Task||Team||Story||Estimate (man-days)||Depends on||\n{rows}\n\n"
        f"{statistics.total_tasks} tasks, {statistics.total_estimated_days:g} man-days: {teams}."
        + (f"\n{blocked}." if blocked else "")
        + (f"\nWarnings:{warnings}" if warnings else "")
        + f"\n\nNothing was written. To write it, comment:\n\n/augment apply {record.job_id}"
    )


pipeline.on(JobType.task_generation, generate_tasks, reply=tasks_reply)
pipeline.rule_action(JobType.task_generation, tasks_for_rule)
pipeline.command(
    "tasks", tasks_command, usage="/augment tasks [team-based]", help="preview the tasks of a story (or an epic's)"
)
