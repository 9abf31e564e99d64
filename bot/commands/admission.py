"""Whether a `/augment` command line runs: once per comment, and within the rate limits.

- Once per comment: a command is named by its comment (id and creation time) and its
  line, not by the delivery (`bot.webhooks.occurrences`), so one comment delivered under
  five identifiers runs once: one job, one acknowledgement, one answer.
- Rate limits: every command line counts once against its ticket
  (`commands.max_per_ticket_per_minute`) and its author (`commands.max_per_user_per_minute`,
  across tickets), whatever the command and whoever the author. Over either limit it does
  nothing; the first refused command on a ticket in a minute is answered with one polite
  "slow down" comment, the others silently. A refused command is not counted.
- The verdict is kept with the claim, so a redelivered event reaches the same one. It is
  kept before anything is answered: a verdict reached now (`Admitted.judged_now`) means no
  earlier attempt can have posted an answer, so the answer needs no look for one first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.jetstream import layout
from bot.jobs.firing import MINUTE, RateLimit
from bot.webhooks.occurrences import Occurrences

if TYPE_CHECKING:
    from bot.runtime import Runtime


@dataclass(frozen=True)
class Admitted:
    admission: Admission
    judged_now: bool  # by this call: nothing was answered for the command yet


class Admission(StrEnum):
    run = "run"
    slow_down = "slow_down"  # refused: answer with the ticket's one "slow down" comment
    quiet = "quiet"  # refused: the ticket was already told to slow down this minute
    duplicate = "duplicate"  # another delivery of the comment answers it


async def admit(runtime: Runtime, occurrence: str, delivery: str, ticket_key: str, author: str | None) -> Admitted:
    """Claim the command `occurrence` for `delivery` (a webhook identifier) and judge it once."""
    occurrences = Occurrences(runtime.buckets.seen)
    claim = await occurrences.claim(occurrence, delivery)
    if claim is None:
        return Admitted(Admission.duplicate, judged_now=False)
    if claim.verdict is not None:
        return Admitted(Admission(claim.verdict), judged_now=False)
    verdict = await _judge(runtime, ticket_key, author)
    decided = await occurrences.decide(claim, delivery, verdict.value)
    return Admitted(verdict, judged_now=decided)


async def _judge(runtime: Runtime, ticket_key: str, author: str | None) -> Admission:
    seen, clock, settings = runtime.buckets.seen, runtime.clock, runtime.settings.commands
    per_ticket = RateLimit(seen, clock, settings.max_per_ticket_per_minute, MINUTE)
    per_user = RateLimit(seen, clock, settings.max_per_user_per_minute, MINUTE)
    # accountIds hold characters a KV key may not (`557058:f581...`): the key holds their hash.
    person = hashlib.sha256((author or "anonymous").encode()).hexdigest()[:32]
    if await per_ticket.allow(layout.rate_key("ticket", ticket_key)) and await per_user.allow(
        layout.rate_key("user", person)
    ):
        return Admission.run
    told = RateLimit(seen, clock, 1, MINUTE)
    return Admission.slow_down if await told.allow(layout.rate_key("slow-down", ticket_key)) else Admission.quiet
