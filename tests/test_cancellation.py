"""DELETE /jobs/{id}: queued jobs never start, running ones stop at their next step."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.config import Settings
from bot.jetstream import layout
from bot.services import SERVICES
from tests.fixtures.service import consumer_idle, eventually, finished, wait_for_job


async def worker_idle(client: TestClient) -> None:
    """Wait until the diagnostics worker has acknowledged every job message it was given."""
    js = client.app[SERVICES].runtime.js
    consumer = layout.consumer_name("diagnostics")
    await eventually(lambda: consumer_idle(js, layout.JOBS_STREAM, consumer), "the worker acknowledged every job")


async def test_a_queued_job_never_starts(aiohttp_client, settings: Settings) -> None:
    api_only = await aiohttp_client(create_app(settings, with_worker=False))
    queued = await api_only.post("/diagnostics/ping", json={"ticket_key": "DEMO-3", "async_mode": True})
    job_id = (await queued.json())["job_id"]

    cancelled = await api_only.delete(f"/jobs/{job_id}")
    assert cancelled.status == 200
    assert await cancelled.json() == {"message": f"Job {job_id} cancelled successfully", "status": "cancelled"}
    after = await api_only.post("/diagnostics/ping", json={"ticket_key": "DEMO-3", "async_mode": True})
    assert after.status == 202

    # Now a worker comes up: the cancelled job must not run. Once the job queued after it has
    # finished and the worker has acknowledged every message, nothing is left to start it.
    with_worker = await aiohttp_client(create_app(settings))
    await wait_for_job(with_worker, (await after.json())["job_id"], finished)
    await worker_idle(with_worker)
    job = await (await with_worker.get(f"/jobs/{job_id}")).json()
    assert job["status"] == "cancelled"
    assert job["started_at"] is None
    assert job["attempts"] == 0
    assert job["result"] is None


async def test_a_running_job_stops_at_its_next_step(client: TestClient) -> None:
    response = await client.post(
        "/diagnostics/ping", json={"ticket_key": "DEMO-4", "async_mode": True, "steps": 100, "step_seconds": 0.05}
    )
    job_id = (await response.json())["job_id"]
    await wait_for_job(client, job_id, lambda job: (job["progress"]["processed"] or 0) >= 3)

    assert (await client.delete(f"/jobs/{job_id}")).status == 200
    await worker_idle(client)  # the worker saw the cancellation and let the job go
    job = await wait_for_job(client, job_id, finished)
    assert job["status"] == "cancelled"
    assert job["result"] is None
    stopped_at = job["progress"]["processed"]
    assert stopped_at < 100
    # Checks that nothing happens: four of the job's 50 ms steps would have shown by now.
    await asyncio.sleep(0.2)
    assert (await (await client.get(f"/jobs/{job_id}")).json())["progress"]["processed"] == stopped_at
    # Its ticket is free once the worker has stopped it.
    assert (await client.post("/diagnostics/ping", json={"ticket_key": "DEMO-4"})).status == 200


async def test_finished_and_unknown_jobs_cannot_be_cancelled(client: TestClient) -> None:
    done = await client.post("/diagnostics/ping", json={"async_mode": True})
    job_id = (await done.json())["job_id"]
    await wait_for_job(client, job_id, finished)

    again = await client.delete(f"/jobs/{job_id}")
    assert again.status == 409
    assert await again.json() == {"detail": f"Job {job_id} already completed; nothing to cancel"}

    unknown = await client.delete("/jobs/3c1c7c0e-0000-0000-0000-000000000000")
    assert unknown.status == 404


async def test_cancelling_a_job_that_writes_progress_without_pause_is_never_a_500(client: TestClient) -> None:
    response = await client.post("/diagnostics/ping", json={"async_mode": True, "steps": 10_000})
    job_id = (await response.json())["job_id"]
    await wait_for_job(client, job_id, lambda job: (job["progress"]["processed"] or 0) >= 10)
    answers = []
    for _ in range(200):  # bounded: the job itself ends within seconds
        cancelled = await client.delete(f"/jobs/{job_id}")
        answers.append(cancelled.status)
        if cancelled.status != 503:
            break
        assert cancelled.headers["Retry-After"] == "1"
        assert "try again" in (await cancelled.json())["detail"]
    assert answers[-1] in (200, 409), answers  # cancelled, or it finished first
