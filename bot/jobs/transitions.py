"""Every change of a job's status, in one place, as pure functions of the record.

Each transition gets a private copy of the latest record (`JobStore.update` hands one
over) and what it needs (the clock's `now`, a reason, the limits), and returns the changed
record, or None to leave the record as it is. Bind the extra arguments with
`functools.partial` to get a `bot.jobs.store.Change`. The rules:
- a final status (completed, failed, cancelled) is never changed: every transition
  returns None for a job that has ended;
- `claim`: a worker takes the job (`started` → `processing`); a job still `processing`
  lost its worker, which is a failed attempt unless that worker made progress;
- `complete`: the handler returned; `fail`: the job fails now, whatever its attempts;
- `fail_attempt`: the handler raised; the job waits for a retry (`started`) or, at
  `max_attempts` failed attempts, fails;
- `hand_back`: the worker is stopping; the job waits for another worker in the same attempt;
- `cancel`: by request; `mark_requeued`: the sweeper queues a lost job again, only if
  the record is still the one it saw.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.config import LimitSettings
from schemas.jobs import JobRecord, JobStatus

STOPPED_RESPONDING = (
    "The worker stopped responding with no progress since it took the job (it crashed, or sent no heartbeat "
    "for limits.ack_wait_seconds)"
)
REQUEUED = "Queued again: its work-queue message was lost"


def claim(record: JobRecord, *, now: datetime, worker: str, max_attempts: int) -> JobRecord | None:
    """Take the job for `worker`."""
    if record.status.is_final:
        return None
    if record.status is JobStatus.processing and _processed(record) <= record.processed_at_delivery:
        record.failed_attempts += 1
        if record.failed_attempts >= max_attempts:
            return fail(record, now=now, reason=f"{STOPPED_RESPONDING} (gave up after {record.attempts} attempts)")
        record.error = STOPPED_RESPONDING
    record.status = JobStatus.processing
    record.deliveries += 1
    record.attempts = record.failed_attempts + 1
    record.processed_at_delivery = _processed(record)
    record.worker = worker
    record.started_at = record.started_at or now
    if record.attempts > 1:
        record.progress.message = f"Processing (attempt {record.attempts})"
    else:
        record.progress.message = "Processing" if record.deliveries == 1 else "Processing (resumed)"
    return record


def complete(record: JobRecord, *, now: datetime, result: Any, delivery: int | None = None) -> JobRecord | None:
    """`delivery`: the claim the result comes from; a later claim owns the job instead."""
    if record.status.is_final:
        return None  # cancelled during its last step: the cancellation stands
    if delivery is not None and record.deliveries != delivery:
        return None
    record.status = JobStatus.completed
    record.result = result
    record.error = None
    record.completed_at = now
    record.progress.message = "Completed successfully"
    if record.progress.total is not None:
        record.progress.processed = record.progress.total
    return record


def fail(record: JobRecord, *, now: datetime, reason: str, status: int | None = None) -> JobRecord | None:
    """`status` is what a synchronous caller gets (`bot.jobs.errors.HTTP_STATUS`); None for a plain 502."""
    if record.status.is_final:
        return None
    record.status = JobStatus.failed
    record.error = reason
    record.error_status = status
    record.completed_at = now
    record.progress.message = f"Failed: {reason}"
    return record


def fail_attempt(record: JobRecord, *, now: datetime, reason: str, limits: LimitSettings) -> JobRecord | None:
    if record.status.is_final:
        return None
    record.failed_attempts += 1
    if record.failed_attempts >= limits.max_attempts:
        return fail(record, now=now, reason=f"{reason} (gave up after {record.attempts} attempts)")
    delay = retry_delay(limits, record.failed_attempts)
    record.status = JobStatus.started
    record.error = reason
    record.progress.message = (
        f"Attempt {record.attempts} of {limits.max_attempts} failed: {reason}; retrying in {delay:g}s"
    )
    return record


def hand_back(record: JobRecord) -> JobRecord | None:
    if record.status.is_final:
        return None
    record.status = JobStatus.started
    record.progress.message = "Interrupted by a worker shutdown; waiting for another worker"
    return record


def cancel(record: JobRecord, *, now: datetime) -> JobRecord | None:
    if record.status.is_final:
        return None
    record.status = JobStatus.cancelled
    record.completed_at = now
    record.progress.message = "Cancelled by request"
    return record


def mark_requeued(record: JobRecord, *, seen: datetime) -> JobRecord | None:
    """`seen`: the record's `updated_at` when the sweeper found it lost; any write since wins."""
    if record.status.is_final or record.updated_at != seen:
        return None
    record.progress.message = REQUEUED
    return record


def retry_delay(limits: LimitSettings, failed_attempts: int) -> float:
    """Seconds before the next attempt, after `failed_attempts` failed ones."""
    backoff = limits.retry_backoff_seconds
    return backoff[min(failed_attempts - 1, len(backoff) - 1)]


def _processed(record: JobRecord) -> int:
    return record.progress.processed or 0
