"""Jobs outlive the processes that run or accept them.

Workers are `augment worker` processes stopped with SIGTERM (a hand-back) or SIGKILL (a
crash); the API runs in the test. A hand-back never uses up an attempt, a job that keeps
advancing survives any number of crashes, a job that dies at the same point every time
still fails, and an API that died halfway through queuing leaves nothing stuck.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import nats
from aiohttp.test_utils import TestClient
from nats.js.errors import KeyNotFoundError

from bot.app import create_app
from bot.config import Settings
from bot.jetstream import layout
from bot.jetstream.provision import provision
from bot.services import SERVICES
from schemas.diagnostics import PingRequest
from schemas.jobs import JobRecord, JobType, Progress, utc_now
from tests.fixtures.nats import make_settings
from tests.fixtures.service import (
    SANDBOXED,
    AugmentProcess,
    SandboxedService,
    eventually,
    finished,
    service_environment,
    wait_for_job,
)

STARTUP_SECONDS = 30.0
TICKETS = 40
STOPPED_RESPONDING = "The worker stopped responding with no progress since it took the job"


async def start_workers(start: Callable[..., AugmentProcess], env: dict[str, str], count: int) -> Workers:
    """`count` `augment worker` processes, all fetching jobs (started at once: each takes seconds)."""
    processes = [start("worker", env) for _ in range(count)]
    deadline = asyncio.get_running_loop().time() + STARTUP_SECONDS
    for process in processes:
        while "worker started" not in process.output:
            assert process.running(), process.output
            assert asyncio.get_running_loop().time() < deadline, process.output
            await asyncio.sleep(0.05)
    return Workers({process.pid: process for process in processes})


class Workers:
    """The live workers; a job's record names the one holding it (`host:pid`)."""

    def __init__(self, alive: dict[int, AugmentProcess]) -> None:
        self.alive = alive

    def holds(self, job: dict[str, Any]) -> bool:
        return job["status"] == "processing" and self._pid(job) in self.alive

    def take_holder(self, job: dict[str, Any]) -> AugmentProcess:
        return self.alive.pop(self._pid(job))

    @staticmethod
    def _pid(job: dict[str, Any]) -> int:
        return int((job["worker"] or ":0").rsplit(":", 1)[1])


async def test_rolling_sigterms_hand_the_job_back_without_using_up_attempts(
    aiohttp_client, nats_url: str, augment_processes
) -> None:
    """More rolling restarts than `max_attempts` during one job: it completes, in one attempt.
    (Each delivery runs 10 s, long enough for a loaded CI machine to catch it mid-way.)"""
    # A long ack_wait: a handed-back job lost on its way to the next worker would wait it out.
    settings = make_settings(nats_url, limits={"max_attempts": 2, "ack_wait_seconds": 120})
    restarts = settings.limits.max_attempts + 1
    env = service_environment(settings, LIMITS_DRAIN_TIMEOUT_SECONDS="0.2")
    workers = await start_workers(augment_processes, env, restarts + 1)
    api = await aiohttp_client(create_app(settings, with_worker=False))
    response = await api.post(
        "/diagnostics/ping", json={"ticket_key": "DEMO-30", "async_mode": True, "steps": 40, "step_seconds": 0.25}
    )
    job_id = (await response.json())["job_id"]

    for _ in range(restarts):
        held = await wait_for_job(api, job_id, workers.holds)
        assert workers.take_holder(held).terminate() == 0

    job = await wait_for_job(api, job_id, finished, timeout=30)
    assert job["status"] == "completed", job["error"]
    assert job["result"]["steps"] == 40
    assert (job["attempts"], job["failed_attempts"], job["deliveries"]) == (1, 0, restarts + 1)
    assert (await api.post("/diagnostics/ping", json={"ticket_key": "DEMO-30"})).status == 200


def worker_environment(settings: Settings, runtime_settings: Settings, **extra: str) -> dict[str, str]:
    """A worker aimed at the sandbox the in-test API started."""
    jira, openai = runtime_settings.jira, runtime_settings.openai
    return service_environment(
        settings,
        JIRA_URL=jira.url,
        JIRA_EMAIL=jira.email,
        JIRA_TOKEN=jira.token.get_secret_value(),
        OPENAI_API_KEY=openai.api_key.get_secret_value(),
        OPENAI_BASE_URL=openai.base_url,
        **extra,
    )


