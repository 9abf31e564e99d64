"""Retries, dead-lettering, and workers that crash mid-job (killed with SIGKILL)."""

from __future__ import annotations

import json

import nats
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.config import Settings
from bot.jetstream import layout
from tests.fixtures.nats import make_settings
from tests.fixtures.service import finished, service_environment, wait_for_job


async def dead_letters(nats_url: str) -> list[dict]:
    client = await nats.connect(nats_url)
    js = client.jetstream()
    info = await js.stream_info(layout.DEAD_LETTER_STREAM)
    letters = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg(layout.DEAD_LETTER_STREAM, seq)
        letters.append({"subject": message.subject, **json.loads(message.data)})
    await client.close()
    return letters if info.state.messages else []


async def test_a_job_failing_every_attempt_is_failed_and_dead_lettered(client: TestClient, nats_url: str) -> None:
    response = await client.post("/diagnostics/ping", json={"ticket_key": "DEMO-9", "fail_attempts": 5})
    assert response.status == 502
    detail = (await response.json())["detail"]
    assert detail == "ping failed on purpose (attempt 3 of the 5 asked to fail) (gave up after 3 attempts)"
    job_id = response.headers["X-Job-Id"]

    job = await (await client.get(f"/jobs/{job_id}")).json()
    assert job["status"] == "failed"
    assert (job["attempts"], job["failed_attempts"], job["deliveries"]) == (3, 3, 3)
    assert job["error"] == detail
    assert job["progress"]["message"] == f"Failed: {detail}"

    letters = await dead_letters(nats_url)
    assert [letter["subject"] for letter in letters] == [f"augment.dead.ping.{job_id}"]
    assert letters[0]["error"] == detail
    # The ticket is released on failure.
    assert (await client.post("/diagnostics/ping", json={"ticket_key": "DEMO-9"})).status == 200


async def test_a_worker_killed_mid_job_has_the_job_redelivered_and_finished(
    aiohttp_client, settings: Settings, augment_processes
) -> None:
    api = await aiohttp_client(create_app(settings, with_worker=False))
    doomed = augment_processes("worker", service_environment(settings))
    response = await api.post(
        "/diagnostics/ping", json={"ticket_key": "DEMO-11", "async_mode": True, "steps": 40, "step_seconds": 0.1}
    )
    job_id = (await response.json())["job_id"]
    claimed = await wait_for_job(api, job_id, lambda job: (job["progress"]["processed"] or 0) >= 2)
    assert claimed["worker"].endswith(f":{doomed.pid}")

    doomed.kill()
    survivor = await aiohttp_client(create_app(settings))  # a fresh process's workers
    job = await wait_for_job(survivor, job_id, finished, timeout=30)
    assert job["status"] == "completed"
    # It had made progress before the crash: the same attempt goes on, on a second delivery.
    assert (job["attempts"], job["failed_attempts"], job["deliveries"]) == (1, 0, 2)
    assert not job["worker"].endswith(f":{doomed.pid}")
    assert job["result"]["steps"] == 40
    # The ticket stayed locked through the crash, and is free now.
    assert (await survivor.post("/diagnostics/ping", json={"ticket_key": "DEMO-11"})).status == 200


async def test_a_worker_dying_without_progress_on_the_last_attempt_fails_the_job(
    aiohttp_client, nats_url: str, augment_processes
) -> None:
    settings = make_settings(nats_url, limits={"max_attempts": 1})
    api = await aiohttp_client(create_app(settings, with_worker=False))
    doomed = augment_processes("worker", service_environment(settings))
    response = await api.post(
        "/diagnostics/ping", json={"ticket_key": "DEMO-12", "async_mode": True, "steps": 2, "step_seconds": 30}
    )
    job_id = (await response.json())["job_id"]
    await wait_for_job(api, job_id, lambda job: job["status"] == "processing")

    doomed.kill()  # before its first step: no progress
    survivor = await aiohttp_client(create_app(settings))  # the next delivery finds the crash
    job = await wait_for_job(survivor, job_id, finished, timeout=30)
    assert job["status"] == "failed"
    assert job["error"] == (
        "The worker stopped responding with no progress since it took the job (it crashed, or sent no "
        "heartbeat for limits.ack_wait_seconds) (gave up after 1 attempts)"
    )
    assert (job["attempts"], job["failed_attempts"], job["deliveries"]) == (1, 1, 1)
    assert [letter["subject"] for letter in await dead_letters(nats_url)] == [f"augment.dead.ping.{job_id}"]
    assert (await survivor.post("/diagnostics/ping", json={"ticket_key": "DEMO-12"})).status == 200


