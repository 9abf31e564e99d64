"""What a comment command handler gets: who asked, on which ticket, and how to start a job.

Also the `Registry` of what every pipeline registered, which command and event handlers
see: a command's route names its handler, whose context holds the registry, so the three
live here together. Imports flow one way: `bot.jobs.pipeline` (registering) imports this
module and `bot.events`, and nothing here imports them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import BaseModel

from bot.commands.parsing import CommandLine
from bot.config import TriggerAction
from bot.jobs.queue import job_id_for
from bot.llm.catalogue import Catalogue, ModelChoice
from bot.replies import job_ref
from schemas.jobs import JobRecord, JobType, TicketReply

if TYPE_CHECKING:
    from bot.runtime import Runtime

CommandHandler = Callable[["CommandContext"], Awaitable[str]]
# The comment a job started from Jira posts on its ticket when it ends (Jira wiki markup).
ReplyRenderer = Callable[[JobRecord], str]
# What a trigger rule whose action names this job type queues for a ticket.
RuleAction = Callable[[TriggerAction, str, Catalogue], BaseModel]


@dataclass(frozen=True)
class CommandRoute:
    handler: CommandHandler
    usage: str
    help: str


@dataclass(frozen=True)
class Registry:
    """What every loaded pipeline registered (`bot.jobs.pipeline.registry_of`), for the
    handlers that need the whole picture."""

    commands: dict[str, CommandRoute]
    replies: dict[JobType, ReplyRenderer]
    rule_actions: dict[JobType, RuleAction] = field(default_factory=dict)


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
        return self.runtime.catalogue.choose(provider, model)

    async def submit(self, job_type: JobType, request: BaseModel, *, message: str) -> JobRecord:
        """Queue a job on this ticket that answers here when it ends; the same job on a redelivery.

        Raises `bot.jobs.store.TicketBusyError` when another active job holds the ticket.
        """
        return await self.runtime.queue.enqueue(
            job_type,
            request,
            [self.ticket_key],
            message=message,
            job_id=job_id_for(self.origin),
            reuse=True,
            reply=TicketReply(ticket_key=self.ticket_key, requested_by=self.author, trigger=self.line.text),
        )

    async def preview(self, job_type: JobType, request: BaseModel, *, queued: str, doing: str) -> str:
        """Queue a preview job (`submit`, with `queued` as its message) and the answer that says
        so: "<doing>, job <id>. The preview follows here; nothing is written until you apply it."
        """
        job = await self.submit(job_type, request, message=queued)
        return f"{doing}, job {job_ref(job.job_id)}. The preview follows here; nothing is written until you apply it."
