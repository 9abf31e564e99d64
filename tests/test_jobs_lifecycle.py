"""A job from submission to its end, through the real queue, worker and job store."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient

from tests.fixtures.service import finished, wait_for_job


async def test_sync_call_answers_with_the_result(client: TestClient) -> None:
    response = await client.post("/diagnostics/ping", json={"steps": 3})
    assert response.status == 200
    result = await response.json()
    assert result["steps"] == 3
    assert result["attempts"] == 1


async def test_async_call_answers_202_then_the_job_completes_with_progress(client: TestClient) -> None:
    response = await client.post("/diagnostics/ping", json={"steps": 4, "async_mode": True, "ticket_key": "demo-7"})
    assert response.status == 202
    accepted = await response.json()
    assert accepted["status"] == "started"
    assert accepted["status_url"] == f"/jobs/{accepted['job_id']}"
    assert response.headers["Location"] == accepted["status_url"]

    job = await wait_for_job(client, accepted["job_id"], finished)
    assert job["status"] == "completed"
    assert job["job_type"] == "ping"
    assert job["ticket_keys"] == ["DEMO-7"]  # keys are normalised to upper case
    assert job["ticket_key"] == "DEMO-7"
    assert job["progress"] == {"message": "Completed successfully", "processed": 4, "total": 4, "percent": 100.0}
    assert job["result"]["steps"] == 4
    assert job["request"]["steps"] == 4
    assert job["created_at"] <= job["started_at"] <= job["completed_at"]
    assert job["error"] is None


async def test_progress_is_visible_while_the_job_runs(client: TestClient) -> None:
    response = await client.post("/diagnostics/ping", json={"steps": 20, "step_seconds": 0.05, "async_mode": True})
    job_id = (await response.json())["job_id"]
    running = await wait_for_job(client, job_id, lambda job: (job["progress"]["processed"] or 0) >= 2)
    assert running["status"] in ("processing", "completed")
    assert running["progress"]["total"] == 20
    assert 0 < running["progress"]["percent"] <= 100


async def test_a_sync_call_past_the_timeout_answers_202_and_the_job_goes_on(aiohttp_client, nats_url) -> None:
    from bot.app import create_app
    from tests.fixtures.nats import make_settings

    settings = make_settings(nats_url, limits={"sync_timeout_seconds": 0.2})
    client = await aiohttp_client(create_app(settings))
    response = await client.post("/diagnostics/ping", json={"steps": 5, "step_seconds": 0.2})
    assert response.status == 202
    job = await wait_for_job(client, (await response.json())["job_id"], finished)
    assert job["status"] == "completed"


async def test_a_failing_attempt_is_retried_and_recorded(client: TestClient) -> None:
    response = await client.post("/diagnostics/ping", json={"fail_attempts": 2})
    assert response.status == 200
    assert (await response.json())["attempts"] == 3


async def test_jobs_are_listed_newest_first_with_filters_and_pages(client: TestClient) -> None:
    ids = []
    for _ in range(5):
        response = await client.post("/diagnostics/ping", json={})
        assert response.status == 200
    queued = await client.post("/diagnostics/ping", json={"async_mode": True, "step_seconds": 2, "steps": 3})
    ids.append((await queued.json())["job_id"])

    everything = await (await client.get("/jobs")).json()
    assert everything["total"] == 6
    assert everything["jobs"][0]["job_id"] == ids[0]
    created = [job["created_at"] for job in everything["jobs"]]
    assert created == sorted(created, reverse=True)

    completed = await (await client.get("/jobs", params={"status": "completed"})).json()
    assert completed["total"] == 5
    assert {job["status"] for job in completed["jobs"]} == {"completed"}
    assert (await (await client.get("/jobs", params={"job_type": "single"})).json())["total"] == 0

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await (await client.get("/jobs", params=params)).json()
        seen += [job["job_id"] for job in page["jobs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [job["job_id"] for job in everything["jobs"]]

    await client.delete(f"/jobs/{ids[0]}")


async def test_jobs_of_a_ticket_active_first_then_latest(client: TestClient) -> None:
    missing = await client.get("/jobs/ticket/DEMO-404")
    assert missing.status == 404
    assert await missing.json() == {"detail": "No job found for ticket key: DEMO-404"}

    first = await client.post("/diagnostics/ping", json={"ticket_key": "DEMO-1"})
    assert first.status == 200
    latest = await (await client.get("/jobs/ticket/DEMO-1")).json()
    assert latest["status"] == "completed"

    running = await client.post(
        "/diagnostics/ping", json={"ticket_key": "DEMO-1", "async_mode": True, "steps": 50, "step_seconds": 0.1}
    )
    running_id = (await running.json())["job_id"]
    active = await (await client.get("/jobs/ticket/demo-1")).json()
    assert active["job_id"] == running_id
    assert active["status"] in ("started", "processing")

    await client.delete(f"/jobs/{running_id}")
    await wait_for_job(client, running_id, finished)
    after = await (await client.get("/jobs/ticket/DEMO-1")).json()
    assert after["job_id"] == running_id
    assert after["status"] == "cancelled"


async def test_a_ticket_is_free_again_once_its_job_ends(client: TestClient) -> None:
    for expected_attempts in (1, 3):
        response = await client.post(
            "/diagnostics/ping", json={"ticket_key": "DEMO-2", "fail_attempts": expected_attempts - 1}
        )
        assert response.status == 200
    failing = await client.post("/diagnostics/ping", json={"ticket_key": "DEMO-2", "fail_attempts": 10})
    assert failing.status == 502
    again = await client.post("/diagnostics/ping", json={"ticket_key": "DEMO-2"})
    assert again.status == 200


async def test_unknown_jobs_are_404_and_malformed_ids_422(client: TestClient) -> None:
    response = await client.get("/jobs/0b9f4f8e-0000-0000-0000-000000000000")
    assert response.status == 404
    assert "not found" in (await response.json())["detail"]
    malformed = await client.get("/jobs/not a valid key")
    assert malformed.status == 422
    assert (await malformed.json())["detail"][0]["loc"] == ["path", "job_id"]


async def test_many_jobs_complete_concurrently(client: TestClient) -> None:
    responses = await asyncio.gather(*(client.post("/diagnostics/ping", json={"steps": 2}) for _ in range(40)))
    assert [response.status for response in responses] == [200] * 40
    listing = await (await client.get("/jobs", params={"status": "completed", "limit": "500"})).json()
    assert listing["total"] == 40
