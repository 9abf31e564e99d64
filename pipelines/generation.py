"""Description jobs: `single` (one ticket) and `batch` (the tickets of a JQL query).

Both draft first (the ticket's context from `bot.jira.context`, the LLM's answer, a plan)
and only then, with `update_jira`, hand the plan to the applier. What is drafted and
applied is recorded as it happens, so a redelivered job resumes: it neither asks the LLM
again for a ticket it already has nor writes twice. A batch's ticket counts
(`BatchCounts`) are its own section of the job record, shown at the record's top level.
A trigger rule's `job_type: single` action becomes a request here (`describe_for_rule`).
Failures are `bot.jobs.errors` job errors naming the ticket: an unknown ticket, a JQL Jira
rejects, output still invalid after the re-asks or a broken prompt template fail the job at
once; Jira or an LLM that kept failing (429, 5xx, no answer) fails the attempt, retried. In a
batch a ticket's error is that ticket's outcome, except a configuration error (`Batch`).

Jira's search index lags writes: a batch's query (`description is EMPTY`) can still return a
ticket a person described seconds ago. So the batch keeps what its search saw of each ticket
(`updated`, in the results bucket, not the record), and before drafting a ticket reads it
again (GET is current): one updated since the search that now has a description is skipped,
neither drafted nor written, and its outcome says why.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime
from functools import partial

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from bot.commands.context import CommandContext
from bot.config import TriggerAction
from bot.formatting.jira_wiki import markdown_to_wiki
from bot.formatting.limits import fit_wiki, job_ticket_path
from bot.jetstream import layout
from bot.jira.applier import ALREADY_APPLIED, APPLIED, CONFLICT, Applier, guarded_update
from bot.jira.client import JiraError, JiraNotFoundError, Ticket
from bot.jira.context import TicketContext, TicketContextReader
from bot.jobs.context import JobCancelledError, JobContext
from bot.jobs.errors import JIRA, ConfigurationJobError, JobError, NotFoundJobError, jira_failure
from bot.jobs.pipeline import Pipeline
from bot.jobs.store import TicketBusyError
from bot.llm.catalogue import Catalogue, ModelChoice
from bot.prompting import PromptError, PromptTemplates
from bot.replies import job_ref, plan_summary
from schemas.generation import (
    BatchCounts,
    BatchTicketOutcome,
    GenerateBatchRequest,
    GeneratedDescription,
    GenerateSingleRequest,
    TicketDescription,
    TicketWork,
)
from schemas.jobs import AppliedOperation, JobRecord, JobType, TokenUsage

pipeline = Pipeline("generation")

CHANGED_MEANWHILE = "{key} changed in Jira while its description was being generated; it was not overwritten"
CHANGED_AFTER_SEARCH = (
    "{key} was changed after the search found it (Jira's search lags) and now has a description; it was left alone"
)
# Jira's timestamps: 2019-02-27T14:30:19.009+0000
JIRA_TIME = "%Y-%m-%dT%H:%M:%S.%f%z"


async def describe_single(job: JobContext) -> TicketDescription:
    request = GenerateSingleRequest.model_validate(job.request)
    work = _single_work(job.record)
    if work is None:
        await job.progress(f"Generating the description of {request.ticket_key}", processed=0, total=1)
        choice = ModelChoice.queued(request.llm_provider, request.llm_model)
        work = await Describer(job, choice).draft(request.ticket_key)
        await job.update(lambda record: _keep_single_draft(record, work))
    if request.update_jira:
        await job.progress(f"Writing the description of {request.ticket_key}")
        work.applied = await job.apply(work.plan, ticket_key=request.ticket_key)
    return _final(work)


async def describe_batch(job: JobContext) -> list[dict]:
    request = GenerateBatchRequest.model_validate(job.request)
    if not job.record.ticket_keys:  # a redelivered batch keeps the tickets it found first
        try:
            found = await job.runtime.jira.search_issues(request.jql, request.max_results, fields=("updated",))
        except JiraError as err:
            raise jira_failure(err) from None
        seen = {issue["key"]: issue["fields"].get("updated") for issue in found}
        await job.runtime.buckets.results.put(layout.batch_search_key(job.job_id), json.dumps(seen).encode())
        keys = list(seen)
        await job.update(lambda record: _start_batch(record, keys))
    batch = Batch(job, request)
    try:
        await batch.run()
    except JobCancelledError:
        outcomes = await batch.outcomes()
        await job.runtime.store.update(job.job_id, lambda record: _recount(record, outcomes))
        raise
    outcomes = await batch.outcomes()
    await job.update(lambda record: _recount(record, outcomes))
    return outcomes


class Batch:
    """The tickets of one batch, `generation.batch_concurrency` at a time.

    Each ticket's outcome is kept in the results bucket next to its work, and the job
    record only counts: a record rewritten with every outcome so far would grow with the
    batch and make each of its updates slower. Cancellation is checked before each
    ticket: tickets under way finish, no new one starts. A ticket's `JobError` is its
    outcome, except a configuration error, which every ticket would meet: it stops the
    batch the same way and fails it.
    """

    def __init__(self, job: JobContext, request: GenerateBatchRequest) -> None:
        self._job = job
        self._request = request
        self._results = job.runtime.buckets.results
        self._describer = Describer(job, ModelChoice.queued(request.llm_provider, request.llm_model))
        self._todo: Iterator[str] = iter(())
        self._seen: dict[str, str | None] = {}  # key -> `updated` as the batch's search saw it
        self._cancelled = False
        self._broken: ConfigurationJobError | None = None

    async def run(self) -> None:
        done = (
            {outcome["ticket_key"] for outcome in await self.outcomes()}
            if self._job.record.section(BatchCounts).processed_tickets
            else set()
        )
        self._todo = iter([key for key in self._job.record.ticket_keys if key not in done])
        seen = await _stored(self._results, layout.batch_search_key(self._job.job_id))
        self._seen = json.loads(seen) if seen is not None else {}
        workers = self._job.runtime.settings.generation.batch_concurrency
        await asyncio.gather(*(self._work() for _ in range(workers)))
        if self._broken is not None:
            raise self._broken
        if self._cancelled:
            raise JobCancelledError(self._job.job_id)

    async def outcomes(self) -> list[dict]:
        """The outcome of every ticket done so far, in the order Jira listed them."""
        keys = self._job.record.ticket_keys
        found = await asyncio.gather(
            *(_stored(self._results, layout.ticket_outcome_key(self._job.job_id, key)) for key in keys)
        )
        return [json.loads(value) for value in found if value is not None]

    async def _work(self) -> None:
        for key in self._todo:
            if self._cancelled or self._broken is not None:
                return
            try:
                await self._job.check_cancelled()
                outcome, usage = await self._ticket(key)
                await self._results.put(
                    layout.ticket_outcome_key(self._job.job_id, key), outcome.model_dump_json().encode()
                )
                await self._job.update(partial(_count, outcome=outcome, usage=usage))
            except JobCancelledError:
                self._cancelled = True
                return
            except ConfigurationJobError as err:
                self._broken = err
                return

    async def _ticket(self, key: str) -> tuple[BatchTicketOutcome, TokenUsage]:
        """The ticket's outcome, and the tokens spent on it now (none for a draft made before)."""
        store = self._job.runtime.store
        try:
            await store.lock_ticket(key, self._job.job_id, self._job.job_type)
        except TicketBusyError as busy:
            return BatchTicketOutcome(ticket_key=key, success=False, skipped=True, error=str(busy)), TokenUsage()
        try:
            work, usage = await self._work_on(key)
        except ConfigurationJobError:
            raise
        except JobError as err:
            return BatchTicketOutcome(ticket_key=key, success=False, error=str(err)), TokenUsage()
        finally:
            await store.release_ticket(key, self._job.job_id)
        if work is None:
            left = CHANGED_AFTER_SEARCH.format(key=key)
            return BatchTicketOutcome(ticket_key=key, success=False, skipped=True, error=left), TokenUsage()
        final = _final(work)
        outcome = BatchTicketOutcome(
            ticket_key=key, success=final.success, updated_in_jira=final.updated_in_jira, error=final.message
        )
        return outcome, usage

    async def _work_on(self, key: str) -> tuple[TicketWork | None, TokenUsage]:
        """The ticket's work, drafted now or before, and written with `update_jira`; None: it
        changed after the search found it and is left alone."""
        result_key = layout.ticket_result_key(self._job.job_id, key)
        stored = await _stored(self._results, result_key)
        if stored is not None:
            work, usage = TicketWork.model_validate_json(stored), TokenUsage()
        else:
            context = await self._describer.context(key)
            if self._changed_after_search(context.ticket):
                return None, TokenUsage()
            work = await self._describer.draft_from(context)
            await self._results.put(result_key, work.model_dump_json().encode())
            usage = work.draft.usage
        if self._request.update_jira:

            async def record(entry: AppliedOperation) -> None:
                work.applied.append(entry)
                await self._results.put(result_key, work.model_dump_json().encode())

            try:
                await Applier(self._job.runtime.jira).apply(work.plan, list(work.applied), record)
            except JiraError as err:
                raise jira_failure(err, ticket_key=key) from None
        return work, usage

    def _changed_after_search(self, ticket: Ticket) -> bool:
        """Whether a person described the ticket after the search saw it (the fresh read says)."""
        if ticket.key not in self._seen:
            return False
        return bool(ticket.description) and _later(ticket.updated, self._seen[ticket.key])