async def test_a_job_handed_out_max_deliveries_times_is_failed(
    aiohttp_client, nats_url: str, augment_processes
) -> None:
    """JetStream's delivery limit is the safety net: its advisory fails the job."""
    settings = make_settings(nats_url, limits={"max_deliveries": 1})
    api = await aiohttp_client(create_app(settings, with_worker=False))
    doomed = augment_processes("worker", service_environment(settings, LIMITS_MAX_DELIVERIES="1"))
    response = await api.post(
        "/diagnostics/ping", json={"ticket_key": "DEMO-13", "async_mode": True, "steps": 100, "step_seconds": 0.1}
    )
    job_id = (await response.json())["job_id"]
    await wait_for_job(api, job_id, lambda job: (job["progress"]["processed"] or 0) >= 1)

    survivor = await aiohttp_client(create_app(settings))  # listens for the max-deliveries advisory
    doomed.kill()
    job = await wait_for_job(survivor, job_id, finished, timeout=30)
    assert job["status"] == "failed"
    assert job["error"].startswith("Handed to a worker 1 times (limits.max_deliveries) without ending")
    assert [letter["subject"] for letter in await dead_letters(nats_url)] == [f"augment.dead.ping.{job_id}"]
    assert (await survivor.post("/diagnostics/ping", json={"ticket_key": "DEMO-13"})).status == 200


async def test_sigterm_lets_running_jobs_finish(aiohttp_client, settings: Settings, augment_processes) -> None:
    api = await aiohttp_client(create_app(settings, with_worker=False))
    worker = augment_processes("worker", service_environment(settings, LIMITS_DRAIN_TIMEOUT_SECONDS="10"))
    response = await api.post("/diagnostics/ping", json={"async_mode": True, "steps": 10, "step_seconds": 0.1})
    job_id = (await response.json())["job_id"]
    await wait_for_job(api, job_id, lambda job: job["status"] == "processing")

    assert worker.terminate() == 0
    job = await (await api.get(f"/jobs/{job_id}")).json()
    assert job["status"] == "completed"
    assert (job["attempts"], job["deliveries"]) == (1, 1)
    assert "draining jobs" in worker.output


async def test_sigterm_hands_back_a_job_that_outlasts_the_drain(
    aiohttp_client, settings: Settings, augment_processes
) -> None:
    api = await aiohttp_client(create_app(settings, with_worker=False))
    worker = augment_processes("worker", service_environment(settings, LIMITS_DRAIN_TIMEOUT_SECONDS="0.2"))
    response = await api.post("/diagnostics/ping", json={"async_mode": True, "steps": 30, "step_seconds": 0.1})
    job_id = (await response.json())["job_id"]
    await wait_for_job(api, job_id, lambda job: job["status"] == "processing")

    assert worker.terminate() == 0
    handed_back = await (await api.get(f"/jobs/{job_id}")).json()
    assert handed_back["status"] == "started"
    assert "Interrupted by a worker shutdown" in handed_back["progress"]["message"]

    survivor = await aiohttp_client(create_app(settings))
    job = await wait_for_job(survivor, job_id, finished, timeout=15)
    assert job["status"] == "completed"
    assert (job["attempts"], job["failed_attempts"], job["deliveries"]) == (1, 0, 2)  # a hand-back is no failure
