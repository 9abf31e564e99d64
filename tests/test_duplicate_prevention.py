"""One active job per ticket: the loser of a race gets 409 with the winner's id."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient

from tests.fixtures.service import finished, wait_for_job


async def test_fifty_concurrent_requests_for_one_ticket_make_exactly_one_job(client: TestClient) -> None:
    body = {"ticket_key": "DEMO-50", "async_mode": True, "steps": 10, "step_seconds": 0.2}
    responses = await asyncio.gather(*(client.post("/diagnostics/ping", json=body) for _ in range(50)))
    statuses = sorted(response.status for response in responses)
    assert statuses == [202] + [409] * 49

    winner = next(response for response in responses if response.status == 202)
    job_id = (await winner.json())["job_id"]
    for loser in (response for response in responses if response.status == 409):
        assert loser.headers["X-Active-Job-Id"] == job_id
        assert loser.headers["X-Active-Job-Status-Url"] == f"/jobs/{job_id}"
        assert await loser.json() == {"detail": f"Ticket DEMO-50 is already being processed in job {job_id}"}

    listing = await (await client.get("/jobs", params={"limit": "500"})).json()
    assert [job["job_id"] for job in listing["jobs"]] == [job_id]
    await client.delete(f"/jobs/{job_id}")


async def test_a_job_holding_several_tickets_blocks_each_and_frees_all(client: TestClient) -> None:
    running = await client.post(
        "/diagnostics/ping", json={"ticket_key": "DEMO-60", "async_mode": True, "steps": 30, "step_seconds": 0.1}
    )
    job_id = (await running.json())["job_id"]
    busy = await client.post("/diagnostics/ping", json={"ticket_key": "DEMO-60"})
    assert busy.status == 409
    other = await client.post("/diagnostics/ping", json={"ticket_key": "DEMO-61"})
    assert other.status == 200  # a different ticket is not blocked
    await client.delete(f"/jobs/{job_id}")
    await wait_for_job(client, job_id, finished)
    assert (await client.post("/diagnostics/ping", json={"ticket_key": "DEMO-60"})).status == 200
