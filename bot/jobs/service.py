"""The API side of jobs: submit (lock tickets, record, queue), wait, list, cancel.

It knows no job type: a request is any model, a ticket's work is the JSON its pipeline
stored (`ticket_work`), and the handler of the job type reads it with its own model.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from nats.js.errors import InvalidKeyError, KeyNotFoundError
from pydantic import BaseModel

from bot.jetstream import layout
from bot.jetstream.entries import read
from bot.jobs.store import JobNotFoundError
from bot.jobs.watch import JobWatch, Listener
from schemas.jobs import JobList, JobListQuery, JobRecord, JobStatus, JobSummary, JobType

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RecordPage:
    """A page of whole job records, newest first."""

    records: list[JobRecord]
    total: int
    next_cursor: str | None


class JobService:
    def __init__(self, runtime: Runtime, watch: JobWatch) -> None:
        self._store = runtime.store
        self._queue = runtime.queue
        self._watch = watch
        self._results = runtime.buckets.results

    async def submit(
        self,
        job_type: JobType,
        request: BaseModel,
        ticket_keys: Sequence[str] = (),
        *,
        wait_seconds: float | None = None,
        message: str = "Queued",
    ) -> JobRecord:
        """Queue a job; with `wait_seconds`, wait that long for it to end.

        Raises `bot.jobs.store.TicketBusyError` when another active job holds a ticket.
        The returned record is final when the job ended in time, else as queued.
        """
        job_id = str(uuid.uuid4())
        ended = self._watch.expect(job_id) if wait_seconds is not None else None
        try:
            record = await self._queue.enqueue(job_type, request, ticket_keys, message=message, job_id=job_id)
        except BaseException:
            if ended is not None:
                self._watch.forget(job_id, ended)
            raise
        self._watch.index.add(record)  # listed at once, not only when the watcher catches up
        if ended is None:
            return record
        return await self._wait(record, ended, wait_seconds or 0.0)

    async def _wait(self, record: JobRecord, ended: asyncio.Future[JobRecord], seconds: float) -> JobRecord:
        try:
            return await asyncio.wait_for(asyncio.shield(ended), seconds)
        except TimeoutError:
            self._watch.forget(record.job_id, ended)
            return await self.get(record.job_id)

    async def get(self, job_id: str) -> JobRecord:
        record = await self._store.get(job_id)
        if record is None:
            raise JobNotFoundError(job_id)
        return record

    async def list(self, query: JobListQuery) -> JobList:
        page = await self.records(status=query.status, job_type=query.job_type, limit=query.limit, cursor=query.cursor)
        return JobList(
            jobs=[JobSummary.of(record) for record in page.records],
            total=page.total,
            limit=query.limit,
            next_cursor=page.next_cursor,
        )

    async def records(
        self,
        *,
        status: JobStatus | None = None,
        job_type: JobType | None = None,
        ticket_key: str | None = None,
        limit: int,
        cursor: str | None = None,
    ) -> RecordPage:
        """A page of records, newest first; `ticket_key`: only jobs that worked on that ticket.
        Raises `bot.jobs.watch.InvalidCursorError` for a cursor no page returned."""
        page = self._watch.index.page(
            status=status,
            job_type=job_type,
            limit=limit,
            cursor=cursor,
            ticket_key=ticket_key.upper() if ticket_key else None,
        )
        records = await asyncio.gather(*(self._store.get(job_id) for job_id in page.job_ids))
        return RecordPage([record for record in records if record is not None], page.total, page.next_cursor)

    @contextmanager
    def following(self) -> Iterator[Listener]:
        """Every job record that changes while the block runs (see `JobWatch.listening`)."""
        with self._watch.listening() as listener:
            yield listener

    def stop_following(self) -> None:
        """End every follower: the process shuts down, and aiohttp waits for open requests."""
        self._watch.close_listeners()

    async def for_ticket(self, ticket_key: str) -> JobRecord | None:
        """The active job on the ticket, else the latest one that touched it."""
        ticket_key = ticket_key.upper()
        lock = await self._store.ticket_lock(ticket_key)
        if lock is not None and (active := await self._store.get(lock.job_id)) is not None:
            return active
        latest = self._watch.index.latest_for_ticket(ticket_key)
        return await self._store.get(latest) if latest else None

    async def ticket_work(self, job_id: str, ticket_key: str) -> dict[str, Any] | None:
        """A ticket's `draft`, `plan` and `applied` operations, as JSON: in the results bucket
        for a multi-ticket job, in the record itself (its result, plan and applied) for a
        single-ticket one."""
        ticket_key = ticket_key.upper()
        try:
            entry = await read(self._results, layout.ticket_result_key(job_id, ticket_key))
            return json.loads(entry.value)
        except (KeyNotFoundError, InvalidKeyError):
            pass
        record = await self._store.get(job_id)
        if record is None or record.plan is None or record.result is None or record.ticket_keys != [ticket_key]:
            return None
        return {"draft": record.result, **record.model_dump(mode="json", include={"plan", "applied"})}

    async def cancel(self, job_id: str) -> JobRecord:
        """A queued job never starts; a running one stops at its next step."""
        return await self._queue.cancel(job_id)
