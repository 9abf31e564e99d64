"""The Jira client keeps a connection per thread: a batch with more tickets in flight than
requests' default pool of 10 reuses its connections instead of discarding them (urllib3's
"Connection pool is full" warning, and a new TCP connection for each extra call)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pydantic import SecretStr

from bot.config import JiraSettings
from bot.jira.client import JiraClient
from sandbox import Sandbox

THREADS = 24


async def test_more_calls_in_flight_than_ten_reuse_their_connections(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    settings = JiraSettings(url=sandbox.jira_url, email=sandbox.bot.email, token=SecretStr(sandbox.bot.api_token))
    sandbox.set_faults(latency_ms=50)  # keeps the calls in flight together
    client = JiraClient(settings, threads=THREADS)
    try:
        with caplog.at_level(logging.WARNING, logger="urllib3.connectionpool"):
            for _ in range(3):
                tickets = await asyncio.gather(*(client.ticket(f"DEMO-{n % 9 + 2}") for n in range(THREADS)))
                assert len(tickets) == THREADS
    finally:
        await client.close()
    assert not [record for record in caplog.records if "Connection pool is full" in record.getMessage()]
