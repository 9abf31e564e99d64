"""A worker whose process stalls longer than `ack_wait` (its heartbeat stops) does not run its
job twice: another worker's later delivery takes it and the stalled run stops at its next record
write; a redelivery to the stalled worker itself waits for the run it already has."""

from __future__ import annotations

from bot.app import create_app
from tests.fixtures.nats import make_settings
from tests.fixtures.service import eventually, finished, service_environment, wait_for_job
from tests.test_job_recovery import start_workers

STALL = 4.0
SUPERSEDED = "job claimed by a later delivery"


async def test_a_stalled_workers_job_is_taken_over_once_and_the_stalled_run_stops(
    aiohttp_client, nats_url: str, augment_processes
) -> None:
    settings = make_settings(nats_url, limits={"ack_wait_seconds": 1}, worker={"allow_stall": True})
    env = service_environment(settings, WORKER_ALLOW_STALL="true")
    workers = await start_workers(augment_processes, env, 2)
    api = await aiohttp_client(create_app(settings, with_worker=False))
    response = await api.post(
        "/diagnostics/ping", json={"async_mode": True, "steps": 3, "step_seconds": 0.1, "stall_seconds": STALL}
    )
    job_id = (await response.json())["job_id"]

    job = await wait_for_job(api, job_id, finished, timeout=30)
    assert job["status"] == "completed", job["error"]
    assert job["deliveries"] == 2
    finisher = int(job["result"]["worker"].rsplit(":", 1)[1])
    (stalled,) = [process for pid, process in workers.alive.items() if pid != finisher]

    # The stalled run wakes up, finds the later claim at its next write and stops there.
    async def stopped() -> bool:
        return SUPERSEDED in stalled.output

    await eventually(stopped, "the stalled run stopped", seconds=STALL + 20)
    after = await (await api.get(f"/jobs/{job_id}")).json()
    assert (after["status"], after["result"], after["deliveries"]) == ("completed", job["result"], 2)


async def test_a_redelivery_to_the_stalled_worker_itself_waits_for_its_run(
    aiohttp_client, nats_url: str, augment_processes
) -> None:
    settings = make_settings(nats_url, limits={"ack_wait_seconds": 1}, worker={"allow_stall": True})
    workers = await start_workers(augment_processes, service_environment(settings, WORKER_ALLOW_STALL="true"), 1)
    (worker,) = workers.alive.values()
    api = await aiohttp_client(create_app(settings, with_worker=False))
    response = await api.post(
        "/diagnostics/ping", json={"async_mode": True, "steps": 3, "step_seconds": 0.1, "stall_seconds": STALL}
    )
    job_id = (await response.json())["job_id"]

    job = await wait_for_job(api, job_id, finished, timeout=30)
    assert job["status"] == "completed", job["error"]
    assert job["deliveries"] == 1  # the redelivery never claimed it
    assert "job redelivered while it runs here" in worker.output


async def test_stalling_a_worker_is_refused_unless_allowed(aiohttp_client, nats_url: str) -> None:
    api = await aiohttp_client(create_app(make_settings(nats_url), with_worker=False))
    response = await api.post("/diagnostics/ping", json={"stall_seconds": 1, "async_mode": True})
    assert response.status == 422
    assert (await response.json())["detail"][0]["loc"] == ["body", "stall_seconds"]
