"""`test_generation`: test cases for an epic's stories and tasks, for one story, or for one task.

Rules:
- The item's type is checked first: `epic_key` must be an Epic, `story_key` a Story, `task_key`
  a Task or Sub-task (else 422 naming the field and the type). A comment command or trigger rule
  names `item_key`, whose type picks one of the three.
- An epic's items are its stories (`parent = EPIC`), its tasks (`parent = EPIC`, Task) and its
  stories' sub-tasks, every page, at most `MAX_ITEMS` in all (stories first); more is cut with a
  warning. The Test Cases field of every item is found (a team-managed project's own, on the
  item's edit screen; elsewhere `jira.test_cases_custom_field`) before any LLM call: an item
  without one fails the job (422) before anything is spent or written.
- One LLM call per item (`GeneratedTests`, `TestRules` of the coverage level as its rules), all
  at once: the LLM client bounds concurrency per provider. Each answer is kept in the results
  bucket as it arrives, so a redelivered job does not ask again; its tokens are charged once,
  with the plan.
- The plan: one `update_fields` per item putting its tests, as a wiki table
  (`bot.formatting.test_table`) fitted to Jira's 32,767 characters, in its Test Cases field, with
  the fingerprint of what the field held. Preview by default; `update_jira: true` applies it, and
  `POST /jobs/{id}/apply` (or `/augment apply <job>`) applies a preview. An item whose field
  changed meanwhile is not overwritten (`success: false`).
- `/augment tests [level]` on an epic, story or task previews and answers with the tables and
  the apply line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from nats.js.errors import KeyNotFoundError
from pydantic import BaseModel

from bot.commands.context import CommandContext
from bot.config import TriggerAction
from bot.formatting.limits import fit_wiki, job_ticket_path
from bot.formatting.plans import table_cell
from bot.formatting.test_table import tests_table
from bot.jetstream import layout
from bot.jira.applier import ALREADY_APPLIED, APPLIED, CONFLICT, guarded_update
from bot.jira.client import JiraClient, JiraError, JiraNotFoundError, Ticket
from bot.jira.fields import ProjectFields
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
from bot.replies import job_ref, monospace
from schemas.jobs import AppliedOperation, JobRecord, JobType, PlanOperation, TokenUsage
from schemas.planning import (
    EpicTestsRequest,
    ItemTestsRequest,
    StoryTestsRequest,
    TaskTestsRequest,
    TestGenerationRequest,
    TestGenerationResult,
    parse_tests_request,
)
from schemas.planning_outputs import Coverage, GeneratedTest, GeneratedTests, TestRules

pipeline = Pipeline("test_cases")

EPIC = "Epic"
STORY = "Story"
TASK_TYPES = ("Task", "Sub-task", "Subtask")
ROLE = "test_cases"
# Stories and tasks of one epic given tests: one LLM call each.
MAX_ITEMS = 100
# An item's description in the prompt; longer ones are cut (a description is rarely a tenth of it).
MAX_DESCRIPTION_CHARS = 12_000
READ_CONCURRENCY = 8

T = TypeVar("T")


class ItemTests(BaseModel):
    """One item's answer as kept in the results bucket: the tests and what they cost."""

    test_cases: list[GeneratedTest]
    usage: TokenUsage


@dataclass(frozen=True)
class Item:
    ticket: Ticket
    field_id: str  # where its Test Cases go
    current: str | None  # what that field holds now


async def generate_tests(job: JobContext) -> TestGenerationResult:
    request = parse_tests_request(job.request)
    plan, result = await job.plan_once(Planner(job, request).plan)
    draft = TestGenerationResult.model_validate(result)
    if not request.update_jira:
        return draft.model_copy(update={"execution_time_seconds": job.elapsed()})
    applied = await job.apply(plan, ticket_key=draft.item_key, doing=f"Writing the test cases of {len(plan)} items")
    return _final(draft, applied, job.elapsed())


