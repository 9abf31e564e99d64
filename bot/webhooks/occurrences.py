"""Acting once per thing Jira did, whichever delivery brings it.

One comment can arrive under several webhook identifiers (two registered webhooks that
both match send it twice, with different bodies), so "once per delivery" is not enough.
An occurrence — a command line of one comment, a rule on one issue event — is named by
what Jira did (`comment id + creation time + line`, `issue id + event time + rule`), and
the first delivery to claim that name in the `augment_seen` bucket (create-if-absent)
acts on it. The same delivery redelivered after a crash finds its own claim and carries
on (its job ids and comments are idempotent); any other delivery finds someone else's
and does nothing. A claim also keeps the verdict reached for it (run, or refused by a
rate limit), so a redelivery reaches the same one.

Claims live as long as the bucket keeps entries (`webhooks.dedupe_hours`), longer than
the timestamp window of `bot.webhooks.freshness`, so a stale replay is refused at the
door and a fresh one finds the claim.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from bot.jetstream import layout
from bot.jetstream.entries import read

CAS_ATTEMPTS = 20


@dataclass(frozen=True)
class Claim:
    key: str
    revision: int
    verdict: str | None  # what was decided for it earlier, when this delivery is being redelivered


class Occurrences:
    def __init__(self, seen: KeyValue) -> None:
        self._seen = seen

    async def claim(self, occurrence: str, delivery: str) -> Claim | None:
        """This delivery's claim on `occurrence`, or None when another delivery holds it."""
        key = layout.occurrence_key(hashlib.sha256(occurrence.encode()).hexdigest())
        for _ in range(CAS_ATTEMPTS):
            try:
                revision = await self._seen.create(key, _entry(delivery, None))
                return Claim(key, revision, None)
            except KeyWrongLastSequenceError:
                pass
            try:
                found = await read(self._seen, key)
            except KeyNotFoundError:
                continue  # expired between the two calls
            held = json.loads(found.value)
            if held["delivery"] != delivery:
                return None
            return Claim(key, found.revision, held["verdict"])
        raise RuntimeError(f"could not claim {key} after {CAS_ATTEMPTS} attempts")

    async def decide(self, claim: Claim, delivery: str, verdict: str) -> bool:
        """Keep the verdict with the claim; False: a redelivery of the same delivery wrote one first."""
        try:
            await self._seen.update(claim.key, _entry(delivery, verdict), last=claim.revision)
        except KeyWrongLastSequenceError:
            return False
        return True


def _entry(delivery: str, verdict: str | None) -> bytes:
    return json.dumps({"delivery": delivery, "verdict": verdict}).encode()
