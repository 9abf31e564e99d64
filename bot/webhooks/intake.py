"""Accepting a webhook: drop Jira's retries, duplicates and replays; publish the rest once.

A delivery's `X-Atlassian-Webhook-Identifier` is the same on every retry, so it is
remembered in the `augment_seen` bucket for `webhooks.dedupe_hours` (Jira retries for
about 75 minutes at most; the stream's own `Nats-Msg-Id` window is only 2 minutes).
The entry is created before publishing and marked published after: a delivery whose
first try died in between is published by its retry, not lost. Two deliveries at the
same instant race on the create, and the stream's duplicate window catches the rare
case where both publish.

The identifier is not signed, so the body is remembered too, by its SHA-256, with the
identifier that brought it first: the same body under another identifier (a replayed
delivery) is a duplicate, while a retry under the first identifier goes on as above.
Two different events never have identical bodies (each carries its `timestamp`, ids and
the matched webhook), so this drops nothing Jira meant to send twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from bot.clock import Clock
from bot.jetstream import layout
from bot.jetstream.entries import read

# What a KV key may hold; anything else (or no identifier) is replaced by the body's hash.
_KEY = re.compile(r"^[-_=a-zA-Z0-9]{1,200}$")
CAS_ATTEMPTS = 20


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
        now = self._clock.now()
        if await self._first_carrier(body, key, now) != key:
            return Intake(key, subject, duplicate=True)
        claim = await self._remember(key, now)
        if claim is None:
            return Intake(key, subject, duplicate=True)
        revision, first_seen = claim
        ack = await self._js.publish(
            subject,
            body,
            # Deliveries racing for one entry share its first-seen time, so the stream drops all but one.
            headers={
                layout.MESSAGE_ID_HEADER: layout.webhook_message_id(key, first_seen.timestamp()),
                layout.WEBHOOK_IDENTIFIER_HEADER: key,
            },
            stream=layout.EVENTS_STREAM,
        )
        if not ack.duplicate:
            # A conflict means a later delivery took the entry over; it marks it published.
            with contextlib.suppress(KeyWrongLastSequenceError):
                await self._seen.update(key, _entry(first_seen, published=True), last=revision)
        # The server leaves `duplicate` out of the ack when it is false.
        return Intake(key, subject, duplicate=bool(ack.duplicate))

    async def _first_carrier(self, body: bytes, key: str, now: datetime) -> str:
        """The seen key of the delivery that brought this body first within the window (maybe this one)."""
        body_key = layout.seen_body_key(hashlib.sha256(body).hexdigest())
        for _ in range(CAS_ATTEMPTS):
            entry = _carrier(key, now)
            try:
                await self._seen.create(body_key, entry)
                return key
            except KeyWrongLastSequenceError:
                pass
            try:
                found = await read(self._seen, body_key)
            except KeyNotFoundError:
                continue  # expired just now: try to create it again
            carrier = json.loads(found.value)
            if now - datetime.fromisoformat(carrier["first_seen"]) < self._window:
                return str(carrier["identifier"])
            try:
                await self._seen.update(body_key, entry, last=found.revision)
                return key
            except KeyWrongLastSequenceError:
                continue
        raise RuntimeError(f"could not record webhook body {body_key} after {CAS_ATTEMPTS} attempts")

    async def _remember(self, key: str, now: datetime) -> tuple[int, datetime] | None:
        """The entry's revision and first-seen time if this delivery should be published, None
        for a duplicate."""
        try:
            return await self._seen.create(key, _entry(now, published=False)), now
        except KeyWrongLastSequenceError:
            pass
        entry = await read(self._seen, key)
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


def _carrier(key: str, now: datetime) -> bytes:
    return json.dumps({"identifier": key, "first_seen": now.isoformat()}).encode()


def _entry(now: datetime, *, published: bool) -> bytes:
    return json.dumps({"first_seen": now.isoformat(), "published": published}).encode()
