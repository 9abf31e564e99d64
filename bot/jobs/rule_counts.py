"""How often each trigger rule fired, and what the loop guard refused: totals every process shares.

The Prometheus counters (`bot.metrics`) count per process since its start, and the API that
shows the dashboard may not be the worker that fired the rule; these counts are kept in the
`augment_counts` bucket (no TTL), so they survive restarts and add up over every worker.

- Keys (`bot.jetstream.layout`): `rule.<name>.fired`, `rule.<name>.refused` (the rule's hourly
  limit per ticket was reached) and `guard.own_events` (an event the bot's own account caused).
  Rule names are validated by the config (1–64 of `[A-Za-z0-9_-]`), so the keys are bounded;
  a rule taken out of the config leaves its two small keys behind.
- Each value is a `Count` (how many, and when the last was), changed with compare-and-set, so
  workers counting at once all count.
- The bot's own events are as many as the comments and writes it makes (a batch of 1,000
  updates comes back as 1,000 webhooks): they are added up in the process and written at most
  every `OWN_EVENTS_FLUSH_SECONDS`, one compare-and-set for all of them, so ignoring such an event
  costs no NATS round trip, and the workers do not all race for that one key. The process keeps
  one `RuleCounts` (`Runtime.counts`), and writes what it holds when it closes.
- A count is a statistic: when NATS fails to keep one, that is logged and the event it counts
  is handled all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import structlog
from nats.errors import Error as NatsError
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pydantic import BaseModel

from bot.clock import Clock
from bot.jetstream import layout
from bot.jetstream.entries import read

log = structlog.get_logger(__name__)

CAS_ATTEMPTS = 20
OWN_EVENTS_FLUSH_SECONDS = 1.0
Outcome = Literal["fired", "refused"]


class Count(BaseModel):
    times: int = 0
    """How many times it happened."""
    last_at: datetime | None = None
    """When it last happened (UTC)."""


class RuleTally(BaseModel):
    fired: Count
    """Jobs the rule started."""
    refused: Count
    """Runs the loop guard refused: the rule had reached its hourly limit on the ticket."""


class RuleCounts:
    def __init__(self, bucket: KeyValue, clock: Clock) -> None:
        self._bucket = bucket
        self._clock = clock
        self._own_events = 0  # counted, not yet written
        self._writing: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()  # write now instead of waiting

    async def rule(self, rule: str, outcome: Outcome) -> None:
        """Count one firing (or one refusal) of `rule`."""
        await self._count(layout.rule_count_key(rule, outcome))

    def own_event(self) -> None:
        """Count one event the bot's own account caused, which started nothing; written soon."""
        self._own_events += 1
        if self._writing is None:
            self._writing = asyncio.create_task(self._write_soon(), name="own-events-count")

    async def close(self) -> None:
        """Write what is counted and not yet written."""
        self._closing.set()
        if self._writing is not None:
            await self._writing

    async def _write_soon(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), OWN_EVENTS_FLUSH_SECONDS)
        self._writing = None  # events from now on start the next write
        await self._write_own_events()

    async def _write_own_events(self) -> None:
        taken, self._own_events = self._own_events, 0
        if taken:
            await self._count(layout.OWN_EVENTS_COUNT_KEY, taken)

    async def rules(self, names: Sequence[str]) -> dict[str, RuleTally]:
        """Each rule's counts (zero for one that never fired), read at once."""
        keys = [layout.rule_count_key(name, outcome) for name in names for outcome in ("fired", "refused")]
        counts = await asyncio.gather(*(self._read(key) for key in keys))
        return {
            name: RuleTally(fired=counts[2 * position], refused=counts[2 * position + 1])
            for position, name in enumerate(names)
        }

    async def own_events(self) -> Count:
        return await self._read(layout.OWN_EVENTS_COUNT_KEY)

    async def _read(self, key: str) -> Count:
        try:
            return Count.model_validate_json((await read(self._bucket, key)).value)
        except KeyNotFoundError:
            return Count()

    async def _count(self, key: str, times: int = 1) -> None:
        try:
            for _ in range(CAS_ATTEMPTS):
                try:
                    entry = await read(self._bucket, key)
                    count, revision = Count.model_validate_json(entry.value), entry.revision
                except KeyNotFoundError:
                    count, revision = Count(), None
                value = Count(times=count.times + times, last_at=self._clock.now()).model_dump_json().encode()
                try:
                    if revision is None:
                        await self._bucket.create(key, value)
                    else:
                        await self._bucket.update(key, value, last=revision)
                except KeyWrongLastSequenceError:
                    continue  # another worker counted meanwhile: count on top of its value
                return
            log.warning("count not kept: too many workers counting at once", key=key)
        except NatsError as err:
            log.warning("count not kept", key=key, error=str(err) or type(err).__name__)