async def test_a_batch_resumes_through_more_crashes_than_max_attempts(
    aiohttp_client, nats_url: str, augment_processes
) -> None:
    """Workers SIGKILLed mid-batch, each after it got some tickets done: the batch finishes
    every ticket, and no ticket is written to Jira twice."""
    settings = make_settings(
        nats_url, sandbox=SANDBOXED, llm={"max_retries": 6}, jira={"max_retries": 6}, limits={"max_attempts": 2}
    )
    api = await aiohttp_client(create_app(settings, with_worker=False))
    runtime = api.app[SERVICES].runtime
    service = SandboxedService(api, runtime.sandbox)
    env = worker_environment(settings, runtime.settings, GENERATION_BATCH_CONCURRENCY="2")
    keys = []
    for number in range(TICKETS):
        fields = {
            "project": {"key": "DEMO"},
            "issuetype": {"name": "Story"},
            "summary": f"Crash-proof story {number}",
            "labels": ["crashes"],
        }
        keys.append((await service.jira("POST", "/rest/api/2/issue", json={"fields": fields}))["key"])
    await service.llm_faults(latency_ms=500)

    crashes = settings.limits.max_attempts + 1
    workers = await start_workers(augment_processes, env, crashes + 1)
    response = await api.post(
        "/generate/batch", json={"jql": "labels = crashes ORDER BY key", "max_results": 50, "update_jira": True}
    )
    job_id = (await response.json())["job_id"]
    for _ in range(crashes):
        held = await wait_for_job(api, job_id, workers.holds, timeout=30)
        mark = held["progress"]["processed"] or 0
        await wait_for_job(api, job_id, lambda job, mark=mark: (job["progress"]["processed"] or 0) >= mark + 2)
        workers.take_holder(held).kill()

    job = await wait_for_job(api, job_id, finished, timeout=90)
    assert job["status"] == "completed", job["error"]
    counts = [job[f"{count}_tickets"] for count in ("processed", "successful", "failed", "skipped")]
    assert counts == [TICKETS, TICKETS, 0, 0], [outcome["error"] for outcome in job["result"] if not outcome["success"]]
    assert sorted(outcome["ticket_key"] for outcome in job["result"]) == sorted(keys)
    assert all(outcome["updated_in_jira"] for outcome in job["result"])
    assert (job["attempts"], job["failed_attempts"], job["deliveries"]) == (1, 0, crashes + 1)
    writes = (await service.jira_requests())["by_route"]
    assert sum(count for route, count in writes.items() if route.startswith("PUT ") and "/issue/" in route) == TICKETS


async def test_a_job_that_kills_its_worker_at_the_same_point_every_time_fails(
    aiohttp_client, nats_url: str, augment_processes
) -> None:
    """Killed at its first step on every delivery: the first crash follows progress, the
    next `max_attempts` do not, and the job fails saying why."""
    settings = make_settings(nats_url, limits={"ack_wait_seconds": 1, "max_attempts": 2})
    env = service_environment(settings)
    workers = await start_workers(augment_processes, env, settings.limits.max_attempts + 2)
    api = await aiohttp_client(create_app(settings, with_worker=False))
    response = await api.post(
        "/diagnostics/ping", json={"ticket_key": "DEMO-31", "async_mode": True, "steps": 10, "step_seconds": 1.5}
    )
    job_id = (await response.json())["job_id"]

    def at_first_step_or_ended(job: dict[str, Any]) -> bool:
        return finished(job) or (workers.holds(job) and job["progress"]["message"] == "Step 1 of 10")

    kills = 0
    for _ in range(settings.limits.max_attempts + 2):
        job = await wait_for_job(api, job_id, at_first_step_or_ended, timeout=30)
        if finished(job):
            break
        workers.take_holder(job).kill()
        kills += 1

    assert job["status"] == "failed"
    assert kills == settings.limits.max_attempts + 1
    assert job["error"].startswith(STOPPED_RESPONDING)
    assert (job["attempts"], job["failed_attempts"]) == (2, 2)
    assert (await api.post("/diagnostics/ping", json={"ticket_key": "DEMO-31"})).status == 200


