"""The worker: a short loop per pipeline over its durable pull consumer.

Rules, all explicit here:
- at most `limits.concurrency` jobs per pipeline in this process; `max_ack_pending`
  bounds the whole cluster;
- a running job tells JetStream it is alive every third of `ack_wait`, so only a dead
  worker's job is redelivered;
- a failed attempt is retried after `retry_backoff_seconds[attempt]`; after
  `max_attempts` the job is `failed` with the reason and its message goes to the
  dead-letter stream; a worker that dies on the last attempt is caught by the
  max-deliveries advisory and treated the same way;
- on stop, fetching ends, running jobs get `drain_timeout_seconds` to finish, and
  the rest are handed back to the queue at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any

import structlog
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError
from pydantic import BaseModel

from bot.events import EventConsumer
from bot.jetstream import layout
from bot.jetstream.heartbeat import keep_claimed
from bot.jobs.context import JobCancelledError, JobContext, PermanentJobError
from bot.jobs.pipeline import JobRoute, Pipeline, Registry
from bot.jobs.replies import announce_end
from bot.jobs.store import JobNotFoundError
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
            max_deliver=self._limits.max_attempts,
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
        attempt = message.metadata.num_delivered
        structlog.contextvars.bind_contextvars(job_id=job_id)
        try:
            claimed = await self._store.update(job_id, lambda current: _claim(current, attempt, self.identity))
        except JobNotFoundError:
            log.warning("job record missing (expired?); message dropped", subject=message.subject)
            await message.term()
            return
        record = claimed.after
        if record.status.is_final:  # cancelled while queued, or finished by an earlier delivery
            await self._finish(record, message)
            return
        if record.ticket_keys:
            structlog.contextvars.bind_contextvars(ticket_key=record.ticket_keys[0])
        route = pipeline.routes[record.job_type]
        context = JobContext(self._runtime, claimed, attempt, self.identity)
        heartbeat = asyncio.create_task(keep_claimed(message, self._limits.ack_wait_seconds))
        try:
            result = await _within(self._timeout(route), route.handler(context))
        except JobCancelledError:
            await self._finish(context.record, message)
        except asyncio.CancelledError:
            await asyncio.shield(self._hand_back(job_id, message))
            raise
        except PermanentJobError as err:
            await self._dead_letter(job_id, _describe(err), message, status=err.status)
        except Exception as err:
            await self._retry_or_dead_letter(job_id, attempt, err, message)
        else:
            await self._complete(context, result, message)
        finally:
            heartbeat.cancel()
            structlog.contextvars.unbind_contextvars("job_id", "ticket_key")

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

    async def _retry_or_dead_letter(self, job_id: str, attempt: int, err: Exception, message: Msg) -> None:
        reason = _describe(err)
        if attempt >= self._limits.max_attempts:
            await self._dead_letter(job_id, f"{reason} (gave up after {attempt} attempts)", message)
            return
        backoff = self._limits.retry_backoff_seconds
        delay = backoff[min(attempt - 1, len(backoff) - 1)]

        def requeue(record: JobRecord) -> JobRecord | None:
            if record.status.is_final:
                return None
            record.status = JobStatus.started
            record.error = reason
            record.progress.message = (
                f"Attempt {attempt} of {self._limits.max_attempts} failed: {reason}; retrying in {delay:g}s"
            )
            return record

        record = (await self._store.update(job_id, requeue)).after
        if record.status.is_final:
            await self._finish(record, message)
            return
        log.warning("job attempt failed; will retry", attempt=attempt, delay=delay, error=reason)
        await message.nak(delay=delay)

    async def _dead_letter(self, job_id: str, reason: str, message: Msg | None, status: int | None = None) -> None:
        def fail(record: JobRecord) -> JobRecord | None:
            if record.status.is_final:
                return None
            record.status = JobStatus.failed
            record.error = reason
            record.error_status = status
            record.completed_at = utc_now()
            record.progress.message = f"Failed: {reason}"
            return record

        try:
            record = (await self._store.update(job_id, fail)).after
        except JobNotFoundError:
            record = None
        if record is not None and record.status is JobStatus.failed:
            await self._js.publish(
                layout.dead_letter_subject(record.job_type, job_id),
                record.model_dump_json().encode(),
                headers={"Nats-Msg-Id": f"dead-{job_id}"},
                stream=layout.DEAD_LETTER_STREAM,
            )
            await self._store.release_tickets(record)
            await announce_end(self._js, record)
            log.error("job failed", error=reason)
        if message is not None:
            await message.term()

    async def _hand_back(self, job_id: str, message: Msg) -> None:
        """The worker is stopping: let another worker resume the job at once."""

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
        """A job whose worker died on its last attempt: fail it like any exhausted job."""
        data = json.loads(advisory.data)
        try:
            stored = await self._js.get_msg(layout.JOBS_STREAM, seq=data["stream_seq"])
        except NotFoundError:
            return
        job_id = layout.job_id_from_subject(stored.subject)
        structlog.contextvars.bind_contextvars(job_id=job_id)
        try:
            reason = (
                f"The worker stopped responding on each of {data.get('deliveries', '?')} attempts "
                "(it crashed or exceeded ack_wait)"
            )
            await self._dead_letter(job_id, reason, message=None)
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


def _claim(record: JobRecord, attempt: int, worker: str) -> JobRecord | None:
    if record.status.is_final:
        return None
    record.status = JobStatus.processing
    record.attempts = attempt
    record.worker = worker
    record.started_at = record.started_at or utc_now()
    record.progress.message = "Processing" if attempt == 1 else f"Processing (attempt {attempt})"
    return record


def _describe(err: BaseException) -> str:
    return redact(str(err) or type(err).__name__)
