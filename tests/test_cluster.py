"""Against a 3-node NATS cluster with R3 streams: losing a node loses no job."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import pytest

from bot.app import create_app
from bot.jetstream import layout
from tests.fixtures.nats import NatsCluster, make_settings
from tests.fixtures.service import finished, free_port, wait_for_job


@pytest.fixture
def cluster(tmp_path: Path):
    nodes = NatsCluster(tmp_path, [free_port() for _ in range(3)])
    nodes.start()
    yield nodes
    nodes.stop()


async def test_jobs_survive_losing_the_node_that_leads_the_job_stream(aiohttp_client, cluster: NatsCluster) -> None:
    settings = make_settings(cluster.url, nats={"replicas": 3, "startup_timeout_seconds": 30})
    client = await aiohttp_client(create_app(settings))

    watcher = await nats.connect(cluster.url.split(","))
    info = await watcher.jetstream().stream_info(layout.JOBS_STREAM)
    assert info.config.num_replicas == 3
    leader = info.cluster.leader
    await watcher.close()

    before = [await client.post("/diagnostics/ping", json={"async_mode": True, "steps": 2}) for _ in range(10)]
    ids = [(await response.json())["job_id"] for response in before]

    cluster.nodes[int(leader.rsplit("-", 1)[1])].stop()
    after = []
    for _ in range(10):
        for _ in range(200):  # writes stall while a new leader is elected, then resume
            response = await client.post("/diagnostics/ping", json={"async_mode": True, "steps": 2})
            if response.status == 202:
                after.append((await response.json())["job_id"])
                break
            assert response.status == 503, await response.text()
            await asyncio.sleep(0.1)
    assert len(after) == 10

    for job_id in ids + after:
        job = await wait_for_job(client, job_id, finished, timeout=60)
        assert job["status"] == "completed"
