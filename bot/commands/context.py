"""What a comment command handler gets: who asked, on which ticket, and how to start a job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel

from bot.commands.parsing import CommandLine
from bot.jobs.pipeline import Registry
from bot.jobs.queue import JobQueue, job_id_for
from bot.llm.catalogue import Catalogue, ModelChoice
from schemas.jobs import JobRecord, JobType, TicketReply

if TYPE_CHECKING:
    from bot.runtime import Runtime


@dataclass(frozen=True)
class CommandContext:
    runtime: Runtime
    registry: Registry
    ticket_key: str
    author: str | None  # accountId of the person who commented
    line: CommandLine
    origin: str  # the comment and the command's line in it: the same in every delivery of the comment

    @property
    def arguments(self) -> tuple[str, ...]:
        return self.line.arguments

    def model(self, provider: str | None = None, model: str | None = None) -> ModelChoice:
        """The LLM to use, by the rules of GET /models; ModelChoiceError names what is wrong."""
        return Catalogue(self.runtime.settings.llm).choose(provider, model)

    async def submit(self, job_type: JobType, request: BaseModel, *, message: str) -> JobRecord:
        """Queue a job on this ticket that answers here when it ends; the same job on a redelivery.

        Raises `bot.jobs.store.TicketBusyError` when another active job holds the ticket.
        """
        return await JobQueue(self.runtime.js, self.runtime.store).enqueue(
            job_type,
            request,
            [self.ticket_key],
            message=message,
            job_id=job_id_for(self.origin),
            reuse=True,
            reply=TicketReply(ticket_key=self.ticket_key, requested_by=self.author, trigger=self.line.text),
        )