# -- an API that died halfway through queuing a job ---------------------------------------

LONG_AGO = timedelta(minutes=5)


def queued_ping(ticket_key: str) -> JobRecord:
    """A ping as an API queued it five minutes ago."""
    then = utc_now() - LONG_AGO
    return JobRecord(
        job_id=str(uuid.uuid4()),
        job_type=JobType.ping,
        ticket_keys=[ticket_key],
        request=PingRequest(ticket_key=ticket_key, steps=2).model_dump(mode="json"),
        progress=Progress(message="Ping queued"),
        created_at=then,
        updated_at=then,
    )


async def leave_behind(
    settings: Settings, *, records: list[JobRecord], locks: list[JobRecord], queued: list[JobRecord]
) -> None:
    """Write to NATS what a dead API left: records, ticket locks, work-queue messages."""
    client = await nats.connect(settings.nats.url)
    try:
        js = client.jetstream()
        buckets = await provision(js, settings)
        for record in records:
            await buckets.jobs.create(record.job_id, record.model_dump_json().encode())
        for record in locks:
            lock = {"job_id": record.job_id, "job_type": record.job_type, "locked_at": record.created_at.isoformat()}
            await buckets.active.create(record.ticket_keys[0], json.dumps(lock).encode())
        for record in queued:
            await js.publish(
                layout.job_subject(record.job_type, record.job_id),
                record.model_dump_json().encode(),
                stream=layout.JOBS_STREAM,
            )
    finally:
        await client.close()


async def is_locked(settings: Settings, ticket_key: str) -> bool:
    client = await nats.connect(settings.nats.url)
    try:
        await (await client.jetstream().key_value(layout.ACTIVE_BUCKET)).get(ticket_key)
    except KeyNotFoundError:
        return False
    finally:
        await client.close()
    return True


async def wait_until_unlocked(settings: Settings, ticket_key: str) -> None:
    async def unlocked() -> bool:
        return not await is_locked(settings, ticket_key)

    await eventually(unlocked, f"{ticket_key} is no longer locked")


async def test_a_job_recorded_but_never_queued_is_queued_again_and_its_lock_released(
    aiohttp_client, settings: Settings
) -> None:
    """An API (of an older version, which recorded before queuing) died in between: the job
    stayed `started` holding its ticket. A service that starts queues it again and it runs.
    A lock whose job was never recorded nor queued (an API that died before publishing) no
    longer holds its ticket."""
    stuck, never_recorded = queued_ping("DEMO-32"), queued_ping("DEMO-33")
    await leave_behind(settings, records=[stuck], locks=[stuck, never_recorded], queued=[])

    client: TestClient = await aiohttp_client(create_app(settings))
    job = await wait_for_job(client, stuck.job_id, finished)
    assert job["status"] == "completed"
    assert (job["attempts"], job["deliveries"]) == (1, 1)
    await wait_until_unlocked(settings, "DEMO-32")
    assert (await client.post("/diagnostics/ping", json={"ticket_key": "DEMO-32"})).status == 200
    assert (await client.post("/diagnostics/ping", json={"ticket_key": "DEMO-33"})).status == 200


async def test_a_job_queued_but_never_recorded_is_run(aiohttp_client, settings: Settings) -> None:
    """The API died after queuing and before recording: the worker records the job from its
    message and runs it; the ticket is released when it ends."""
    lost = queued_ping("DEMO-34")
    await leave_behind(settings, records=[], locks=[lost], queued=[lost])

    client: TestClient = await aiohttp_client(create_app(settings))
    await wait_for_job_to_appear(client, lost.job_id)
    job = await wait_for_job(client, lost.job_id, finished)
    assert job["status"] == "completed"
    assert job["request"]["ticket_key"] == "DEMO-34"
    assert (await client.get("/jobs/ticket/DEMO-34")).status == 200
    await wait_until_unlocked(settings, "DEMO-34")


async def wait_for_job_to_appear(client: TestClient, job_id: str) -> None:
    async def recorded() -> bool:
        response = await client.get(f"/jobs/{job_id}")
        assert response.status in (200, 404), await response.text()
        return response.status == 200

    await eventually(recorded, f"job {job_id} is recorded")
