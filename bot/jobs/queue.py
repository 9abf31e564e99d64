"""Queueing a job: lock its tickets, write its record, publish it on the work queue.

Used by the REST API (a new job per request) and by the triggers pipeline, which gives
each job an id derived from the webhook that caused it: a redelivered event then finds
its job already queued instead of queueing a second one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

import structlog
from nats.js import JetStreamContext
from nats.js.errors import KeyWrongLastSequenceError
from pydantic import BaseModel

from bot.jetstream import layout
from bot.jobs.replies import announce_end
from bot.jobs.store import JobStore, failed_because
from schemas.jobs import JobRecord, JobStatus, JobType, Progress, TicketReply, utc_now

log = structlog.get_logger(__name__)


class JobAlreadyFinishedError(Exception):
    def __init__(self, record: JobRecord) -> None:
        super().__init__(f"Job {record.job_id} already {record.status.value}")
        self.record = record


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
        """The queued record. With `reuse`, `job_id` may name a job queued before (by an
        earlier delivery of the same webhook): its record is returned instead.

        Raises `bot.jobs.store.TicketBusyError` when another active job holds a ticket.
        """
        if reuse and job_id is not None and (existing := await self._store.get(job_id)) is not None:
            return existing
        record = JobRecord(
            job_id=job_id or str(uuid.uuid4()),
            job_type=job_type,
            ticket_keys=[key.upper() for key in ticket_keys],
            request=request.model_dump(mode="json"),
            progress=Progress(message=message),
            reply=reply,
        )
        await self._lock_tickets(record)
        structlog.contextvars.bind_contextvars(job_id=record.job_id)
        try:
            await self._store.create(record)
        except KeyWrongLastSequenceError:
            return await self._store.get(record.job_id) or record  # the same id queued concurrently
        except BaseException:
            await self._undo(record)
            raise
        try:
            await self._js.publish(
                layout.job_subject(record.job_type, record.job_id),
                json.dumps({"job_id": record.job_id}).encode(),
                headers={"Nats-Msg-Id": record.job_id},
                stream=layout.JOBS_STREAM,
            )
        except BaseException:
            await self._undo(record)
            raise
        log.info("job queued", job_type=job_type.value, ticket_keys=record.ticket_keys)
        return record

    async def cancel(self, job_id: str) -> JobRecord:
        """A queued job never starts; a running one stops at its next step.

        Raises JobNotFoundError for an unknown job, JobAlreadyFinishedError for a finished one.
        """
        change = await self._store.update(job_id, _cancel)
        before, after = change.before, change.after
        if before.status.is_final:
            raise JobAlreadyFinishedError(before)
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

    async def _undo(self, record: JobRecord) -> None:
        """Best effort after a failed submit; if NATS is gone the lock expires as abandoned."""
        try:
            await self._store.release_tickets(record)
            await self._store.update(record.job_id, _fail_unqueued)
        except Exception as err:
            log.warning("could not undo a failed submit", error=str(err) or type(err).__name__)


def _cancel(record: JobRecord) -> JobRecord | None:
    if record.status.is_final:
        return None
    record.status = JobStatus.cancelled
    record.completed_at = utc_now()
    record.progress.message = "Cancelled by request"
    return record


_fail_unqueued = failed_because("Could not be queued: NATS did not accept the job")


def job_id_for(origin: str) -> str:
    """A job id that is the same every time `origin` (a webhook and what it asked for) is seen."""
    return str(uuid.uuid5(_ORIGINS, origin))


_ORIGINS = uuid.UUID("5b0f3c58-6a36-4d0e-9a43-0b7e1f0a6d21")
