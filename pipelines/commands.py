"""The built-in comment commands (`help`, `status`, `cancel`, `apply`) and the `apply` job.

`apply` (from `/augment apply` or `POST /jobs/{job_id}/apply`) writes the plan a preview
job stored, through the one applier, once: the preview's record is claimed (its
`PreviewClaim` section: `applied_by`, and who approved which operations) with
compare-and-set before anything is written, so a second apply answers that it is already
applied, and one that finds the preview discarded (`PreviewDiscard`) writes nothing.
`operations` (REST) writes only the operations chosen from a one-plan preview.
A batch preview's plans are read per ticket from the results bucket; every operation is
recorded in the apply job's record before the next, so a redelivered apply job goes on
without writing twice.
"""

from __future__ import annotations

import re
from collections import Counter

from nats.js.errors import KeyNotFoundError

from bot.commands.context import CommandContext
from bot.commands.parsing import job_argument
from bot.jetstream import layout
from bot.jetstream.entries import read
from bot.jira.applier import ALREADY_APPLIED, CONFLICT, Applier
from bot.jira.client import JiraError
from bot.jira.comments import SIGNED
from bot.jobs.context import JobContext
from bot.jobs.errors import NotFoundJobError, jira_failure
from bot.jobs.pipeline import Pipeline
from bot.jobs.queue import JobAlreadyFinishedError
from bot.jobs.store import JobNotFoundError
from bot.replies import help_text, job_ref, monospace
from schemas.applying import (
    ApplyRequest,
    ApplyResult,
    Outcome,
    PreviewClaim,
    PreviewDiscard,
    StoredPlan,
    TicketApplied,
)
from schemas.jobs import AppliedOperation, JobRecord, JobStatus, JobType, PlanOperation

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
    if discarded_by := source.section(PreviewDiscard).discarded_by:
        return f"The preview {job_ref(job_id)} was discarded (by {discarded_by}); nothing to apply."
    job = await command.submit(
        JobType.apply,
        ApplyRequest(job_id=job_id, ticket_keys=[command.ticket_key], approved_by=command.author),
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
    single = request.ticket_keys[0] if len(request.ticket_keys) == 1 else None
    try:
        claimed = await job.runtime.store.update(request.job_id, lambda source: _claim(source, job.job_id, request))
    except JobNotFoundError:
        raise NotFoundJobError(f"Job {request.job_id} no longer exists", ticket_key=single) from None
    source = claimed.after
    if (discarded_by := source.section(PreviewDiscard).discarded_by) is not None:
        return ApplyResult(
            source_job_id=source.job_id,
            ticket_key=single,
            outcome="discarded",
            discarded_by=discarded_by,
            message=f"The preview of job {source.job_id} was discarded by {discarded_by}; nothing was written.",
        )
    applied_by = source.section(PreviewClaim).applied_by
    if applied_by != job.job_id:
        return ApplyResult(
            source_job_id=source.job_id,
            ticket_key=single,
            outcome="already_applied",
            applied_by=applied_by,
            message=f"The plan of job {source.job_id} is already applied (by job {applied_by}).",
        )

    async def record(entry: AppliedOperation) -> None:
        await job.update(lambda current: current.applied.append(entry))

    applier = Applier(job.runtime.jira)
    total = len(request.ticket_keys)
    lines: list[TicketApplied] = []
    for key in request.ticket_keys:
        await job.progress(f"Writing the plan of job {source.job_id} to {key}", processed=len(lines), total=total)
        plan = await _plan_of(job, source, key)
        if request.operations is not None:
            plan = [operation for operation in plan if operation.op_id in request.operations]
        try:
            applied = await applier.apply(plan, job.record.applied, record)
        except JiraError as err:
            raise jira_failure(err, ticket_key=key) from None
        op_ids = {operation.op_id for operation in plan}
        lines.append(_ticket_applied(key, [entry for entry in applied if entry.op_id in op_ids]))
    await job.progress(f"Wrote the plan of job {source.job_id}", processed=total, total=total)
    return _result(source.job_id, single, lines, job.record.applied).model_copy(
        update={"approved_by": request.approved_by}
    )


async def _plan_of(job: JobContext, source: JobRecord, key: str) -> list[PlanOperation]:
    """A ticket's stored plan: the record's, for a preview with one plan (applied under its first
    ticket); in the results bucket for each ticket of a batch."""
    if source.plan is not None and source.ticket_keys[:1] == [key]:
        return source.plan
    try:
        stored = await read(job.runtime.buckets.results, layout.ticket_result_key(source.job_id, key))
    except KeyNotFoundError:
        raise NotFoundJobError(f"Job {source.job_id} kept no plan for {key}", ticket_key=key) from None
    return StoredPlan.model_validate_json(stored.value).plan


def _ticket_applied(key: str, applied: list[AppliedOperation]) -> TicketApplied:
    conflicts = [entry.outcome for entry in applied if entry.outcome.get("status") == CONFLICT]
    if conflicts:
        changed = sorted({name for outcome in conflicts for name in outcome.get("changed_fields", [])})
        return TicketApplied(ticket_key=key, outcome="conflict", changed_fields=changed)
    if all(entry.outcome.get("status") == ALREADY_APPLIED for entry in applied):
        return TicketApplied(ticket_key=key, outcome="already_applied")
    return TicketApplied(ticket_key=key, outcome="applied")


def _result(
    source_job_id: str, single: str | None, lines: list[TicketApplied], applied: list[AppliedOperation]
) -> ApplyResult:
    counts = Counter(line.outcome for line in lines)
    outcome: Outcome
    if counts["conflict"]:
        outcome = "conflict"
    elif counts["already_applied"] == len(lines):
        outcome = "already_applied"
    else:
        outcome = "applied"
    if single is not None:
        message = {
            "conflict": f"{single} changed in Jira since the preview; it was not overwritten.",
            "already_applied": f"Jira already holds the plan of job {source_job_id}.",
            "applied": f"Wrote the plan of job {source_job_id} to {single}.",
        }[outcome]
    else:
        conflicts = ", ".join(line.ticket_key for line in lines if line.outcome == "conflict")
        message = (
            f"Wrote the plan of job {source_job_id}: {counts['applied']} tickets written, "
            f"{counts['already_applied']} already held it, {counts['conflict']} changed in Jira since the "
            f"preview and not overwritten" + (f" ({conflicts})." if conflicts else ".")
        )
    return ApplyResult(
        source_job_id=source_job_id,
        ticket_key=single,
        outcome=outcome,
        tickets=lines,
        applied_tickets=counts["applied"],
        already_applied_tickets=counts["already_applied"],
        conflict_tickets=counts["conflict"],
        operations=applied,
        message=message,
    )


def _claim(source: JobRecord, apply_job_id: str, request: ApplyRequest) -> JobRecord | None:
    """Claimed unless another apply job claimed it, or somebody discarded it, first."""
    if source.section(PreviewClaim).applied_by not in (None, apply_job_id):
        return None
    if source.section(PreviewDiscard).discarded_by is not None:
        return None
    source.keep(
        PreviewClaim(applied_by=apply_job_id, approved_by=request.approved_by, approved_operations=request.operations)
    )
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
