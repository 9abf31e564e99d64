"""Keeping a message claimed while its work runs: `in_progress()` every third of `ack_wait`,
so JetStream redelivers only the messages of a worker that died."""

from __future__ import annotations

import asyncio

import structlog
from nats.aio.msg import Msg

log = structlog.get_logger(__name__)


async def keep_claimed(message: Msg, ack_wait_seconds: float) -> None:
    """Run until cancelled."""
    while True:
        await asyncio.sleep(ack_wait_seconds / 3)
        try:
            await message.in_progress()
        except Exception as err:
            log.warning("heartbeat failed", error=str(err) or type(err).__name__)
