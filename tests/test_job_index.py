"""The API's index of jobs: every filter pages newest first, and a job that changes status moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.jobs.watch import JobIndex
from schemas.jobs import JobRecord, JobStatus, JobType

START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


def job(number: int, status: JobStatus, job_type: JobType = JobType.ping) -> JobRecord:
    return JobRecord(
        job_id=f"job-{number:03d}", job_type=job_type, status=status, created_at=START + timedelta(seconds=number)
    )


def every_page(index: JobIndex, **filters: Any) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        page = index.page(limit=3, cursor=cursor, **filters)
        seen += page.job_ids
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("the pages never ended")


def test_each_filter_pages_its_own_jobs_newest_first_and_a_status_change_moves_a_job() -> None:
    index = JobIndex()
    for number in range(10):
        index.put(job(number, JobStatus.completed if number < 4 else JobStatus.started))
    index.put(job(10, JobStatus.completed, JobType.single))

    assert every_page(index, status=JobStatus.completed, job_type=None) == [
        "job-010",
        "job-003",
        "job-002",
        "job-001",
        "job-000",
    ]
    assert index.page(status=JobStatus.started, job_type=None, limit=3, cursor=None).total == 6
    assert every_page(index, status=None, job_type=JobType.single) == ["job-010"]
    assert len(every_page(index, status=None, job_type=None)) == 11

    index.put(job(7, JobStatus.completed))  # it ran
    index.put(job(7, JobStatus.completed))  # the same state again changes nothing
    assert every_page(index, status=JobStatus.completed, job_type=JobType.ping) == [
        "job-007",
        "job-003",
        "job-002",
        "job-001",
        "job-000",
    ]
    assert "job-007" not in every_page(index, status=JobStatus.started, job_type=None)
    assert index.page(status=JobStatus.started, job_type=JobType.ping, limit=1, cursor=None).total == 5

    index.remove("job-003")
    assert every_page(index, status=JobStatus.completed, job_type=None) == [
        "job-010",
        "job-007",
        "job-002",
        "job-001",
        "job-000",
    ]
    assert len(every_page(index, status=None, job_type=None)) == 10
