"""Accepting a webhook: drop Jira's retries and duplicates, publish the rest once.

A delivery's `X-Atlassian-Webhook-Identifier` is the same on every retry, so it is
remembered in the `augment_seen` bucket for `webhooks.dedupe_hours` (Jira retries for
about 75 minutes at most; the stream's own `Nats-Msg-Id` window is only 2 minutes).
The entry is created before publishing and marked published after: a delivery whose
first try died in between is published by its retry, not lost. Two deliveries at the
same instant race on the create, and the stream's duplicate window catches the rare
case where both publish.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from nats.js import JetStreamContext
from nats.js.errors import KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from bot.clock import Clock
from bot.jetstream import layout

# What a KV key may hold; anything else (or no identifier) is replaced by the body's hash.
_KEY = re.compile(r"^[-_=a-zA-Z0-9]{1,200}$")
IDENTIFIER_HEADER = "Augment-Webhook-Identifier"


@dataclass(frozen=True)
class Intake:
    identifier: str
    subject: str
    duplicate: bool


class WebhookIntake:
    def __init__(self, js: JetStreamContext, seen: KeyValue, clock: Clock, window: timedelta) -> None:
        self._js = js
        self._seen = seen
        self._clock = clock
        self._window = window

    async def accept(self, webhook_event: str, body: bytes, identifier: str | None) -> Intake:
        key = seen_key(identifier, body)
        subject = layout.event_subject(webhook_event)
        claim = await self._remember(key, self._clock.now())
        if claim is None:
            return Intake(key, subject, duplicate=True)
        revision, first_seen = claim
        ack = await self._js.publish(
            subject,
            body,
            # Deliveries racing for one entry share its first-seen time, so the stream drops all but one.
            headers={"Nats-Msg-Id": f"{key}@{first_seen.timestamp():.6f}", IDENTIFIER_HEADER: key},
            stream=layout.EVENTS_STREAM,
        )
        if not ack.duplicate:
            # A conflict means a later delivery took the entry over; it marks it published.
            with contextlib.suppress(KeyWrongLastSequenceError):
                await self._seen.update(key, _entry(first_seen, published=True), last=revision)
        return Intake(key, subject, duplicate=ack.duplicate)

    async def _remember(self, key: str, now: datetime) -> tuple[int, datetime] | None:
        """The entry's revision and first-seen time if this delivery should be published, None
        for a duplicate."""
        try:
            return await self._seen.create(key, _entry(now, published=False)), now
        except KeyWrongLastSequenceError:
            pass
        entry = await self._seen.get(key)
        seen = json.loads(entry.value)
        first_seen = datetime.fromisoformat(seen["first_seen"])
        if now - first_seen >= self._window:
            # Older than the window (an identifier reused much later): a new delivery.
            try:
                return await self._seen.update(key, _entry(now, published=False), last=entry.revision), now
            except KeyWrongLastSequenceError:
                return None  # another delivery of it won just now
        return None if seen["published"] else (entry.revision, first_seen)


def seen_key(identifier: str | None, body: bytes) -> str:
    if identifier and _KEY.match(identifier):
        return identifier
    return "sha256-" + hashlib.sha256(body).hexdigest()


def _entry(now: datetime, *, published: bool) -> bytes:
    return json.dumps({"first_seen": now.isoformat(), "published": published}).encode()
