"""How often a trigger rule may fire on one ticket: at most N times in any hour.

The times a rule fired on a ticket are kept in the `augment_seen` bucket and changed
with compare-and-set, so two workers handling two events at once count both.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from bot.clock import Clock

WINDOW = timedelta(hours=1)
CAS_ATTEMPTS = 20


class FiringLimit:
    def __init__(self, seen: KeyValue, clock: Clock, per_hour: int) -> None:
        self._seen = seen
        self._clock = clock
        self._per_hour = per_hour

    async def allow(self, rule: str, ticket_key: str) -> bool:
        """Count one firing and return True, or return False when the rule used up its hour."""
        key = f"fired.{rule}.{ticket_key}"
        for _ in range(CAS_ATTEMPTS):
            now = self._clock.now()
            try:
                entry = await self._seen.get(key)
                times, revision = json.loads(entry.value), entry.revision
            except KeyNotFoundError:
                times, revision = [], None
            recent = [moment for moment in times if now - datetime.fromisoformat(moment) < WINDOW]
            if len(recent) >= self._per_hour:
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
