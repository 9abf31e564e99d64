"""Compare-and-set on job records and create-if-absent on ticket locks, against real JetStream."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import nats
import pytest

from bot.config import Settings
from bot.jetstream.provision import provision
from bot.jobs.store import ORPHAN_LOCK_GRACE_SECONDS, JobStore, TicketBusyError
from schemas.jobs import JobRecord, JobStatus, JobType
from tests.fixtures.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def stores(settings: Settings, clock: ManualClock):
    """Two stores on two connections, as an API process and a worker process would have."""
    clients = [await nats.connect(settings.nats.url) for _ in range(2)]
    made = []
    for client in clients:
        js = client.jetstream()
        made.append(JobStore(js, await provision(js, settings), clock, lock_ttl_seconds=3600))
    yield made
    for client in clients:
        await client.close()


async def test_concurrent_writers_lose_no_update(stores: list[JobStore]) -> None:
    record = JobRecord(job_id="job-cas", job_type=JobType.ping)
    await stores[0].create(record)

    def bump(current: JobRecord) -> JobRecord:
        current.attempts += 1
        return current

    await asyncio.gather(*(stores[i % 2].update("job-cas", bump) for i in range(60)))
    final = await stores[1].get("job-cas")
    assert final is not None
    assert final.attempts == 60


async def test_a_final_status_is_never_overwritten(stores: list[JobStore]) -> None:
    await stores[0].create(JobRecord(job_id="job-final", job_type=JobType.ping))

    def finish(status: JobStatus):
        def change(current: JobRecord) -> JobRecord | None:
            if current.status.is_final:
                return None
            current.status = status
            return current

        return change

    results = await asyncio.gather(
        stores[0].update("job-final", finish(JobStatus.cancelled)),
        stores[1].update("job-final", finish(JobStatus.completed)),
    )
    winners = [change.after.status for change in results if not change.before.status.is_final]
    final = await stores[0].get("job-final")
    assert final is not None
    assert len(winners) == 1
    assert final.status == winners[0]


async def test_exactly_one_of_many_racing_jobs_gets_the_ticket(stores: list[JobStore]) -> None:
    for i in range(20):
        await stores[0].create(JobRecord(job_id=f"racer-{i}", job_type=JobType.ping, ticket_keys=["DEMO-1"]))
    outcomes = await asyncio.gather(
        *(stores[i % 2].lock_ticket("DEMO-1", f"racer-{i}", "ping") for i in range(20)), return_exceptions=True
    )
    winners = [i for i, outcome in enumerate(outcomes) if outcome is None]
    assert len(winners) == 1
    losers = [outcome for outcome in outcomes if isinstance(outcome, TicketBusyError)]
    assert len(losers) == 19
    assert {loser.lock.job_id for loser in losers} == {f"racer-{winners[0]}"}


async def test_a_lock_left_by_a_finished_job_is_taken_over(stores: list[JobStore]) -> None:
    await stores[0].create(
        JobRecord(job_id="gone", job_type=JobType.ping, status=JobStatus.completed, ticket_keys=["DEMO-2"])
    )
    await stores[0].lock_ticket("DEMO-2", "gone", "ping")  # as if the release was lost in a crash
    await stores[1].lock_ticket("DEMO-2", "fresh", "ping")
    holder = await stores[0].ticket_lock("DEMO-2")
    assert holder is not None and holder.job_id == "fresh"


async def test_release_never_drops_another_jobs_lock(stores: list[JobStore]) -> None:
    await stores[0].create(
        JobRecord(job_id="first", job_type=JobType.ping, status=JobStatus.cancelled, ticket_keys=["DEMO-3"])
    )
    await stores[0].lock_ticket("DEMO-3", "second", "ping")
    first = await stores[0].get("first")
    assert first is not None
    await stores[0].release_tickets(first)
    holder = await stores[1].ticket_lock("DEMO-3")
    assert holder is not None and holder.job_id == "second"


async def test_a_lock_whose_job_never_appeared_is_taken_over_after_the_grace_period(
    stores: list[JobStore], clock: ManualClock
) -> None:
    """The API died between locking the ticket and queuing the job: the lock holds the ticket
    for the grace period, then the next job takes it over (the clock moves; nothing sleeps)."""
    await stores[0].lock_ticket("DEMO-4", "never-queued", "ping")
    with pytest.raises(TicketBusyError):
        await stores[1].lock_ticket("DEMO-4", "next", "ping")
    clock.advance(timedelta(seconds=ORPHAN_LOCK_GRACE_SECONDS + 1))
    await stores[1].lock_ticket("DEMO-4", "next", "ping")
    holder = await stores[0].ticket_lock("DEMO-4")
    assert holder is not None and holder.job_id == "next"
