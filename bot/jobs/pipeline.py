"""A pipeline: a family of job types served by one durable consumer.

    pipeline = Pipeline("diagnostics")
    pipeline.on(JobType.ping, run_ping)

A handler gets a `JobContext` and returns the job's result; the worker does the rest
(claiming, progress heartbeats, retries with backoff, dead-lettering, lock release).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from schemas.jobs import JobType

if TYPE_CHECKING:
    from bot.jobs.context import JobContext

Handler = Callable[["JobContext"], Awaitable[Any]]


@dataclass(frozen=True)
class JobRoute:
    handler: Handler
    timeout_seconds: float | None = None  # None: the configured limits.job_timeout_seconds


@dataclass
class Pipeline:
    name: str
    routes: dict[JobType, JobRoute] = field(default_factory=dict)

    def on(self, job_type: JobType, handler: Handler, *, timeout_seconds: float | None = None) -> None:
        if job_type in self.routes:
            raise ValueError(f"pipeline {self.name}: {job_type.value} already has a handler")
        self.routes[job_type] = JobRoute(handler, timeout_seconds)