class Describer:
    """Writes one ticket's description: its context, the LLM's answer as wiki markup, and the
    plan that would write it. One per job, so the job's epics and documents are read once."""

    def __init__(self, job: JobContext, choice: ModelChoice) -> None:
        self._job = job
        self._choice = choice
        self._context = TicketContextReader(job.runtime.settings, job.runtime.jira)
        self._templates = PromptTemplates(job.runtime.settings.prompts)

    async def draft(self, ticket_key: str) -> TicketWork:
        """Generate the description and the plan that writes it; nothing is written here."""
        return await self.draft_from(await self.context(ticket_key))

    async def context(self, ticket_key: str) -> TicketContext:
        """The ticket as Jira holds it now, with its epic and documents."""
        try:
            return await self._context.read(ticket_key)
        except JiraNotFoundError:
            reason = f"Ticket {ticket_key} not found in Jira"
            raise NotFoundJobError(reason, ticket_key=ticket_key, provider=JIRA) from None
        except JiraError as err:
            raise jira_failure(err, ticket_key=ticket_key) from None

    async def draft_from(self, context: TicketContext) -> TicketWork:
        ticket = context.ticket
        try:
            prompt = self._templates.render("describe", ticket.project, context.prompt_values(), ticket.issue_type)
        except PromptError as err:
            raise ConfigurationJobError(str(err), ticket_key=ticket.key) from None
        answer = await self._job.ask(self._choice, prompt, GeneratedDescription, ticket_key=ticket.key)
        assert isinstance(answer.value, GeneratedDescription)
        markdown = answer.value.markdown()
        draft = TicketDescription(
            ticket_key=ticket.key,
            summary=ticket.summary,
            generated_description=markdown,
            description_wiki=fit_wiki(markdown_to_wiki(markdown), job_ticket_path(self._job.job_id, ticket.key)),
            success=True,
            llm_provider=self._choice.provider,
            llm_model=self._choice.model,
            usage=TokenUsage().plus(answer.usage),
        )
        # Somebody who changes the description meanwhile keeps it: it is not overwritten.
        plan = [
            guarded_update(
                f"describe:{ticket.key}",
                ticket.key,
                {"description": draft.description_wiki},
                read={"description": ticket.description},
            )
        ]
        return TicketWork(draft=draft, plan=plan)


