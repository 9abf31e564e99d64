"""A webhook delivery's entries in the `augment_seen` bucket, and which copy of a body is handled.

Rules:
- Two entries, both living `webhooks.dedupe_hours`:
  - `layout.delivery_key` (Jira's identifier), also the event's `Nats-Msg-Id`: the intake creates
    it (`first_seen`) before publishing, and the consumer that takes the delivery's body marks
    it with `taken_seq`, so the intake answers a Jira retry hours later `duplicate`;
  - `layout.body_key` (the body's SHA-256): `{delivery, taken_seq}`, the delivery and the stream
    sequence of the copy of that body every event consumer handles.
- Two different events never have identical bodies (each carries its `timestamp`, ids and the
  matched webhook), so one body is one event, acted on once.
- The stream can hold several copies of one body: the same delivery published again by the
  intake (its entry not taken yet and the stream's duplicate window past), or the same signed
  body under another identifier — a Jira retry of nothing, a replay (issue 9: the identifier is
  not signed). Before handling an event whose message id is a delivery key, a consumer `take`s
  it: the first copy to create the body's entry is the one handled; every other copy is acked
  and dropped. Consumers compare the copy (delivery and sequence: a stream made again restarts
  its sequences) rather than "first one wins", so the consumers of several pipelines agree on
  one copy in whatever order they see them, and a redelivery of the taken copy carries on.
- KV operations per event and consumer: one read when the body's entry exists (every consumer
  but the first, every other copy, every redelivery); three for the first (the read, the create,
  the mark of the delivery's entry); a lost create race adds one read.
- The mark is a plain put (only the creator of the body's entry writes it). Should it fail, the
  event is retried and, its sequence taken, handled; the delivery stays unmarked, so a later
  Jira retry is published again and dropped here.
- An event whose message id is not a delivery key (a job's, or one published without one) has
  no entries and is always handled.
"""

from __future__ import annotations

import json
from datetime import datetime

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from bot.jetstream import layout
from bot.jetstream.entries import read

CAS_ATTEMPTS = 20


def first_seen(now: datetime) -> bytes:
    """The delivery's entry the intake creates: seen now, not yet taken by a consumer."""
    return json.dumps({"first_seen": now.isoformat()}).encode()


def taken_sequence(entry: bytes) -> int | None:
    """The stream sequence of the copy the consumers handle, None while none has taken one."""
    taken = json.loads(entry).get("taken_seq")
    return None if taken is None else int(taken)


async def take(seen: KeyValue, delivery: str, body_sha256: str, sequence: int) -> bool:
    """Whether the copy at stream `sequence` of delivery `delivery` is the one to handle for its body
    (marking it so when no copy of the body is taken yet)."""
    key = layout.body_key(body_sha256)
    for _ in range(CAS_ATTEMPTS):
        try:
            found = await read(seen, key)
        except KeyNotFoundError:
            try:
                await seen.create(key, json.dumps({"delivery": delivery, "taken_seq": sequence}).encode())
            except KeyWrongLastSequenceError:
                continue  # another consumer created it just now: read which copy it chose
            await seen.put(delivery, json.dumps({"taken_seq": sequence}).encode())
            return True
        chosen = json.loads(found.value)
        return chosen.get("delivery") == delivery and chosen.get("taken_seq") == sequence
    raise RuntimeError(f"could not take webhook body {key} after {CAS_ATTEMPTS} attempts")
