"""Recovering jobs whose queue message was lost, so no job waits for ever holding its tickets.

Each API process sweeps when it starts and then every `SWEEP_INTERVAL_SECONDS`: a job
that has not ended, has no message in the work queue, and whose record has not changed
for `ORPHAN_LOCK_GRACE_SECONDS` is queued again, and the worker that takes it counts
attempts as usual (a job left `processing` is one whose worker died). This version never
leaves such a job (the API publishes before it records, and every end is recorded before
its message is removed), but an older API that recorded first and died before
publishing, or a purged stream, does.

Locks need no sweep: one whose job ended, or whose job was never recorded nor queued
(the API died between locking and publishing) for the grace period, is taken over by
the next request for the ticket (`JobStore.lock_ticket`).

API processes may sweep at the same time: a requeue is a compare-and-set on the record
first, so only one of them publishes. Ages are measured with the store's clock, the one
that stamped `updated_at`.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from functools import partial

import structlog
from nats.js import JetStreamContext

from bot.jetstream import layout
from bot.jobs import transitions
from bot.jobs.queue import publish
from bot.jobs.store import ORPHAN_LOCK_GRACE_SECONDS, JobStore
from bot.jobs.watch import JobWatch

log = structlog.get_logger(__name__)

SWEEP_INTERVAL_SECONDS = 15.0


class Sweeper:
    def __init__(self, js: JetStreamContext, store: JobStore, watch: JobWatch) -> None:
        self._js = js
        self._store = store
        self._watch = watch
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._every_interval(), name="job-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def sweep(self) -> None:
        queued = await self._queued_job_ids()
        for job_id in self._watch.index.unfinished():
            if job_id not in queued:
                await self._requeue_if_lost(job_id)

    async def _every_interval(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception as err:  # NATS away: the next sweep tries again
                log.warning("job sweep failed", error=str(err) or type(err).__name__)
            await asyncio.sleep(SWEEP_INTERVAL_SECONDS)

    async def _queued_job_ids(self) -> set[str]:
        """The jobs with a message in the work queue (one subject per job)."""
        info = await self._js.stream_info(layout.JOBS_STREAM, subjects_filter=">")
        return {layout.job_id_from_subject(subject) for subject in info.state.subjects or {}}

    async def _requeue_if_lost(self, job_id: str) -> None:
        record = await self._store.get(job_id)
        if record is None or record.status.is_final or not self._older_than_grace(record.updated_at):
            return
        if await self._store.is_queued(record):  # the listing above can be partial for a long queue
            return
        updated = await self._store.update(job_id, partial(transitions.mark_requeued, seen=record.updated_at))
        if updated.after is updated.before:  # ended or changed meanwhile, or another sweeper won
            return
        await publish(self._js, updated.after, message_id=layout.requeue_message_id(job_id, updated.revision))
        log.warning("job queued again: its message was lost", job_id=job_id, status=record.status.value)

    def _older_than_grace(self, moment: datetime) -> bool:
        # The store's clock stamped `moment`, so the same clock measures its age.
        return (self._store.clock.now() - moment).total_seconds() > ORPHAN_LOCK_GRACE_SECONDS
