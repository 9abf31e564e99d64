"""Reading one KV entry with the fields that `KeyValue.get` always sets typed as set.

nats-py types every field of `KeyValue.Entry` Optional, since a watcher also yields delete and
purge markers. `KeyValue.get` raises `KeyNotFoundError` for a missing, deleted or purged key and
otherwise fills the value (the message's data, b"" at the least) and the revision (its stream
sequence); `read` says so once, for every caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js.kv import KeyValue


@dataclass(frozen=True)
class Stored:
    value: bytes
    revision: int


async def read(bucket: KeyValue, key: str) -> Stored:
    """The key's current value and revision; raises what `KeyValue.get` raises."""
    entry = await bucket.get(key)
    assert entry.value is not None and entry.revision is not None, "KeyValue.get fills both or raises"
    return Stored(entry.value, entry.revision)