class Planner:
    """Reads the items, asks the LLM for each one's tests, and makes the plan and the preview."""

    def __init__(self, job: JobContext, request: TestGenerationRequest) -> None:
        self._job = job
        self._request = request
        self._jira: JiraClient = job.runtime.jira
        self._fields = ProjectFields(job.runtime.settings, job.runtime.jira)  # this job's only
        self._templates = PromptTemplates(job.runtime.settings.prompts)
        self._choice = ModelChoice.queued(request.llm_provider, request.llm_model)
        self._rules = TestRules.for_coverage(request.coverage_level)
        self._done = 0

    async def plan(self) -> tuple[list[PlanOperation], TestGenerationResult]:
        field, key = _asked(self._request)
        root = await self._read(key, key)
        kind = _kind(field, key, root.issue_type)
        warnings: list[str] = []
        tickets = [root]
        if kind == EPIC:
            tickets, warnings = await self._epic_items(key)
        items = await self._gather(*(self._item(ticket) for ticket in tickets))
        await self._job.progress(f"Writing test cases for {_items(len(items))}", processed=0, total=len(items))
        answers = await self._gather(*(self._tests(item.ticket, len(items)) for item in items))
        plan: list[PlanOperation] = []
        story_tests: dict[str, list[GeneratedTest]] = {}
        task_tests: dict[str, list[GeneratedTest]] = {}
        usage = TokenUsage()
        for item, answer in zip(items, answers, strict=True):
            ticket = item.ticket
            (story_tests if ticket.issue_type == STORY else task_tests)[ticket.key] = answer.test_cases
            usage = usage.plus(answer.usage)
            table = fit_wiki(tests_table(answer.test_cases), job_ticket_path(self._job.job_id, ticket.key))
            # A field edited meanwhile is not overwritten.
            field = item.field_id
            plan.append(guarded_update(f"tests:{ticket.key}", ticket.key, {field: table}, read={field: item.current}))
        total = sum(len(answer.test_cases) for answer in answers)
        level = self._request.coverage_level.value
        draft = TestGenerationResult(
            success=True,
            item_key=key,
            item_type=root.issue_type,
            coverage_level=self._request.coverage_level,
            operation_mode="preview",
            total_test_cases=total,
            story_tests=story_tests,
            task_tests=task_tests,
            llm_provider=self._choice.provider,
            llm_model=self._choice.model,
            usage=usage,
            execution_time_seconds=0.0,
            warnings=warnings,
            message=f"Preview: {total} {level} test cases for {_items(len(items))}. "
            "Set update_jira=true to write them.",
        )
        return plan, draft

    async def _epic_items(self, epic_key: str) -> tuple[list[Ticket], list[str]]:
        """The epic's stories, then its tasks and its stories' sub-tasks, at most MAX_ITEMS."""
        try:
            stories = await self._jira.search_keys(
                f"parent = {epic_key} AND issuetype = {STORY} ORDER BY key", MAX_ITEMS + 1
            )
            parents = f"(parent = {epic_key} AND issuetype = Task)"
            if stories:
                in_stories = ", ".join(stories[:MAX_ITEMS])
                parents += f" OR (parent in ({in_stories}) AND issuetype in subTaskIssueTypes())"
            tasks = await self._jira.search_keys(f"{parents} ORDER BY key", MAX_ITEMS + 1)
        except JiraError as err:
            raise jira_failure(err, ticket_key=epic_key) from None
        keys = stories + tasks
        warnings = []
        if len(keys) > MAX_ITEMS:
            warnings.append(
                f"{epic_key} has more than {MAX_ITEMS} stories and tasks; test cases are written for the first "
                f"{MAX_ITEMS} (stories first), the rest are left out"
            )
            keys = keys[:MAX_ITEMS]
        gate = asyncio.Semaphore(READ_CONCURRENCY)

        async def read(key: str) -> Ticket:
            async with gate:
                return await self._read(key, epic_key)

        return list(await self._gather(*(read(key) for key in keys))), warnings

    async def _read(self, key: str, job_key: str) -> Ticket:
        site_id = self._fields.site_id(ROLE)
        try:
            return await self._jira.ticket(key, custom_fields=(site_id,) if site_id else ())
        except JiraNotFoundError:
            raise NotFoundJobError(f"Ticket {key} not found in Jira", ticket_key=job_key, provider=JIRA) from None
        except JiraError as err:
            raise jira_failure(err, ticket_key=job_key) from None

    async def _item(self, ticket: Ticket) -> Item:
        """The ticket with its Test Cases field and that field's value; 422 when it has none."""
        key = ticket.key
        try:
            field_id = (await self._fields.write_ids(ticket, (ROLE,))).get(ROLE, "")
            if field_id and field_id not in ticket.custom:
                current = (await self._jira.field_values(key, [field_id]))[field_id]
            else:
                current = ticket.custom.get(field_id)
        except JiraError as err:
            raise jira_failure(err, ticket_key=key) from None
        if not field_id:
            raise InvalidInputJobError(self._fields.missing(ticket, ROLE), ticket_key=key)
        return Item(ticket, field_id, current if isinstance(current, str) or current is None else str(current))

    async def _tests(self, ticket: Ticket, total: int) -> ItemTests:
        """The item's tests: kept from an earlier delivery, or asked for now and kept."""
        results = self._job.runtime.buckets.results
        kept_at = f"{layout.ticket_result_key(self._job.job_id, ticket.key)}.tests"
        try:
            kept_before = (await results.get(kept_at)).value
        except KeyNotFoundError:
            kept_before = None
        if kept_before is not None:
            return ItemTests.model_validate_json(kept_before)
        values = self._rules.prompt_values() | {
            "item_key": ticket.key,
            "issue_type": ticket.issue_type,
            "summary": ticket.summary,
            "description": ticket.description[:MAX_DESCRIPTION_CHARS] or "(none)",
        }
        try:
            prompt = self._templates.render("tests", ticket.project, values, ticket.issue_type)
        except PromptError as err:
            raise ConfigurationJobError(str(err), ticket_key=ticket.key) from None
        answer = await self._job.ask(self._choice, prompt, GeneratedTests, context=self._rules, ticket_key=ticket.key)
        assert isinstance(answer.value, GeneratedTests)
        kept = ItemTests(test_cases=answer.value.test_cases, usage=TokenUsage().plus(answer.usage))
        await results.put(kept_at, kept.model_dump_json().encode())
        self._done += 1
        await self._job.progress(f"Test cases written for {self._done} of {total} items", self._done, total)
        return kept

    @staticmethod
    async def _gather(*work: Coroutine[Any, Any, T]) -> list[T]:
        """All of `work` at once; the first failure cancels the rest and is raised as itself."""
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(coroutine) for coroutine in work]
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None
        return [task.result() for task in tasks]