def _later(now: str | None, seen: str | None) -> bool:
    """Whether Jira's `updated` moved on since `seen`."""
    try:
        return datetime.strptime(str(now), JIRA_TIME) > datetime.strptime(str(seen), JIRA_TIME)
    except ValueError:
        return now != seen


def _single_work(record: JobRecord) -> TicketWork | None:
    """The draft of an earlier attempt of this job, if it got that far."""
    if record.plan is None or record.result is None:
        return None
    return TicketWork(draft=TicketDescription.model_validate(record.result), plan=record.plan, applied=record.applied)


def _keep_single_draft(record: JobRecord, work: TicketWork) -> None:
    record.plan = work.plan
    record.result = work.draft.model_dump(mode="json")
    usage = work.draft.usage
    record.usage = record.usage.plus(usage)


def _final(work: TicketWork) -> TicketDescription:
    """The draft, saying whether it reached Jira and, if not, why."""
    outcomes = [entry.outcome.get("status") for entry in work.applied]
    if not outcomes:
        return work.draft
    if CONFLICT in outcomes:
        message = CHANGED_MEANWHILE.format(key=work.draft.ticket_key)
        return work.draft.model_copy(update={"success": False, "updated_in_jira": False, "message": message})
    written = all(outcome in (APPLIED, ALREADY_APPLIED) for outcome in outcomes)
    return work.draft.model_copy(update={"updated_in_jira": written})


