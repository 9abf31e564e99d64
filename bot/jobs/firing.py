"""How often something may happen per key: at most N times in any sliding window.

Used for trigger rules (per rule and ticket, per hour) and comment commands (per ticket
and per user, per minute; one "slow down" answer per ticket per minute). The recent
times are kept in the `augment_seen` bucket under the caller's key
(`layout.rate_key`) and changed with compare-and-set, so two workers counting at once
both count. A refusal is not counted: a storm does not keep the window shut.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from bot.clock import Clock
from bot.jetstream.entries import read

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
CAS_ATTEMPTS = 20


class RateLimit:
    def __init__(self, seen: KeyValue, clock: Clock, limit: int, window: timedelta) -> None:
        self._seen = seen
        self._clock = clock
        self._limit = limit
        self._window = window

    async def allow(self, key: str) -> bool:
        """Count one use of `key` and return True, or return False when its window is full."""
        for _ in range(CAS_ATTEMPTS):
            now = self._clock.now()
            try:
                entry = await read(self._seen, key)
                times, revision = json.loads(entry.value), entry.revision
            except KeyNotFoundError:
                times, revision = [], None
            recent = [moment for moment in times if now - datetime.fromisoformat(moment) < self._window]
            if len(recent) >= self._limit:
                return False
            value = json.dumps([*recent, now.isoformat()]).encode()
            try:
                if revision is None:
                    await self._seen.create(key, value)
                else:
                    await self._seen.update(key, value, last=revision)
            except KeyWrongLastSequenceError:
                continue
            return True
        return False
