"""The worker: a short loop per pipeline over its durable pull consumer.

Rules, all explicit here. Attempts are counted by Augment in the job record, never by
JetStream's delivery count:
- at most `limits.concurrency` jobs per pipeline in this process; `max_ack_pending`
  bounds the whole cluster;
- a running job tells JetStream it is alive every third of `ack_wait`, so only a dead
  worker's job is redelivered;
- every time a worker takes a job is a *delivery* (`deliveries`); an *attempt*
  (`attempts`) spans deliveries: a job handed back on SIGTERM, or redelivered after its
  worker died having made progress (`progress.processed` above where it was when that
  worker took the job), resumes the same attempt. So a batch that keeps advancing
  survives any number of restarts and crashes;
- an attempt fails (`failed_attempts`) when the handler raises, or when its worker
  stopped responding (a crash, or no heartbeat for `ack_wait`) with no progress since
  it took the job; a crash is seen by the delivery that follows it. A failed attempt is
  retried after `retry_backoff_seconds[n]`; at `max_attempts` failed attempts the job is
  `failed` with the reason and its record goes to the dead-letter stream;
- a job delivered `limits.max_deliveries` times without ending is failed too, through
  the max-deliveries advisory: JetStream's `max_deliver` is only a safety net;
- a job whose record is missing was published by an API that stopped before recording
  it: the message carries the record, and the worker writes it (create-if-absent);
- on stop, fetching ends, running jobs get `drain_timeout_seconds` to finish, and the
  rest are handed back to the queue at once: a hand-back is not a failed attempt.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Awaitable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import structlog
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError
from pydantic import BaseModel

from bot.config import LimitSettings
from bot.events import EventConsumer
from bot.jetstream import layout
from bot.jetstream.heartbeat import keep_claimed
from bot.jobs.context import JobCancelledError, JobContext, PermanentJobError
from bot.jobs.pipeline import JobRoute, Pipeline, Registry
from bot.jobs.replies import announce_end
from bot.jobs.store import JobNotFoundError, Updated, queued_record
from bot.logs import redact
from schemas.jobs import JobRecord, JobStatus, utc_now

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = structlog.get_logger(__name__)

FETCH_WAIT_SECONDS = 0.5
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
        self._pipelines = [pipeline for pipeline in pipelines if pipeline.routes]
        registry = Registry.of(list(pipelines))
        self._event_consumers = [
            EventConsumer(runtime, pipeline, registry) for pipeline in pipelines if pipeline.events
        ]
        self._limits = runtime.settings.limits
        self.identity = worker_identity()
        self._stopping = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._running: set[asyncio.Task[None]] = set()
        self._subscriptions: list[Any] = []

    async def start(self) -> None:
        for pipeline in self._pipelines:
            consumer = await self._ensure_consumer(pipeline)
            subscription = await self._js.pull_subscribe_bind(consumer, stream=layout.JOBS_STREAM)
            self._loops.append(
                asyncio.create_task(self._consume(pipeline, subscription), name=f"worker-{pipeline.name}")
            )
            advisories = await self._nc.subscribe(
                layout.max_deliveries_advisory(consumer), queue=DEAD_LETTER_QUEUE_GROUP, cb=self._on_max_deliveries
            )
            self._subscriptions += [subscription, advisories]
        for consumer in self._event_consumers:
            await consumer.start()
        log.info(
            "worker started",
            worker=self.identity,
            pipelines=[pipeline.name for pipeline in self._pipelines],
            event_consumers=[consumer.name for consumer in self._event_consumers],
        )

    async def stop(self) -> None:
        self._stopping.set()
        await asyncio.gather(*self._loops, return_exceptions=True)
        drain = self._limits.drain_timeout_seconds
        # Events and jobs drain side by side: one drain timeout in all, not one after the other.
        events = [asyncio.create_task(consumer.stop(drain)) for consumer in self._event_consumers]
        if self._running:
            log.info("draining jobs", running=len(self._running), timeout=drain)
            _, unfinished = await asyncio.wait(set(self._running), timeout=drain)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
        await asyncio.gather(*events, return_exceptions=True)
        for subscription in self._subscriptions:
            await subscription.unsubscribe()
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

    async def _consume(self, pipeline: Pipeline, subscription: JetStreamContext.PullSubscription) -> None:
        concurrency = self._limits.concurrency
        mine: set[asyncio.Task[None]] = set()
        while not self._stopping.is_set():
            if len(mine) >= concurrency:
                await asyncio.wait(mine, return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                messages = await subscription.fetch(batch=concurrency - len(mine), timeout=FETCH_WAIT_SECONDS)
            except (NatsTimeoutError, TimeoutError):  # nothing queued right now
                continue
            except Exception as err:
                log.warning("fetch failed; retrying", pipeline=pipeline.name, error=str(err) or type(err).__name__)
                await asyncio.sleep(FETCH_WAIT_SECONDS)
                continue
            for message in messages:
                task = asyncio.create_task(self._run(pipeline, message))
                for tasks in (mine, self._running):
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)

    async def _run(self, pipeline: Pipeline, message: Msg) -> None:
        job_id = layout.job_id_from_subject(message.subject)
        structlog.contextvars.bind_contextvars(job_id=job_id)
        try:
            claimed = await self._claim(job_id, message)
            if claimed is not None:
                await self._work(pipeline.routes[claimed.after.job_type], claimed, message)
        finally:
            structlog.contextvars.unbind_contextvars("job_id", "ticket_key")

    async def _claim(self, job_id: str, message: Msg) -> Updated | None:
        """The record, claimed for this worker; None when there is nothing to run."""
        claim = partial(_claim, worker=self.identity, max_attempts=self._limits.max_attempts)
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
        try:
            result = await _within(self._timeout(route), route.handler(context))
        except JobCancelledError:
            await self._finish(context.record, message)
        except asyncio.CancelledError:
            await asyncio.shield(self._hand_back(record.job_id, message))
            raise
        except PermanentJobError as err:
            await self._fail(record.job_id, _describe(err), message, status=err.status)
        except Exception as err:
            await self._attempt_failed(record.job_id, _describe(err), message)
        else:
            await self._complete(context, result, message)
        finally:
            heartbeat.cancel()

    def _timeout(self, route: JobRoute) -> float:
        return route.timeout_seconds or self._limits.job_timeout_seconds

    async def _complete(self, context: JobContext, result: Any, message: Msg) -> None:
        payload = result.model_dump(mode="json") if isinstance(result, BaseModel) else result

        def complete(record: JobRecord) -> JobRecord | None:
            if record.status.is_final:
                return None  # cancelled during its last step: the cancellation stands
            record.status = JobStatus.completed
            record.result = payload
            record.error = None
            record.completed_at = utc_now()
            record.progress.message = "Completed successfully"
            if record.progress.total is not None:
                record.progress.processed = record.progress.total
            return record

        record = (await self._store.update(context.job_id, complete, known=context.latest)).after
        await self._finish(record, message)
        log.info("job completed", status=record.status.value)

    async def _finish(self, record: JobRecord, message: Msg) -> None:
        await self._store.release_tickets(record)
        await announce_end(self._js, record)
        await message.ack()

    async def _attempt_failed(self, job_id: str, reason: str, message: Msg) -> None:
        """Retry after the backoff, or fail the job when this was its last attempt."""
        limits = self._limits
        change = partial(_fail_attempt, reason=reason, limits=limits)
        updated = await self._store.update(job_id, change)
        record = updated.after
        if record.status is JobStatus.failed and not updated.before.status.is_final:
            await self._bury(record, message)
            return
        if record.status.is_final:  # cancelled meanwhile
            await self._finish(record, message)
            return
        delay = _backoff(limits, record.failed_attempts)
        log.warning("job attempt failed; will retry", attempt=record.attempts, delay=delay, error=reason)
        await message.nak(delay=delay)

    async def _fail(self, job_id: str, reason: str, message: Msg | None, status: int | None = None) -> None:
        """Fail the job now, whatever its attempts."""
        try:
            updated = await self._store.update(job_id, lambda record: _failed(record, reason, status))
        except JobNotFoundError:
            updated = None
        if updated is not None and updated.after.status is JobStatus.failed and not updated.before.status.is_final:
            await self._bury(updated.after, message)
        elif message is not None:
            await message.term()

    async def _bury(self, record: JobRecord, message: Msg | None) -> None:
        """A job that just failed: keep it in the dead-letter stream, free its tickets, say so."""
        await self._js.publish(
            layout.dead_letter_subject(record.job_type, record.job_id),
            record.model_dump_json().encode(),
            headers={"Nats-Msg-Id": f"dead-{record.job_id}"},
            stream=layout.DEAD_LETTER_STREAM,
        )
        await self._store.release_tickets(record)
        await announce_end(self._js, record)
        log.error("job failed", error=record.error)
        if message is not None:
            await message.term()

    async def _hand_back(self, job_id: str, message: Msg) -> None:
        """The worker is stopping: let another worker resume the job at once, in the same attempt."""

        def requeue(record: JobRecord) -> JobRecord | None:
            if record.status.is_final:
                return None
            record.status = JobStatus.started
            record.progress.message = "Interrupted by a worker shutdown; waiting for another worker"
            return record

        try:
            await self._store.update(job_id, requeue)
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


STOPPED_RESPONDING = (
    "The worker stopped responding with no progress since it took the job (it crashed, or sent no heartbeat "
    "for limits.ack_wait_seconds)"
)


def _processed(record: JobRecord) -> int:
    return record.progress.processed or 0


def _claim(record: JobRecord, *, worker: str, max_attempts: int) -> JobRecord | None:
    """Take the job for `worker`; a job still `processing` lost its previous worker."""
    if record.status.is_final:
        return None
    if record.status is JobStatus.processing and _processed(record) <= record.processed_at_delivery:
        record.failed_attempts += 1
        if record.failed_attempts >= max_attempts:
            return _failed(record, f"{STOPPED_RESPONDING} (gave up after {record.attempts} attempts)")
        record.error = STOPPED_RESPONDING
    record.status = JobStatus.processing
    record.deliveries += 1
    record.attempts = record.failed_attempts + 1
    record.processed_at_delivery = _processed(record)
    record.worker = worker
    record.started_at = record.started_at or utc_now()
    if record.attempts > 1:
        record.progress.message = f"Processing (attempt {record.attempts})"
    else:
        record.progress.message = "Processing" if record.deliveries == 1 else "Processing (resumed)"
    return record


def _fail_attempt(record: JobRecord, *, reason: str, limits: LimitSettings) -> JobRecord | None:
    if record.status.is_final:
        return None
    record.failed_attempts += 1
    if record.failed_attempts >= limits.max_attempts:
        return _failed(record, f"{reason} (gave up after {record.attempts} attempts)")
    delay = _backoff(limits, record.failed_attempts)
    record.status = JobStatus.started
    record.error = reason
    record.progress.message = (
        f"Attempt {record.attempts} of {limits.max_attempts} failed: {reason}; retrying in {delay:g}s"
    )
    return record


def _failed(record: JobRecord, reason: str, status: int | None = None) -> JobRecord | None:
    if record.status.is_final:
        return None
    record.status = JobStatus.failed
    record.error = reason
    record.error_status = status
    record.completed_at = utc_now()
    record.progress.message = f"Failed: {reason}"
    return record


def _backoff(limits: LimitSettings, failed_attempts: int) -> float:
    backoff = limits.retry_backoff_seconds
    return backoff[min(failed_attempts - 1, len(backoff) - 1)]


def _describe(err: BaseException) -> str:
    return redact(str(err) or type(err).__name__)
