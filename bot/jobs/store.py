"""Job records in `augment_jobs` and per-ticket locks in `augment_active`.

Every change to a record is a compare-and-set on its revision, so two writers (a
worker reporting progress, an API call cancelling) can never lose each other's update.
A change is a `Change`: a function of a private copy of the record that returns the new
record, or None to leave it as it is (status changes are in `bot.jobs.transitions`).
Times (`updated_at`, a lock's age) come from the store's clock, so tests can move it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import structlog
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from nats.js.errors import APIError, InvalidKeyError, KeyNotFoundError, KeyWrongLastSequenceError, NotFoundError
from pydantic import ValidationError

from bot.clock import Clock
from bot.jetstream import layout
from bot.jetstream.entries import read
from bot.jetstream.provision import Buckets
from bot.jobs import transitions
from schemas.jobs import JobRecord, JobStatus

log = structlog.get_logger(__name__)

CAS_ATTEMPTS = 50
CAS_BACKOFF_SECONDS = 0.002
# A lock whose job record never appeared, or never got queued, is abandoned after this.
ORPHAN_LOCK_GRACE_SECONDS = 30.0

Change = Callable[[JobRecord], JobRecord | None]


@dataclass(frozen=True)
class Updated:
    before: JobRecord
    after: JobRecord
    revision: int


class JobNotFoundError(LookupError):
    pass


class JobConflictError(Exception):
    """Too many concurrent writers on one record; the caller may retry."""


@dataclass(frozen=True)
class TicketLock:
    ticket_key: str
    job_id: str
    job_type: str
    locked_at: datetime
    revision: int


class TicketBusyError(Exception):
    def __init__(self, lock: TicketLock) -> None:
        super().__init__(f"Ticket {lock.ticket_key} is already being processed in job {lock.job_id}")
        self.lock = lock


class JobStore:
    def __init__(self, js: JetStreamContext, buckets: Buckets, clock: Clock, lock_ttl_seconds: int) -> None:
        self._js = js
        self._jobs = buckets.jobs
        self._active = buckets.active
        self.clock = clock  # the time every writer of job records uses
        self._lock_ttl = lock_ttl_seconds

    # -- records -------------------------------------------------------------------

    async def create(self, record: JobRecord) -> None:
        await self._jobs.create(record.job_id, record.model_dump_json().encode())

    async def create_if_absent(self, record: JobRecord) -> bool:
        """Write `record` unless the job has one already; True when this call wrote it."""
        try:
            await self.create(record)
        except KeyWrongLastSequenceError:
            return False
        return True

    async def get(self, job_id: str) -> JobRecord | None:
        found = await self._get(job_id)
        return found.after if found else None

    async def _get(self, job_id: str) -> Updated | None:
        try:
            entry = await read(self._jobs, job_id)
        except (KeyNotFoundError, InvalidKeyError):  # an id that is not even a valid key is unknown
            return None
        record = JobRecord.model_validate_json(entry.value)
        return Updated(before=record, after=record, revision=entry.revision)

    async def update(self, job_id: str, change: Change, *, known: Updated | None = None) -> Updated:
        """Apply `change` with compare-and-set; return the record before and after.

        `change` gets a copy of the latest record and returns the new one, or None to
        leave it as it is. It may run several times, so it must not have side effects.
        `known`, the result of this writer's previous update, saves a read when no one
        else wrote in between.
        """
        current = known
        for attempt in range(CAS_ATTEMPTS):
            if current is None:
                current = await self._get(job_id)
                if current is None:
                    raise JobNotFoundError(job_id)
            before = current.after
            # A private copy for `change` to edit; re-reading JSON is cheaper than a deep copy.
            after = change(JobRecord.model_validate_json(before.model_dump_json()))
            if after is None:
                return Updated(before=before, after=before, revision=current.revision)
            after.updated_at = self.clock.now()
            try:
                revision = await self._jobs.update(job_id, after.model_dump_json().encode(), last=current.revision)
            except KeyWrongLastSequenceError:
                current = None
                await _back_off(attempt)
                continue
            return Updated(before=before, after=after, revision=revision)
        raise JobConflictError(f"job {job_id}: gave up after {CAS_ATTEMPTS} concurrent updates")

    async def is_queued(self, record: JobRecord) -> bool:
        """Whether the job's message is still in the work queue (not yet acked by a worker)."""
        return await self._queued_message(record.job_type, record.job_id) is not None

    async def queued(self, job_type: str, job_id: str) -> JobRecord | None:
        """The job as its message in the work queue carries it, if it is there."""
        message = await self._queued_message(job_type, job_id)
        return queued_record(message.data) if message is not None else None

    async def _queued_message(self, job_type: str, job_id: str) -> RawStreamMsg | None:
        try:
            return await self._js.get_last_msg(layout.JOBS_STREAM, layout.job_subject(job_type, job_id))
        except NotFoundError:
            return None

    # -- ticket locks --------------------------------------------------------------

    async def lock_ticket(self, ticket_key: str, job_id: str, job_type: str) -> None:
        """Make `job_id` the one job working on the ticket, or raise TicketBusyError."""
        value = json.dumps({"job_id": job_id, "job_type": job_type, "locked_at": self.clock.now().isoformat()}).encode()
        for _ in range(CAS_ATTEMPTS):
            try:
                await self._active.create(ticket_key, value, msg_ttl=self._lock_ttl)
                return
            except KeyWrongLastSequenceError:
                pass
            holder = await self.ticket_lock(ticket_key)
            if holder is None:
                continue  # released in between; try again
            if holder.job_id == job_id:
                return  # queued again after a crash between locking and recording
            if not await self._is_abandoned(holder):
                raise TicketBusyError(holder)
            try:
                await self._active.update(ticket_key, value, last=holder.revision)
            except KeyWrongLastSequenceError:
                continue
            log.warning("took over an abandoned ticket lock", ticket_key=ticket_key, abandoned_job_id=holder.job_id)
            await self._fail_abandoned(holder.job_id)
            return
        raise JobConflictError(f"ticket {ticket_key}: gave up after {CAS_ATTEMPTS} concurrent lock attempts")

    async def ticket_lock(self, ticket_key: str) -> TicketLock | None:
        try:
            entry = await read(self._active, ticket_key)
        except (KeyNotFoundError, InvalidKeyError):
            return None
        data = json.loads(entry.value)
        return TicketLock(
            ticket_key=ticket_key,
            job_id=data["job_id"],
            job_type=data["job_type"],
            locked_at=datetime.fromisoformat(data["locked_at"]),
            revision=entry.revision,
        )

    async def release_tickets(self, record: JobRecord) -> None:
        """Drop the job's locks; a lock another job holds by now is left alone."""
        for ticket_key in record.ticket_keys:
            await self.release_ticket(ticket_key, record.job_id)

    async def release_ticket(self, ticket_key: str, job_id: str) -> None:
        holder = await self.ticket_lock(ticket_key)
        if holder is None or holder.job_id != job_id:
            return
        with contextlib.suppress(APIError):  # taken over in between: no longer ours to release
            await self._active.delete(ticket_key, last=holder.revision)

    async def _fail_abandoned(self, job_id: str) -> None:
        reason = "Never queued: the process that accepted this job stopped before queuing it"
        with contextlib.suppress(JobNotFoundError):
            await self.update(job_id, partial(transitions.fail, now=self.clock.now(), reason=reason))

    async def _is_abandoned(self, lock: TicketLock) -> bool:
        """A lock is abandoned when its job ended without releasing it, or never got going."""
        holder = await self.get(lock.job_id)
        age = (self.clock.now() - lock.locked_at).total_seconds()
        if holder is None:
            return age > ORPHAN_LOCK_GRACE_SECONDS
        if holder.status.is_final:
            return True
        if holder.status is JobStatus.started and holder.attempts == 0 and age > ORPHAN_LOCK_GRACE_SECONDS:
            return not await self.is_queued(holder)
        return False


async def _back_off(attempt: int) -> None:
    # Jitter spreads writers that collided, so they do not collide again in lockstep.
    await asyncio.sleep(random.uniform(0, CAS_BACKOFF_SECONDS * (attempt + 1)))


def queued_record(data: bytes | None) -> JobRecord | None:
    """The record a job message carries (the API queues before it records), or None for a
    message of an older version that carried only the job id."""
    try:
        return JobRecord.model_validate_json(data or b"")
    except ValidationError:
        return None
