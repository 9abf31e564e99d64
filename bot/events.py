"""Event consumers: a short loop per pipeline over `AUGMENT_EVENTS`.

Rules, all explicit here:
- one durable consumer per pipeline, filtered to the subjects it handles; events that
  arrived while no worker ran are delivered when one starts;
- at most `limits.concurrency` events at a time per pipeline in this process;
- a handler that raises is retried after `EVENT_RETRY_SECONDS[attempt]`; after
  `EVENT_MAX_DELIVERIES` the event is dropped and logged with the reason;
- a handler has `limits.ack_wait_seconds` (heartbeats extend it) and
  `EVENT_TIMEOUT_SECONDS` in all.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext, api

from bot.jetstream import layout
from bot.jetstream.heartbeat import keep_claimed
from bot.jobs.pipeline import Pipeline, Registry
from bot.logs import redact
from bot.webhooks.intake import IDENTIFIER_HEADER

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = structlog.get_logger(__name__)

FETCH_WAIT_SECONDS = 0.5
EVENT_MAX_DELIVERIES = 5
EVENT_RETRY_SECONDS = (1.0, 5.0, 30.0, 120.0)
EVENT_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class EventContext:
    runtime: Runtime
    registry: Registry
    subject: str
    data: bytes
    identifier: str  # the webhook identifier: stable across redeliveries of the event
    attempt: int

    def json(self) -> Any:
        return json.loads(self.data)


class EventConsumer:
    def __init__(self, runtime: Runtime, pipeline: Pipeline, registry: Registry) -> None:
        self._runtime = runtime
        self._pipeline = pipeline
        self._registry = registry
        self._js = runtime.js
        self._concurrency = runtime.settings.limits.concurrency
        self._ack_wait = runtime.settings.limits.ack_wait_seconds
        self._stopping = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._subscription: JetStreamContext.PullSubscription | None = None

    @property
    def name(self) -> str:
        return self._pipeline.name

    async def start(self) -> None:
        name = layout.event_consumer_name(self._pipeline.name)
        config = api.ConsumerConfig(
            durable_name=name,
            filter_subjects=sorted(self._pipeline.events),
            deliver_policy=api.DeliverPolicy.ALL,
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=self._ack_wait,
            max_deliver=EVENT_MAX_DELIVERIES,
            max_ack_pending=self._concurrency * 8,
        )
        await self._js.add_consumer(layout.EVENTS_STREAM, config)
        self._subscription = await self._js.pull_subscribe_bind(name, stream=layout.EVENTS_STREAM)
        self._loop = asyncio.create_task(self._consume(self._subscription), name=f"events-{self._pipeline.name}")

    async def stop(self, drain_seconds: float) -> None:
        self._stopping.set()
        if self._loop is not None:
            await self._loop
        if self._running:
            _, unfinished = await asyncio.wait(set(self._running), timeout=drain_seconds)
            for task in unfinished:
                task.cancel()  # not acked: redelivered to another worker
            await asyncio.gather(*unfinished, return_exceptions=True)
        if self._subscription is not None:
            await self._subscription.unsubscribe()

    async def _consume(self, subscription: JetStreamContext.PullSubscription) -> None:
        while not self._stopping.is_set():
            if len(self._running) >= self._concurrency:
                await asyncio.wait(self._running, return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                messages = await subscription.fetch(
                    batch=self._concurrency - len(self._running), timeout=FETCH_WAIT_SECONDS
                )
            except (NatsTimeoutError, TimeoutError):
                continue
            except Exception as err:
                log.warning("event fetch failed; retrying", pipeline=self._pipeline.name, error=str(err))
                await asyncio.sleep(FETCH_WAIT_SECONDS)
                continue
            for message in messages:
                task = asyncio.create_task(self._handle(message))
                self._running.add(task)
                task.add_done_callback(self._running.discard)

    async def _handle(self, message: Msg) -> None:
        handler = self._pipeline.events.get(message.subject)
        if handler is None:
            await message.ack()
            return
        attempt = message.metadata.num_delivered
        identifier = (message.headers or {}).get(IDENTIFIER_HEADER) or f"seq-{message.metadata.sequence.stream}"
        event = EventContext(self._runtime, self._registry, message.subject, message.data, identifier, attempt)
        heartbeat = asyncio.create_task(keep_claimed(message, self._ack_wait))
        structlog.contextvars.bind_contextvars(event=message.subject.rsplit(".", 1)[-1], webhook=identifier)
        try:
            async with asyncio.timeout(EVENT_TIMEOUT_SECONDS):
                await handler(event)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            reason = redact(str(err) or type(err).__name__)
            if attempt >= EVENT_MAX_DELIVERIES:
                log.error("event dropped after its last attempt", attempts=attempt, error=reason)
                await message.term()
            else:
                delay = EVENT_RETRY_SECONDS[min(attempt - 1, len(EVENT_RETRY_SECONDS) - 1)]
                log.warning("event handling failed; will retry", attempt=attempt, delay=delay, error=reason)
                await message.nak(delay=delay)
        else:
            await message.ack()
        finally:
            heartbeat.cancel()
            structlog.contextvars.unbind_contextvars("event", "webhook", "job_id", "ticket_key")