def _start_batch(record: JobRecord, keys: list[str]) -> None:
    record.ticket_keys = keys
    record.progress.total = len(keys)
    record.progress.processed = 0
    record.progress.message = f"{len(keys)} tickets found"
    record.keep(BatchCounts())


def _count(record: JobRecord, outcome: BatchTicketOutcome, usage: TokenUsage) -> None:
    counts = record.section(BatchCounts)
    counts.processed_tickets += 1
    if outcome.skipped:
        counts.skipped_tickets += 1
    elif outcome.success:
        counts.successful_tickets += 1
    else:
        counts.failed_tickets += 1
    record.keep(counts)
    record.usage = record.usage.plus(usage)
    record.progress.processed = counts.processed_tickets
    record.progress.message = f"{counts.processed_tickets} of {record.progress.total} tickets processed"


def _recount(record: JobRecord, outcomes: list[dict]) -> JobRecord:
    """The batch's outcomes, counted from the results bucket: tickets under way at a
    cancellation finish after the record stopped taking counts, and a crash can fall
    between keeping an outcome and counting it."""
    lines = [BatchTicketOutcome.model_validate(outcome) for outcome in outcomes]
    record.result = outcomes
    skipped = sum(line.skipped for line in lines)
    successful = sum(line.success for line in lines)
    record.keep(
        BatchCounts(
            processed_tickets=len(lines),
            successful_tickets=successful,
            failed_tickets=len(lines) - skipped - successful,
            skipped_tickets=skipped,
        )
    )
    record.progress.processed = len(lines)
    return record


async def _stored(results: KeyValue, key: str) -> bytes | None:
    try:
        entry = await results.get(key)
    except KeyNotFoundError:
        return None
    return entry.value


async def describe_command(command: CommandContext) -> str:
    """`/augment describe [provider] [model]`: a preview, posted here when it is ready."""
    provider, model = (*command.arguments, None, None)[:2]
    choice = command.model(provider, model)
    key = command.ticket_key
    request = GenerateSingleRequest(ticket_key=key, llm_provider=choice.provider, llm_model=choice.model)
    return await command.preview(
        JobType.single,
        request,
        queued=f"Ticket {key} queued for processing",
        doing=f"Writing a description for {key} with {choice.provider} ({choice.model})",
    )


def describe_for_rule(action: TriggerAction, ticket_key: str, catalogue: Catalogue) -> GenerateSingleRequest:
    """What a trigger rule with `job_type: single` runs on its ticket."""
    choice = catalogue.choose(action.llm_provider, action.llm_model)
    return GenerateSingleRequest(
        ticket_key=ticket_key, update_jira=action.update_jira, llm_provider=choice.provider, llm_model=choice.model
    )


def describe_reply(record: JobRecord) -> str:
    result = TicketDescription.model_validate(record.result)
    key = result.ticket_key
    if result.updated_in_jira:
        return f"Wrote the description of {key} (job {job_ref(record.job_id)})."
    if not result.success:
        return result.message or f"The description of {key} was not written."
    return (
        f"h4. Preview: a description for {key}\n"
        f"{{panel}}\n{result.description_wiki}\n{{panel}}\n"
        f"The plan:\n{plan_summary(record.plan or [])}\n\n"
        f"Nothing was written. To write it, comment:\n\n/augment apply {record.job_id}"
    )


pipeline.on(JobType.single, describe_single, reply=describe_reply)
pipeline.on(JobType.batch, describe_batch)
pipeline.rule_action(JobType.single, describe_for_rule)
pipeline.command(
    "describe", describe_command, usage="/augment describe [provider] [model]", help="preview a description"
)