def _asked(request: TestGenerationRequest) -> tuple[str, str]:
    """The request's field and its key."""
    if isinstance(request, EpicTestsRequest):
        return "epic_key", request.epic_key.upper()
    if isinstance(request, StoryTestsRequest):
        return "story_key", request.story_key.upper()
    if isinstance(request, TaskTestsRequest):
        return "task_key", request.task_key.upper()
    return "item_key", request.item_key.upper()


def _kind(field: str, key: str, issue_type: str) -> str:
    """EPIC, STORY or "Task" for the item; 422 naming the field and the type when it does not fit."""
    kind = EPIC if issue_type == EPIC else STORY if issue_type == STORY else "Task" if issue_type in TASK_TYPES else ""
    wanted = {"epic_key": EPIC, "story_key": STORY, "task_key": "Task"}.get(field)
    if kind and (wanted is None or kind == wanted):
        return kind
    expected = {
        "epic_key": "an Epic",
        "story_key": "a Story",
        "task_key": "a Task or Sub-task",
        "item_key": "an Epic, a Story, a Task or a Sub-task (test cases are written for these)",
    }[field]
    article = "an" if issue_type[:1].lower() in "aeiou" else "a"
    raise InvalidInputJobError(f"{field} {key} is {article} {issue_type}, not {expected}", ticket_key=key)


