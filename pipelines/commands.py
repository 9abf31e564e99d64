"""The built-in comment commands (`help`, `status`, `cancel`, `apply`) and the `apply` job.

`apply` writes the plan a preview job stored, through the one applier, once: the
preview's record is claimed (its `PreviewClaim` section, `applied_by`) with
compare-and-set before anything is written, so a second `/augment apply` answers that
it is already applied.
"""

from __future__ import annotations

import re
from typing import Literal

from bot.commands.context import CommandContext
from bot.commands.parsing import job_argument
from bot.jira.applier import ALREADY_APPLIED, CONFLICT, Applier
from bot.jira.client import JiraError
from bot.jira.comments import SIGNED
from bot.jobs.context import JobContext
from bot.jobs.errors import NotFoundJobError, jira_failure
from bot.jobs.pipeline import Pipeline
from bot.jobs.queue import JobAlreadyFinishedError
from bot.jobs.store import JobNotFoundError
from bot.replies import help_text, job_ref, monospace
from schemas.applying import ApplyRequest, ApplyResult, PreviewClaim
from schemas.jobs import AppliedOperation, JobRecord, JobStatus, JobType

pipeline = Pipeline("commands")

APPLY_USAGE = monospace("/augment apply <job id>")
APPLY_LINE = re.compile(r"/augment apply ([0-9a-f]{8}-[0-9a-f-]{27})")


async def show_help(command: CommandContext) -> str:
    return help_text(command.registry, command.runtime.settings.triggers.rules)


async def show_status(command: CommandContext) -> str:
    store = command.runtime.store
    lock = await store.ticket_lock(command.ticket_key)
    record = await store.get(lock.job_id) if lock else None
    if record is None:
        return f"No Augment job is working on {command.ticket_key} right now."
    return f"Job {job_ref(record.job_id)} ({record.job_type.value}) is *{record.status.value}*: {_progress(record)}"


async def cancel(command: CommandContext) -> str:
    store = command.runtime.store
    job_id = job_argument(command.line)
    if job_id is None:
        lock = await store.ticket_lock(command.ticket_key)
        if lock is None:
            return f"No Augment job is working on {command.ticket_key}; nothing to cancel."
        job_id = lock.job_id
    record = await store.get(job_id)
    if record is None or command.ticket_key not in record.ticket_keys:
        return f"There is no job {job_ref(job_id)} on {command.ticket_key}."
    try:
        await command.runtime.queue.cancel(job_id)
    except JobAlreadyFinishedError as done:
        return f"Job {job_ref(job_id)} already {done.record.status.value}; nothing to cancel."
    except JobNotFoundError:
        return f"There is no job {job_ref(job_id)}."
    return f"Cancelled job {job_ref(job_id)}."


async def apply(command: CommandContext) -> str:
    store = command.runtime.store
    job_id = job_argument(command.line) or await _latest_preview(command)
    if job_id is None:
        return f"There is no preview on {command.ticket_key} to apply. Name one: {APPLY_USAGE}."
    source = await store.get(job_id)
    if source is None or source.ticket_keys != [command.ticket_key]:
        return f"There is no preview job {job_ref(job_id)} for {command.ticket_key}."
    if source.status is not JobStatus.completed or not source.plan:
        return f"Job {job_ref(job_id)} has no plan to apply (it is {source.status.value})."
    if applied_by := source.section(PreviewClaim).applied_by:
        return f"The plan of job {job_ref(job_id)} is already applied (by job {job_ref(applied_by)})."
    job = await command.submit(
        JobType.apply,
        ApplyRequest(job_id=job_id, ticket_key=command.ticket_key),
        message=f"Applying the plan of job {job_id}",
    )
    return f"Writing the plan of job {job_ref(job_id)} to {command.ticket_key} (job {job_ref(job.job_id)})."


async def _latest_preview(command: CommandContext) -> str | None:
    """The job of the newest `/augment apply <job>` line the bot posted on the ticket."""
    bot_comments = await command.runtime.jira.comment_bodies(command.ticket_key)
    for body in bot_comments:
        if SIGNED in body and (found := APPLY_LINE.search(body)):
            return found.group(1)
    return None


async def apply_plan(job: JobContext) -> ApplyResult:
    request = ApplyRequest.model_validate(job.request)
    try:
        claimed = await job.runtime.store.update(request.job_id, lambda source: _claim(source, job.job_id))
    except JobNotFoundError:
        raise NotFoundJobError(f"Job {request.job_id} no longer exists", ticket_key=request.ticket_key) from None
    source = claimed.after
    applied_by = source.section(PreviewClaim).applied_by
    if applied_by != job.job_id:
        return ApplyResult(
            source_job_id=source.job_id,
            ticket_key=request.ticket_key,
            outcome="already_applied",
            applied_by=applied_by,
            message=f"The plan of job {source.job_id} is already applied (by job {applied_by}).",
        )

    async def record(entry: AppliedOperation) -> None:
        await job.update(lambda current: current.applied.append(entry))

    try:
        applied = await Applier(job.runtime.jira).apply(source.plan or [], job.record.applied, record)
    except JiraError as err:
        raise jira_failure(err, ticket_key=request.ticket_key) from None
    statuses = {entry.outcome.get("status") for entry in applied}
    outcome: Literal["applied", "already_applied", "conflict"]
    if CONFLICT in statuses:
        outcome = "conflict"
        message = f"{request.ticket_key} changed in Jira since the preview; it was not overwritten."
    elif statuses <= {ALREADY_APPLIED}:
        outcome, message = "already_applied", f"Jira already holds the plan of job {source.job_id}."
    else:
        outcome, message = "applied", f"Wrote the plan of job {source.job_id} to {request.ticket_key}."
    return ApplyResult(
        source_job_id=source.job_id, ticket_key=request.ticket_key, outcome=outcome, operations=applied, message=message
    )


def _claim(source: JobRecord, apply_job_id: str) -> JobRecord | None:
    if source.section(PreviewClaim).applied_by not in (None, apply_job_id):
        return None
    source.keep(PreviewClaim(applied_by=apply_job_id))
    return source


def apply_reply(record: JobRecord) -> str:
    return ApplyResult.model_validate(record.result).message


def _progress(record: JobRecord) -> str:
    progress = record.progress
    if progress.total:
        return f"{progress.message} ({progress.processed or 0}/{progress.total})"
    return progress.message or record.status.value


pipeline.on(JobType.apply, apply_plan, reply=apply_reply)
pipeline.command("help", show_help, usage="/augment help", help="this list")
pipeline.command("status", show_status, usage="/augment status", help="the job working on this ticket")
pipeline.command("cancel", cancel, usage="/augment cancel [job]", help="stop the ticket's job (or the one named)")
pipeline.command("apply", apply, usage="/augment apply [job]", help="write the latest preview (or the one named)")
