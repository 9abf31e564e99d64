"""Queueing a job: lock its tickets, publish it on the work queue, then write its record.

The queue is the truth: the message carries the whole record as queued, so a process
that stops between publishing and recording loses nothing (the worker that takes the
job writes the record, create-if-absent). A job is accepted once it is published; if
publishing fails, its tickets are released and it is recorded as failed. A process that
stops between locking and publishing leaves only a lock whose job does not exist: the
next request for the ticket takes it over after a grace period (`JobStore.lock_ticket`).

Used by the REST API (a new job per request) and by the triggers pipeline, which gives
each job an id derived from the webhook that caused it: a redelivered event then finds
its job already queued instead of queueing a second one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import partial

import structlog
from nats.js import JetStreamContext
from pydantic import BaseModel

from bot import metrics
from bot.jetstream import layout
from bot.jobs import transitions
from bot.jobs.replies import announce_end
from bot.jobs.store import JobStore
from schemas.jobs import JobRecord, JobStatus, JobType, Progress, TicketReply

log = structlog.get_logger(__name__)

UNQUEUED = "Could not be queued: NATS did not accept the job"


class JobAlreadyFinishedError(Exception):
    def __init__(self, record: JobRecord) -> None:
        super().__init__(f"Job {record.job_id} already {record.status.value}")
        self.record = record


async def publish(js: JetStreamContext, record: JobRecord, *, message_id: str | None = None) -> None:
    """Put the job on the work queue; its message carries the record as queued.

    `message_id` (default: the job id) lets JetStream drop a second publish of the same message.
    """
    await js.publish(
        layout.job_subject(record.job_type, record.job_id),
        record.model_dump_json().encode(),
        headers={layout.MESSAGE_ID_HEADER: message_id or record.job_id},
        stream=layout.JOBS_STREAM,
    )


class JobQueue:
    def __init__(self, js: JetStreamContext, store: JobStore) -> None:
        self._js = js
        self._store = store

    async def enqueue(
        self,
        job_type: JobType,
        request: BaseModel,
        ticket_keys: Sequence[str] = (),
        *,
        message: str = "Queued",
        job_id: str | None = None,
        reuse: bool = False,
        reply: TicketReply | None = None,
    ) -> JobRecord:
        """The record as queued. With `reuse`, `job_id` may name a job queued before (by an
        earlier delivery of the same webhook): its record is returned instead.

        Raises `bot.jobs.store.TicketBusyError` when another active job holds a ticket.
        """
        if reuse and job_id is not None and (existing := await self._known(job_type, job_id)) is not None:
            return existing
        now = self._store.clock.now()
        record = JobRecord(
            job_id=job_id or str(uuid.uuid4()),
            job_type=job_type,
            ticket_keys=[key.upper() for key in ticket_keys],
            request=request.model_dump(mode="json"),
            progress=Progress(message=message),
            reply=reply,
            created_at=now,
            updated_at=now,
        )
        await self._lock_tickets(record)
        structlog.contextvars.bind_contextvars(job_id=record.job_id)
        try:
            await publish(self._js, record)
        except BaseException:
            await self._undo(record)
            raise
        try:
            # False when a worker took the job first, or the same id was queued concurrently.
            await self._store.create_if_absent(record)
        except Exception as err:  # queued all the same: the worker that takes it records it
            log.warning("job queued but not recorded yet", error=str(err) or type(err).__name__)
        log.info("job queued", job_type=job_type.value, ticket_keys=record.ticket_keys)
        return record

    async def cancel(self, job_id: str) -> JobRecord:
        """A queued job never starts; a running one stops at its next step.

        Raises JobNotFoundError for an unknown job, JobAlreadyFinishedError for a finished one.
        """
        change = await self._store.update(job_id, partial(transitions.cancel, now=self._store.clock.now()))
        before, after = change.before, change.after
        if before.status.is_final:
            raise JobAlreadyFinishedError(before)
        metrics.job_end(after.job_type.value, JobStatus.cancelled.value).inc()
        if before.status is JobStatus.started:
            # No worker holds it: release its tickets and drop it from the queue now.
            await self._store.release_tickets(after)
            await announce_end(self._js, after)  # before the purge: a crash in between still gets it announced
            await self._js.purge_stream(layout.JOBS_STREAM, subject=layout.job_subject(after.job_type, job_id))
        log.info("job cancelled", job_id=job_id, was=before.status.value)
        return after

    async def _lock_tickets(self, record: JobRecord) -> None:
        locked: list[str] = []
        try:
            for key in record.ticket_keys:
                await self._store.lock_ticket(key, record.job_id, record.job_type)
                locked.append(key)
        except BaseException:
            await self._store.release_tickets(record.model_copy(update={"ticket_keys": locked}))
            raise

    async def _known(self, job_type: JobType, job_id: str) -> JobRecord | None:
        """The job, recorded or still only queued."""
        return await self._store.get(job_id) or await self._store.queued(job_type, job_id)

    async def _undo(self, record: JobRecord) -> None:
        """Best effort after a failed publish: release the tickets and record the job as failed,
        so a worker drops it should the message have reached the queue after all. If NATS is
        gone, the lock is taken over as abandoned."""
        try:
            await self._store.release_tickets(record)
            fail = partial(transitions.fail, now=self._store.clock.now(), reason=UNQUEUED)
            failed = fail(record.model_copy(deep=True))
            if failed is not None and not await self._store.create_if_absent(failed):
                await self._store.update(record.job_id, fail)
        except Exception as err:
            log.warning("could not undo a failed submit", error=str(err) or type(err).__name__)


def job_id_for(origin: str) -> str:
    """A job id that is the same every time `origin` (a webhook and what it asked for) is seen."""
    return str(uuid.uuid5(_ORIGINS, origin))


_ORIGINS = uuid.UUID("5b0f3c58-6a36-4d0e-9a43-0b7e1f0a6d21")