def _final(draft: TestGenerationResult, applied: list[AppliedOperation], elapsed: float) -> TestGenerationResult:
    """What was written, from each operation's outcome."""
    written = [e.op_id.removeprefix("tests:") for e in applied if e.outcome.get("status") in (APPLIED, ALREADY_APPLIED)]
    conflicts = [e.op_id.removeprefix("tests:") for e in applied if e.outcome.get("status") == CONFLICT]
    message = f"Wrote the test cases of {len(written)} items"
    if conflicts:
        message += f"; {', '.join(conflicts)} changed in Jira meanwhile and were not overwritten"
    return draft.model_copy(
        update={
            "success": not conflicts,
            "operation_mode": "apply",
            "updated_in_jira": bool(written) and not conflicts,
            "updated_tickets": written,
            "execution_time_seconds": elapsed,
            "message": message,
        }
    )


async def tests_command(command: CommandContext) -> str:
    """`/augment tests [level]` on an epic, story or task: a preview, posted here when it is ready."""
    level = (command.arguments or (Coverage.standard.value,))[0].lower()
    levels = [coverage.value for coverage in Coverage]
    if level not in levels:
        return f"Cannot run {monospace('/augment tests')}: {level[:40]!r} is not one of {', '.join(levels)}."
    choice = command.model()
    key = command.ticket_key
    request = ItemTestsRequest(
        item_key=key, coverage_level=Coverage(level), llm_provider=choice.provider, llm_model=choice.model
    )
    return await command.preview(
        JobType.test_generation,
        request,
        queued=f"Test generation for {key} queued",
        doing=f"Writing {level} test cases for {key} with {choice.provider} ({choice.model})",
    )


def tests_for_rule(action: TriggerAction, ticket_key: str, catalogue: Catalogue) -> ItemTestsRequest:
    """What a trigger rule with `job_type: test_generation` runs on its ticket (standard coverage)."""
    choice = catalogue.choose(action.llm_provider, action.llm_model)
    return ItemTestsRequest(
        item_key=ticket_key, update_jira=action.update_jira, llm_provider=choice.provider, llm_model=choice.model
    )


def tests_reply(record: JobRecord) -> str:
    result = TestGenerationResult.model_validate(record.result)
    if result.operation_mode == "apply":
        return f"{result.message} (job {job_ref(record.job_id)})."
    tables = "\n".join(
        f"*{key}*\n{tests_table(tests)}\n" for key, tests in (result.story_tests | result.task_tests).items()
    )
    warnings = "".join(f"\n* {table_cell(warning)}" for warning in result.warnings)
    return (
        f"h4. Preview: {result.total_test_cases} {result.coverage_level.value} test cases for {result.item_key}\n"
        + (tables or "No stories or tasks to write test cases for.\n")
        + (f"\nWarnings:{warnings}\n" if warnings else "")
        + (
            f"\nNothing was written. To write them to the Test Cases fields, comment:\n\n/augment apply {record.job_id}"
            if record.plan
            else ""
        )
    )


def _items(count: int) -> str:
    return "1 item" if count == 1 else f"{count} items"


pipeline.on(JobType.test_generation, generate_tests, reply=tests_reply)
pipeline.rule_action(JobType.test_generation, tests_for_rule)
pipeline.command(
    "tests",
    tests_command,
    usage="/augment tests [minimal|basic|standard|comprehensive]",
    help="preview test cases for this epic, story or task",
)
