"""A pipeline: the job types, events and comment commands one module reacts to.

    pipeline = Pipeline("generation")
    pipeline.on(JobType.single, describe_single, reply=render_description)
    pipeline.on_event(layout.event_subject("jira:issue_created"), on_issue_created)
    pipeline.command("describe", describe, usage="/augment describe", help="Preview a description.")

A job handler gets a `JobContext` and returns the job's result; the worker does the rest
(claiming, progress heartbeats, retries with backoff, dead-lettering, lock release). An
event handler gets an `EventContext`; a command handler a `CommandContext` (`bot.commands`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from schemas.jobs import JobRecord, JobType

if TYPE_CHECKING:
    from bot.commands.context import CommandContext
    from bot.events import EventContext
    from bot.jobs.context import JobContext

Handler = Callable[["JobContext"], Awaitable[Any]]
EventHandler = Callable[["EventContext"], Awaitable[None]]
CommandHandler = Callable[["CommandContext"], Awaitable[str]]
# The comment a job started from Jira posts on its ticket when it ends (Jira wiki markup).
ReplyRenderer = Callable[[JobRecord], str]


@dataclass(frozen=True)
class JobRoute:
    handler: Handler
    timeout_seconds: float | None = None  # None: the configured limits.job_timeout_seconds
    reply: ReplyRenderer | None = None


@dataclass(frozen=True)
class CommandRoute:
    handler: CommandHandler
    usage: str
    help: str


@dataclass
class Pipeline:
    name: str
    routes: dict[JobType, JobRoute] = field(default_factory=dict)
    events: dict[str, EventHandler] = field(default_factory=dict)
    commands: dict[str, CommandRoute] = field(default_factory=dict)

    def on(
        self,
        job_type: JobType,
        handler: Handler,
        *,
        timeout_seconds: float | None = None,
        reply: ReplyRenderer | None = None,
    ) -> None:
        if job_type in self.routes:
            raise ValueError(f"pipeline {self.name}: {job_type.value} already has a handler")
        self.routes[job_type] = JobRoute(handler, timeout_seconds, reply)

    def on_event(self, subject: str, handler: EventHandler) -> None:
        if subject in self.events:
            raise ValueError(f"pipeline {self.name}: {subject} already has a handler")
        self.events[subject] = handler

    def command(self, name: str, handler: CommandHandler, *, usage: str, help: str) -> None:  # noqa: A002
        if name in self.commands:
            raise ValueError(f"pipeline {self.name}: command {name} already has a handler")
        self.commands[name] = CommandRoute(handler, usage, help)


@dataclass(frozen=True)
class Registry:
    """What every loaded pipeline registered, for the handlers that need the whole picture."""

    commands: dict[str, CommandRoute]
    replies: dict[JobType, ReplyRenderer]

    @classmethod
    def of(cls, pipelines: list[Pipeline]) -> Registry:
        commands: dict[str, CommandRoute] = {}
        replies: dict[JobType, ReplyRenderer] = {}
        for pipeline in pipelines:
            for name, route in pipeline.commands.items():
                if name in commands:
                    raise ValueError(f"command {name} is registered by two pipelines")
                commands[name] = route
            replies |= {job_type: route.reply for job_type, route in pipeline.routes.items() if route.reply}
        return cls(commands, replies)
