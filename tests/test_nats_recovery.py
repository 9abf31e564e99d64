"""Augment's NATS connection comes back whatever closed it, even the server over a protocol error."""

from __future__ import annotations

import asyncio

import pytest
from nats.aio.client import Client
from nats.errors import Error as NatsError

from bot.jetstream.connect import connect
from bot.jetstream.provision import provision
from tests.fixtures.nats import make_settings

RECOVERY_SECONDS = 15.0
OVER_LONG = "A" * 4_100  # past nats-server's 4 KiB control line


async def wait_until_reconnected(client: Client, reconnects: int) -> None:
    deadline = asyncio.get_running_loop().time() + RECOVERY_SECONDS
    while not (client.is_connected and client.stats["reconnects"] >= reconnects):
        assert not client.is_closed, "the client gave up on NATS for good"
        assert asyncio.get_running_loop().time() < deadline, "the client did not reconnect"
        await asyncio.sleep(0.05)


async def test_an_over_long_subject_closes_the_connection_and_the_client_reconnects(nats_url: str) -> None:
    client = await connect([nats_url], name="test-recovery", startup_timeout=5)
    try:
        await client.publish(f"probe.{OVER_LONG}", b"")
        await client.flush()
        await wait_until_reconnected(client, reconnects=1)

        inbox = await client.subscribe("probe.after")
        await client.publish("probe.after", b"still here")
        message = await inbox.next_msg(timeout=5)
        assert message.data == b"still here"
    finally:
        await client.close()


async def test_an_over_long_kv_key_does_not_take_the_client_off_nats(nats_url: str) -> None:
    client = await connect([nats_url], name="test-recovery", startup_timeout=5)
    try:
        js = client.jetstream()
        buckets = await provision(js, make_settings(nats_url), wait_seconds=5)
        await buckets.jobs.put("known", b"kept")
        with pytest.raises((TimeoutError, NatsError)):  # the server dropped the connection mid-request
            await buckets.jobs.get(OVER_LONG)
        await wait_until_reconnected(client, reconnects=1)

        assert (await buckets.jobs.get("known")).value == b"kept"
    finally:
        await client.close()
