"""The `ping` job: report progress step by step, optionally failing the first attempts (a transient error)
or stalling the worker's process on the first delivery (to show a late heartbeat is survived)."""

from __future__ import annotations

import asyncio
import time

from bot.jobs.context import JobContext
from bot.jobs.errors import TransientJobError
from bot.jobs.pipeline import Pipeline
from schemas.diagnostics import PingRequest, PingResult
from schemas.jobs import JobType

pipeline = Pipeline("diagnostics")


async def run_ping(job: JobContext) -> PingResult:
    request = PingRequest.model_validate(job.request)
    if job.attempt <= request.fail_attempts:
        raise TransientJobError(
            f"ping failed on purpose (attempt {job.attempt} of the {request.fail_attempts} asked to fail)",
            ticket_key=request.ticket_key,
        )
    if request.stall_seconds and job.record.deliveries == 1 and job.runtime.settings.worker.allow_stall:
        time.sleep(request.stall_seconds)  # noqa: ASYNC251 -- blocks the event loop on purpose: no heartbeat either
    for step in range(1, request.steps + 1):
        if request.step_seconds:
            await asyncio.sleep(request.step_seconds)
        await job.progress(f"Step {step} of {request.steps}", processed=step, total=request.steps)
    return PingResult(steps=request.steps, attempts=job.attempt, worker=job.worker_id)


pipeline.on(JobType.ping, run_ping)
