"""A pipeline: the job types, events and comment commands one module reacts to.

    pipeline = Pipeline("generation")
    pipeline.on(JobType.single, describe_single, reply=render_description)
    pipeline.on_event(layout.event_subject("jira:issue_created"), on_issue_created)
    pipeline.command("describe", describe, usage="/augment describe", help="Preview a description.")
    pipeline.rule_action(JobType.single, describe_for_rule)  # a trigger rule's action → the request

A job handler gets a `JobContext` and returns the job's result; the worker does the rest
(claiming, progress heartbeats, retries with backoff, dead-lettering, lock release). An
event handler gets an `EventContext` (`bot.events`); a command handler a `CommandContext`
(`bot.commands.context`, with the `Registry`). Those modules never import this one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.commands.context import CommandHandler, CommandRoute, Registry, ReplyRenderer, RuleAction
from bot.events import EventHandler
from bot.jobs.context import JobContext
from schemas.jobs import JobType

JobHandler = Callable[[JobContext], Awaitable[Any]]


@dataclass(frozen=True)
class JobRoute:
    handler: JobHandler
    timeout_seconds: float | None = None  # None: the configured limits.job_timeout_seconds
    reply: ReplyRenderer | None = None


@dataclass
class Pipeline:
    name: str
    routes: dict[JobType, JobRoute] = field(default_factory=dict)
    events: dict[str, EventHandler] = field(default_factory=dict)
    commands: dict[str, CommandRoute] = field(default_factory=dict)
    rule_actions: dict[JobType, RuleAction] = field(default_factory=dict)

    def on(
        self,
        job_type: JobType,
        handler: JobHandler,
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

    def command(self, name: str, handler: CommandHandler, *, usage: str, help: str) -> None:
        if name in self.commands:
            raise ValueError(f"pipeline {self.name}: command {name} already has a handler")
        self.commands[name] = CommandRoute(handler, usage, help)

    def rule_action(self, job_type: JobType, build: RuleAction) -> None:
        if job_type in self.rule_actions:
            raise ValueError(f"pipeline {self.name}: {job_type.value} already has a rule action")
        self.rule_actions[job_type] = build


def registry_of(pipelines: Sequence[Pipeline]) -> Registry:
    """What all `pipelines` registered; a command registered by two of them is refused."""
    commands: dict[str, CommandRoute] = {}
    replies: dict[JobType, ReplyRenderer] = {}
    rule_actions: dict[JobType, RuleAction] = {}
    for pipeline in pipelines:
        for name, route in pipeline.commands.items():
            if name in commands:
                raise ValueError(f"command {name} is registered by two pipelines")
            commands[name] = route
        replies |= {job_type: route.reply for job_type, route in pipeline.routes.items() if route.reply}
        rule_actions |= pipeline.rule_actions
    return Registry(commands, replies, rule_actions)
