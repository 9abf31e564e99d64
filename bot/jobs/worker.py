"""The worker: a short loop per pipeline over its durable pull consumer.

Rules, all explicit here. Attempts are counted by Augment in the job record, never by
JetStream's delivery count:
- at most `limits.concurrency` jobs per pipeline in this process; `max_ack_pending`
  bounds the whole cluster;
- a running job tells JetStream it is alive every third of `ack_wait`, so only a dead
  worker's job is redelivered; a worker whose heartbeat was late (a stalled process) gets its
  own running job back and leaves it waiting; a job another worker took meanwhile is that
  worker's: each claim is a new `deliveries` number, and the earlier run stops at its next
  record write (`JobSupersededError`: before any create is sent) and never completes it;
- every time a worker takes a job is a *delivery* (`deliveries`); an *attempt*
  (`attempts`) spans deliveries: a job handed back on SIGTERM, or redelivered after its
  worker died having made progress (`progress.processed` above where it was when that
  worker took the job), resumes the same attempt. So a batch that keeps advancing
  survives any number of restarts and crashes;
- a handler's `PermanentJobError` fails the job at once (`bot.jobs.errors`); an attempt
  fails (`failed_attempts`) when the handler raises anything else, or when its worker
  stopped responding (a crash, or no heartbeat for `ack_wait`) with no progress since
  it took the job; a crash is seen by the delivery that follows it. A failed attempt is
  retried after `retry_backoff_seconds[n]`; at `max_attempts` failed attempts the job is
  `failed` with the reason and its record goes to the dead-letter stream;
- a job delivered `limits.max_deliveries` times without ending is failed too, through
  the max-deliveries advisory: JetStream's `max_deliver` is only a safety net;
- a job whose record is missing was published by an API that stopped before recording
  it: the message carries the record, and the worker writes it (create-if-absent);
- on stop, fetching ends at once (`bot.jetstream.pull`), running jobs get
  `drain_timeout_seconds` to finish, and the rest are handed back to the queue at once:
  a hand-back is not a failed attempt.
Every status change is a transition of `bot.jobs.transitions`, at the runtime's clock.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from collections.abc import Awaitable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import structlog
from nats.aio.msg import Msg
from nats.js import api
from nats.js.errors import NotFoundError
from pydantic import BaseModel

from bot import metrics
from bot.config import check_rule_actions
from bot.events import EventConsumer
from bot.jetstream import layout
from bot.jetstream.heartbeat import keep_claimed
from bot.jetstream.pull import PullLoop
from bot.jobs import transitions
from bot.jobs.context import JobCancelledError, JobContext, JobSupersededError
from bot.jobs.errors import JobError, PermanentJobError, http_status
from bot.jobs.pipeline import JobRoute, Pipeline, registry_of
from bot.jobs.replies import announce_end
from bot.jobs.store import JobNotFoundError, Updated, queued_record
from bot.logs import redact
from schemas.jobs import JobRecord, JobStatus

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = structlog.get_logger(__name__)

MAX_ACK_PENDING = 1024
DEAD_LETTER_QUEUE_GROUP = "augment-dead-letter"


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    def __init__(self, runtime: Runtime, pipelines: Sequence[Pipeline]) -> None:
        self._runtime = runtime
        self._nc = runtime.nc
        self._js = runtime.js
        self._store = runtime.store
        self._clock = runtime.clock
        self._pipelines = [pipeline for pipeline in pipelines if pipeline.routes]
        registry = registry_of(pipelines)
        check_rule_actions(runtime.settings.triggers.rules, registry.rule_actions)
        self._event_consumers = [
            EventConsumer(runtime, pipeline.name, pipeline.events, registry)
            for pipeline in pipelines
            if pipeline.events
        ]
        self._limits = runtime.settings.limits
        self.identity = worker_identity()
        self._loops: list[PullLoop] = []
        # Jobs running in this process: a redelivery of one (its heartbeat was late) waits.
        self._running: set[str] = set()
        self._advisories: list[Any] = []

    async def start(self) -> None:
        for pipeline in self._pipelines:
            consumer = await self._ensure_consumer(pipeline)
            subscription = await self._js.pull_subscribe_bind(consumer, stream=layout.JOBS_STREAM)
            loop = PullLoop(
                subscription,
                partial(self._run, pipeline),
                concurrency=self._limits.concurrency,
                name=f"worker-{pipeline.name}",
            )
            loop.start()
            self._loops.append(loop)
            advisories = await self._nc.subscribe(
                layout.max_deliveries_advisory(consumer), queue=DEAD_LETTER_QUEUE_GROUP, cb=self._on_max_deliveries
            )
            self._advisories.append(advisories)
        for events in self._event_consumers:
            await events.start()
        log.info(
            "worker started",
            worker=self.identity,
            pipelines=[pipeline.name for pipeline in self._pipelines],
            event_consumers=[consumer.name for consumer in self._event_consumers],
        )

    async def stop(self) -> None:
        drain = self._limits.drain_timeout_seconds
        running = sum(len(loop.running) for loop in self._loops)
        if running:
            log.info("draining jobs", running=running, timeout=drain)
        # Events and jobs drain side by side: one drain timeout in all, not one after the other.
        await asyncio.gather(
            *(loop.stop(drain) for loop in self._loops),
            *(consumer.stop(drain) for consumer in self._event_consumers),
            return_exceptions=True,
        )
        for advisories in self._advisories:
            await advisories.unsubscribe()
        log.info("worker stopped", worker=self.identity)

    async def _ensure_consumer(self, pipeline: Pipeline) -> str:
        name = layout.consumer_name(pipeline.name)
        config = api.ConsumerConfig(
            durable_name=name,
            filter_subjects=sorted(layout.job_subject_filter(job_type) for job_type in pipeline.routes),
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=self._limits.ack_wait_seconds,
            max_deliver=self._limits.max_deliveries,
            max_ack_pending=MAX_ACK_PENDING,
        )
        # Creating with the same name updates the editable fields of an existing consumer.
        await self._js.add_consumer(layout.JOBS_STREAM, config)
        return name

    async def _run(self, pipeline: Pipeline, message: Msg) -> None:
        """One job message, from its claim to its end (or its hand-back when the worker stops)."""
        job_id = layout.job_id_from_subject(message.subject)
        structlog.contextvars.bind_contextvars(job_id=job_id)
        try:
            if job_id in self._running:
                log.warning("job redelivered while it runs here (a late heartbeat); it waits")
                await message.nak(delay=self._limits.ack_wait_seconds)
                return
            self._running.add(job_id)
            if message.metadata.num_delivered > 1:
                metrics.JOB_REDELIVERIES.inc()
            try:
                claimed = await self._claim(job_id, message)
                if claimed is not None:
                    await self._work(pipeline.routes[claimed.after.job_type], claimed, message)
            finally:
                self._running.discard(job_id)
        finally:
            structlog.contextvars.unbind_contextvars("job_id", "ticket_key")

    async def _claim(self, job_id: str, message: Msg) -> Updated | None:
        """The record, claimed for this worker; None when there is nothing to run."""
        claim = partial(
            transitions.claim, now=self._clock.now(), worker=self.identity, max_attempts=self._limits.max_attempts
        )
        try:
            claimed = await self._store.update(job_id, claim)
        except JobNotFoundError:
            queued = queued_record(message.data)
            if queued is None:
                log.warning("job record missing (expired?); message dropped", subject=message.subject)
                await message.term()
                return None
            await self._store.create_if_absent(queued)  # the API stopped between queuing and recording
            claimed = await self._store.update(job_id, claim)
        record = claimed.after
        if record.status is JobStatus.failed and not claimed.before.status.is_final:
            await self._bury(record, message)  # its last attempt died with its worker
            return None
        if record.status.is_final:  # cancelled while queued, or finished by an earlier delivery
            await self._finish(record, message)
            return None
        return claimed

    async def _work(self, route: JobRoute, claimed: Updated, message: Msg) -> None:
        record = claimed.after
        if record.ticket_keys:
            structlog.contextvars.bind_contextvars(ticket_key=record.ticket_keys[0])
        context = JobContext(self._runtime, claimed, record.attempts, self.identity)
        heartbeat = asyncio.create_task(keep_claimed(message, self._limits.ack_wait_seconds))
        started = time.perf_counter()
        try:
            result = await _within(self._timeout(route), route.handler(context))
        except JobCancelledError:
            await self._finish(context.record, message)
        except JobSupersededError:
            # Another worker took it after this one looked dead; that run owns it now.
            log.warning("job claimed by a later delivery; this run stops")
        except asyncio.CancelledError:
            await asyncio.shield(self._hand_back(record.job_id, message))
            raise
        except Exception as err:
            ended = await self._failed(record.job_id, err, message)
            if ended:
                metrics.job_duration(record.job_type.value).observe(time.perf_counter() - started)
        else:
            if await self._complete(context, result, message):
                metrics.job_duration(record.job_type.value).observe(time.perf_counter() - started)
        finally:
            heartbeat.cancel()

    def _timeout(self, route: JobRoute) -> float:
        return route.timeout_seconds or self._limits.job_timeout_seconds

    async def _complete(self, context: JobContext, result: Any, message: Msg) -> bool:
        """Whether this run completed the job."""
        payload = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
        complete = partial(
            transitions.complete, now=self._clock.now(), result=payload, delivery=context.record.deliveries
        )
        record = (await self._store.update(context.job_id, complete, known=context.latest)).after
        if record.deliveries != context.record.deliveries:
            log.warning("job claimed by a later delivery; this run's result is dropped")
            return False
        await self._finish(record, message)
        log.info("job completed", status=record.status.value)
        if record.status is not JobStatus.completed:
            return False  # cancelled meanwhile: counted by whoever cancelled it
        metrics.job_end(record.job_type.value, JobStatus.completed.value).inc()
        return True

    async def _finish(self, record: JobRecord, message: Msg) -> None:
        await self._store.release_tickets(record)
        await announce_end(self._js, record)
        await message.ack()

    async def _failed(self, job_id: str, err: Exception, message: Msg) -> bool:
        """The handler raised: a permanent error fails the job now, anything else is a failed attempt.
        Whether the job ended failed."""
        concerns = err.concerns() if isinstance(err, JobError) else {}
        with structlog.contextvars.bound_contextvars(**concerns):
            if isinstance(err, PermanentJobError):
                return await self._fail(job_id, _describe(err), message, status=http_status(type(err)))
            return await self._attempt_failed(job_id, _describe(err), message)

    async def _attempt_failed(self, job_id: str, reason: str, message: Msg) -> bool:
        """Retry after the backoff, or fail the job when this was its last attempt (True)."""
        limits = self._limits
        change = partial(transitions.fail_attempt, now=self._clock.now(), reason=reason, limits=limits)
        updated = await self._store.update(job_id, change)
        record = updated.after
        if record.status is JobStatus.failed and not updated.before.status.is_final:
            await self._bury(record, message)
            return True
        if record.status.is_final:  # cancelled meanwhile
            await self._finish(record, message)
            return False
        delay = transitions.retry_delay(limits, record.failed_attempts)
        log.warning("job attempt failed; will retry", attempt=record.attempts, delay=delay, error=reason)
        await message.nak(delay=delay)
        return False

    async def _fail(self, job_id: str, reason: str, message: Msg | None, status: int | None = None) -> bool:
        """Fail the job now, whatever its attempts; whether this call failed it."""
        try:
            fail = partial(transitions.fail, now=self._clock.now(), reason=reason, status=status)
            updated = await self._store.update(job_id, fail)
        except JobNotFoundError:
            updated = None
        if updated is not None and updated.after.status is JobStatus.failed and not updated.before.status.is_final:
            await self._bury(updated.after, message)
            return True
        if message is not None:
            await message.term()
        return False

    async def _bury(self, record: JobRecord, message: Msg | None) -> None:
        """A job that just failed: keep it in the dead-letter stream, free its tickets, say so."""
        await self._js.publish(
            layout.dead_letter_subject(record.job_type, record.job_id),
            record.model_dump_json().encode(),
            headers={layout.MESSAGE_ID_HEADER: layout.dead_letter_message_id(record.job_id)},
            stream=layout.DEAD_LETTER_STREAM,
        )
        metrics.DEAD_LETTERS.inc()
        metrics.job_end(record.job_type.value, JobStatus.failed.value).inc()
        await self._store.release_tickets(record)
        await announce_end(self._js, record)
        log.error("job failed", error=record.error)
        if message is not None:
            await message.term()

    async def _hand_back(self, job_id: str, message: Msg) -> None:
        """The worker is stopping: let another worker resume the job at once, in the same attempt."""
        try:
            await self._store.update(job_id, transitions.hand_back)
            await message.nak()
        except Exception as err:
            log.warning("could not hand the job back; it is redelivered after ack_wait", error=str(err))

    async def _on_max_deliveries(self, advisory: Msg) -> None:
        """A job JetStream will not deliver again (`limits.max_deliveries`): fail it."""
        data = json.loads(advisory.data)
        try:
            stored = await self._js.get_msg(layout.JOBS_STREAM, seq=data["stream_seq"])
        except NotFoundError:
            return
        if stored.subject is None:
            return
        job_id = layout.job_id_from_subject(stored.subject)
        structlog.contextvars.bind_contextvars(job_id=job_id)
        try:
            reason = (
                f"Handed to a worker {data.get('deliveries', '?')} times (limits.max_deliveries) "
                "without ending: its workers kept stopping"
            )
            await self._fail(job_id, reason, message=None)
            await self._js.delete_msg(layout.JOBS_STREAM, data["stream_seq"])
        finally:
            structlog.contextvars.unbind_contextvars("job_id")


class JobTimeoutError(Exception):
    pass


async def _within(seconds: float, work: Awaitable[Any]) -> Any:
    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            return await work
    except TimeoutError as err:
        if deadline.expired():  # ours, not a handler's own network timeout
            raise JobTimeoutError(f"Timed out after {seconds:g}s") from err
        raise


def _describe(err: BaseException) -> str:
    return redact(str(err) or type(err).__name__)
