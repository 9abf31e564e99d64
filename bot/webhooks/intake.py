"""Accepting a webhook: publish each delivery once, in two NATS round trips.

Rules:
- One key per delivery: Jira's `X-Atlassian-Webhook-Identifier`, the same on each of its retries
  (Jira's dedupe key), when it is a usable key (`[-_=a-zA-Z0-9]{1,200}`), else `sha256-<hex>` of
  the body (`layout.delivery_key`). The entry lives `webhooks.dedupe_hours`.
- The usual path: create the entry (create-if-absent), then publish the body with `Nats-Msg-Id`
  = the key. `202` unless the stream answers that it holds that id already.
- The entry exists: when a consumer has taken the delivery (`taken_seq`, `bot.webhooks.deliveries`),
  `200 duplicate` without publishing (a Jira retry hours later). Otherwise the first try may
  have died between the create and the publish, so publish again under the same id: the
  events stream's duplicate window (20 minutes, longer than Jira's 5–15 minutes between
  retries) answers duplicate if it holds it (`200`), else this copy is the one published
  (`202`). Nothing is answered duplicate that is not in the stream.
- The same body under another identifier (a replay of a captured signed delivery: the identifier
  is not signed) is a new delivery here, `202`; the event consumers act on one copy of a body
  (`bot.webhooks.deliveries`), so a replay is accepted but never acted on.
- KV operations per webhook: one (the create) on the usual path; two (the create, a read) when
  the entry exists; each publish is one more round trip.
- The answer's identifier is the key's identifier; it travels with the event as the name of
  the delivery (`bot.webhooks.occurrences`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from bot.clock import Clock
from bot.jetstream import layout
from bot.jetstream.entries import read
from bot.webhooks import deliveries

# What an identifier may look like to be the delivery's key; anything else (or none) is replaced by the body's hash.
_KEY = re.compile(r"^[-_=a-zA-Z0-9]{1,200}$")
CAS_ATTEMPTS = 20


@dataclass(frozen=True)
class Intake:
    identifier: str
    subject: str
    duplicate: bool


class WebhookIntake:
    def __init__(self, js: JetStreamContext, seen: KeyValue, clock: Clock) -> None:
        self._js = js
        self._seen = seen
        self._clock = clock

    async def accept(self, webhook_event: str, body: bytes, identifier: str | None) -> Intake:
        shown = identifier if identifier and _KEY.match(identifier) else f"sha256-{hashlib.sha256(body).hexdigest()}"
        key = layout.delivery_key(shown)
        subject = layout.event_subject(webhook_event)
        if await self._taken(key):
            return Intake(shown, subject, duplicate=True)
        ack = await self._js.publish(
            subject,
            body,
            headers={layout.MESSAGE_ID_HEADER: key, layout.WEBHOOK_IDENTIFIER_HEADER: shown},
            stream=layout.EVENTS_STREAM,
        )
        # The server leaves `duplicate` out of the ack when it is false.
        return Intake(shown, subject, duplicate=bool(ack.duplicate))

    async def _taken(self, key: str) -> bool:
        """Whether a consumer has taken this delivery already; False means publish it (again)."""
        for _ in range(CAS_ATTEMPTS):
            try:
                await self._seen.create(key, deliveries.first_seen(self._clock.now()))
                return False
            except KeyWrongLastSequenceError:
                pass
            try:
                found = await read(self._seen, key)
            except KeyNotFoundError:
                continue  # expired between the two calls: create it again
            return deliveries.taken_sequence(found.value) is not None
        raise RuntimeError(f"could not record webhook delivery {key} after {CAS_ATTEMPTS} attempts")
