"""Event consumers: a short loop per pipeline over `AUGMENT_EVENTS`.

Rules, all explicit here:
- one durable consumer per pipeline, filtered to the subjects it handles; events that
  arrived while no worker ran are delivered when one starts;
- at most `limits.concurrency` events at a time per pipeline in this process, fetched
  by the pull loop (`bot.jetstream.pull`), which stops at once and drains on stop;
- a webhook body is handled once, however many copies the stream holds (the same delivery
  published twice, a replay under another identifier): before its handler runs, an event whose
  `Nats-Msg-Id` is a delivery key is `take`n by its body's SHA-256 (`bot.webhooks.deliveries`),
  and a copy other than the taken one is acked, logged and dropped;
- a handler that raises is retried after `EVENT_RETRY_SECONDS[attempt]`; after
  `EVENT_MAX_DELIVERIES` the event is dropped and logged with the reason;
- a handler has `limits.ack_wait_seconds` (heartbeats extend it) and
  `EVENT_TIMEOUT_SECONDS` in all; one still running past the drain timeout is cancelled
  and not acked, so another worker gets it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from nats.aio.msg import Msg
from nats.js import api

from bot.commands.context import Registry
from bot.jetstream import layout
from bot.jetstream.heartbeat import keep_claimed
from bot.jetstream.pull import PullLoop
from bot.logs import redact
from bot.webhooks.deliveries import take

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = structlog.get_logger(__name__)

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


EventHandler = Callable[[EventContext], Awaitable[None]]


class EventConsumer:
    """The events one pipeline handles (`handlers`: subject → handler)."""

    def __init__(self, runtime: Runtime, name: str, handlers: dict[str, EventHandler], registry: Registry) -> None:
        self._runtime = runtime
        self.name = name
        self._handlers = handlers
        self._registry = registry
        self._js = runtime.js
        self._concurrency = runtime.settings.limits.concurrency
        self._ack_wait = runtime.settings.limits.ack_wait_seconds
        self._loop: PullLoop | None = None

    async def start(self) -> None:
        durable = layout.event_consumer_name(self.name)
        config = api.ConsumerConfig(
            durable_name=durable,
            filter_subjects=sorted(self._handlers),
            deliver_policy=api.DeliverPolicy.ALL,
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=self._ack_wait,
            max_deliver=EVENT_MAX_DELIVERIES,
            max_ack_pending=self._concurrency * 8,
        )
        await self._js.add_consumer(layout.EVENTS_STREAM, config)
        subscription = await self._js.pull_subscribe_bind(durable, stream=layout.EVENTS_STREAM)
        self._loop = PullLoop(subscription, self._handle, concurrency=self._concurrency, name=f"events-{self.name}")
        self._loop.start()

    async def stop(self, drain_seconds: float) -> None:
        if self._loop is not None:
            await self._loop.stop(drain_seconds)

    async def _handle(self, message: Msg) -> None:
        handler = self._handlers.get(message.subject)
        if handler is None:
            await message.ack()
            return
        attempt = message.metadata.num_delivered
        identifier = (message.headers or {}).get(layout.WEBHOOK_IDENTIFIER_HEADER) or (
            f"seq-{message.metadata.sequence.stream}"
        )
        event = EventContext(self._runtime, self._registry, message.subject, message.data, identifier, attempt)
        heartbeat = asyncio.create_task(keep_claimed(message, self._ack_wait))
        structlog.contextvars.bind_contextvars(event=message.subject.rsplit(".", 1)[-1], webhook=identifier)
        try:
            async with asyncio.timeout(EVENT_TIMEOUT_SECONDS):
                if await self._taken_copy(message):
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

    async def _taken_copy(self, message: Msg) -> bool:
        """Whether to handle this copy: not a webhook delivery, or the copy of its body the consumers took."""
        key = layout.delivery_key_of((message.headers or {}).get(layout.MESSAGE_ID_HEADER))
        sequence = message.metadata.sequence.stream
        if key is None:
            return True
        if await take(self._runtime.buckets.seen, key, hashlib.sha256(message.data).hexdigest(), sequence):
            return True
        log.warning("second copy of a webhook body dropped", delivery=key, stream_sequence=sequence)
        return False
