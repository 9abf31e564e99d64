"""A webhook delivery's entry in the `augment_seen` bucket, and which copy of it is handled.

Rules:
- The entry is keyed by the body's SHA-256 (`layout.delivery_key`), which is also its
  event's `Nats-Msg-Id`. The intake creates it (`first_seen`) before publishing; the event
  consumers add `taken_seq`, the stream sequence of the copy they handle.
- The stream can hold two copies of one delivery: the intake publishes again when the entry
  exists but no consumer has taken it yet and the stream's duplicate window no longer
  remembers the first (or two deliveries raced). Before handling an event, a consumer
  `take`s it: the first stream sequence written to `taken_seq` (compare-and-set) is the copy
  every consumer handles; any other copy is acked and dropped. Consumers compare sequences
  rather than "first one wins", so the consumers of several pipelines agree on one copy in
  whatever order they see them, and a redelivery of the taken copy carries on.
- An entry already gone (older than `webhooks.dedupe_hours`) is created with the copy's
  sequence, so later copies still agree. An event whose message id is not a delivery key
  (a job's, or one published without one) has no entry and is always handled.
"""

from __future__ import annotations

import json
from datetime import datetime

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from bot.jetstream.entries import read

CAS_ATTEMPTS = 20


def first_seen(now: datetime) -> bytes:
    """The entry the intake creates: seen now, not yet taken by a consumer."""
    return json.dumps({"first_seen": now.isoformat()}).encode()


def taken_sequence(entry: bytes) -> int | None:
    """The stream sequence of the copy the consumers handle, None while none has taken one."""
    taken = json.loads(entry).get("taken_seq")
    return None if taken is None else int(taken)


async def take(seen: KeyValue, key: str, sequence: int) -> bool:
    """Whether the copy at stream `sequence` is the one to handle for delivery `key` (marking it so
    when no copy is taken yet)."""
    for _ in range(CAS_ATTEMPTS):
        try:
            found = await read(seen, key)
        except KeyNotFoundError:
            try:
                await seen.create(key, json.dumps({"taken_seq": sequence}).encode())
                return True
            except KeyWrongLastSequenceError:
                continue  # another consumer created it just now: read what it chose
        taken = taken_sequence(found.value)
        if taken is not None:
            return taken == sequence
        marked = {**json.loads(found.value), "taken_seq": sequence}
        try:
            await seen.update(key, json.dumps(marked).encode(), last=found.revision)
            return True
        except KeyWrongLastSequenceError:
            continue  # another consumer marked it just now: read which copy
    raise RuntimeError(f"could not take webhook delivery {key} after {CAS_ATTEMPTS} attempts")
