"""What a job handler sees: its record, its request, and ways to report progress.

A handler that cannot finish raises a `bot.jobs.errors.JobError`, which says whether
another attempt may help. Rules every pipeline shares live here once: the job's marker
label (`marker`), its execution time (`elapsed`), and an LLM call whose failures become
job errors and whose unusable answer is still charged to the record (`ask`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from pydantic import BaseModel, Field

from bot.jira.applier import Applier
from bot.jira.client import JiraError
from bot.jobs.errors import jira_failure, llm_failure
from bot.jobs.store import Updated
from bot.llm.catalogue import ModelChoice
from bot.llm.types import Answer, LlmError, LlmOutputError, Prompt
from schemas.jobs import AppliedOperation, JobRecord, JobStatus, JobType, PlanOperation, TokenUsage

if TYPE_CHECKING:
    from bot.runtime import Runtime

# A handler's edit of its own record, made in place; what it returns is ignored. `update`
# wraps it in a `bot.jobs.store.Change` that declines (None) once the job is cancelled.
Edit = Callable[[JobRecord], object]
M = TypeVar("M", bound=BaseModel)


class CreateAttempts(BaseModel):
    """The record's section for `apply`: when each create was sent to Jira, written before it is
    sent, so a resumed job knows a create it has no outcome for may have happened."""

    create_attempts: dict[str, datetime] = Field(default_factory=dict)


class JobCancelledError(Exception):
    """The job was cancelled; raised at the handler's next step."""


class JobSupersededError(Exception):
    """A later delivery of the job claimed it (this run looked dead: no heartbeat for
    `ack_wait`); raised at this run's next record write, so only one run writes to Jira."""


class JobContext:
    def __init__(self, runtime: Runtime, claimed: Updated, attempt: int, worker_id: str) -> None:
        self.runtime = runtime  # settings, Jira, the LLMs, the buckets
        self._store = runtime.store
        self.latest = claimed  # this worker's last write, so the next one can skip a read
        self._writing = asyncio.Lock()  # a job's own concurrent steps (a batch's tickets) take turns
        self.attempt = attempt  # the record's `attempts`: a hand-back or a resumed delivery keeps it
        self._delivery = claimed.after.deliveries  # this run's claim; a later claim supersedes it
        self.worker_id = worker_id
        self._started = time.monotonic()  # this run's start: `elapsed`
        self.log = structlog.get_logger("job").bind(job_id=self.record.job_id, job_type=self.record.job_type.value)

    @property
    def record(self) -> JobRecord:
        return self.latest.after

    @property
    def job_id(self) -> str:
        return self.record.job_id

    @property
    def job_type(self) -> JobType:
        return self.record.job_type

    @property
    def request(self) -> dict[str, Any]:
        return self.record.request

    @property
    def marker(self) -> str:
        """The label of every issue this job creates, `augment-<12 hex of the job id>`: the
        applier looks for it (with the summary) before creating, so nothing is created twice."""
        return f"augment-{self.job_id.replace('-', '')[:12].lower()}"

    def elapsed(self) -> float:
        """Seconds since this run started, to the millisecond: a result's `execution_time_seconds`."""
        return round(time.monotonic() - self._started, 3)

    async def update(self, edit: Edit) -> JobRecord:
        """Change the record in place (compare-and-set); stop here if the job was cancelled, or
        claimed by a later delivery. A create's attempt is recorded through here before it is
        sent, so a superseded run never creates."""

        def apply(record: JobRecord) -> JobRecord | None:
            if record.status is JobStatus.cancelled or record.deliveries != self._delivery:
                return None
            edit(record)
            return record

        async with self._writing:
            self.latest = await self._store.update(self.job_id, apply, known=self.latest)
        if self.record.status is JobStatus.cancelled:
            raise JobCancelledError(self.job_id)
        if self.record.deliveries != self._delivery:
            raise JobSupersededError(self.job_id)
        return self.record

    async def progress(self, message: str, processed: int | None = None, total: int | None = None) -> None:
        def report(record: JobRecord) -> None:
            record.progress.message = message
            if processed is not None:
                record.progress.processed = processed
            if total is not None:
                record.progress.total = total

        await self.update(report)

    async def plan_once(
        self, make: Callable[[], Awaitable[tuple[list[PlanOperation], BaseModel | dict[str, Any]]]]
    ) -> tuple[list[PlanOperation], dict[str, Any]]:
        """The plan and the draft result (as JSON): those an earlier attempt kept, else `make()`'s,
        kept in the record before anything is written — so a redelivered job neither reads nor asks
        an LLM again, and writes the very plan it previewed. A draft with a `usage` has its tokens
        charged to the record as it is kept."""
        if self.record.plan is None or self.record.result is None:
            plan, draft = await make()
            result = draft.model_dump(mode="json") if isinstance(draft, BaseModel) else draft
            spent = getattr(draft, "usage", None)

            def keep(record: JobRecord) -> None:
                record.plan, record.result = plan, result
                if isinstance(spent, TokenUsage):
                    record.usage = record.usage.plus(spent)

            await self.update(keep)
        return self.record.plan or [], dict(self.record.result or {})

    async def apply(
        self, plan: Sequence[PlanOperation], *, ticket_key: str, doing: str | None = None
    ) -> list[AppliedOperation]:
        """Carry out `plan` through the one applier, recording each operation in this job's
        record before the next: a redelivered job goes on after the last one recorded. When a
        create is sent is recorded first too (`CreateAttempts`), so a resumed job waits for Jira's
        search before looking for it. A Jira failure becomes a job error concerning `ticket_key`.
        With `doing`, the progress reads it, and the operations recorded out of the plan's, in
        the same record writes (the job's completion shows them all done)."""
        total = len(plan)

        def count(current: JobRecord) -> None:
            if doing is not None:
                current.progress.message = doing
                current.progress.processed = min(len(current.applied), total)
                current.progress.total = total

        async def record(entry: AppliedOperation) -> None:
            def keep(current: JobRecord) -> None:
                current.applied.append(entry)
                count(current)

            await self.update(keep)

        async def attempt(op_id: str, at: datetime) -> None:
            def keep(current: JobRecord) -> None:
                attempts = current.section(CreateAttempts)
                attempts.create_attempts[op_id] = at
                current.keep(attempts)

            await self.update(keep)

        if doing is not None:
            await self.update(count)
        try:
            attempted = self.record.section(CreateAttempts).create_attempts
            return await Applier(self.runtime.jira).apply(
                plan, self.record.applied, record, attempted=attempted, attempt=attempt
            )
        except JiraError as err:
            raise jira_failure(err, ticket_key=ticket_key) from None

    async def ask(
        self, choice: ModelChoice, prompt: Prompt, output: type[M], *, context: Any = None, ticket_key: str
    ) -> Answer[M]:
        """`output` from the LLM (`bot.llm.client.LlmClient.structured`). An answer that stays
        unusable after its re-asks is paid for all the same: its tokens are charged to the record
        before the job fails. Every LLM failure becomes a job error concerning `ticket_key`."""
        try:
            return await self.runtime.llm.structured(choice, prompt, output, context=context)
        except LlmOutputError as err:
            spent = err.usage
            await self.update(lambda record: setattr(record, "usage", record.usage.plus(spent)))
            raise llm_failure(err, ticket_key=ticket_key) from None
        except LlmError as err:
            raise llm_failure(err, ticket_key=ticket_key) from None

    async def check_cancelled(self) -> None:
        record = await self._store.get(self.job_id)
        if record is None or record.status is JobStatus.cancelled:
            raise JobCancelledError(self.job_id)
