"""The timeline's Gantt chart: the pictures themselves, and the endpoints that serve them from a
job record (created through the job store on real JetStream, served by the real app)."""

from __future__ import annotations

import re
import struct
import uuid
from datetime import date, timedelta
from typing import Any
from xml.etree import ElementTree

import aiohttp
import nats
import pytest
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher

from bot.app import create_app
from bot.charts.gantt import MAX_TASKS, render_png, render_svg
from bot.charts.source import gantt_input
from bot.config import Settings
from bot.jetstream.provision import provision
from bot.jobs.store import JobStore
from schemas.jobs import JobRecord, JobStatus, JobType
from tests.fixtures.clock import ManualClock
from tests.fixtures.nats import make_settings
from tests.fixtures.service import SandboxedService


def _task(key: str, start: date, days: int, skill: str, blocked_by: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "key": key,
        "start": start.isoformat(),
        "end": (start + timedelta(days=days - 1)).isoformat(),
        "estimate_days": float(days),
        "skill": skill,
        "summary": f"Work on {key}",
        "blocked_by": list(blocked_by),
    }


def _result(task_count: int = 4) -> dict[str, Any]:
    """A two-sprint timeline: the first `task_count - 1` tasks in sprint 1, the last in sprint 2."""
    first, second = date(2026, 3, 2), date(2026, 3, 16)
    ends = ("2026-03-15", "2026-03-29")
    tasks = [
        _task(f"DEMO-{100 + n}", first + timedelta(days=n % 5), 1 + n % 3, ("Backend", "Frontend", "QA")[n % 3])
        for n in range(task_count - 1)
    ]
    last = _task("DEMO-99", second, 3, "QA", blocked_by=("DEMO-100", "DEMO-101"))
    return {
        "epic_key": "DEMO-11",
        "timeline": {
            "sprints": [
                {"index": 0, "name": "DEMO Sprint 3", "start": first.isoformat(), "end": ends[0], "tasks": tasks},
                {"index": 1, "name": "DEMO Sprint 4", "start": second.isoformat(), "end": ends[1], "tasks": [last]},
            ],
            "estimated_completion_date": "2026-03-18",
            "warnings": [],
        },
    }


def _ids(svg: bytes, prefix: str) -> list[str]:
    root = ElementTree.fromstring(svg)  # also proves the SVG is well-formed XML
    return [e.get("id", "") for e in root.iter() if e.get("id", "").startswith(prefix)]


def test_the_svg_has_one_bar_per_task_the_sprint_names_and_the_dependency_arrows() -> None:
    chart = gantt_input(_result(), today=date(2026, 3, 17))
    assert chart is not None
    svg = render_svg(chart)
    assert svg.startswith(b"<?xml")
    assert sorted(_ids(svg, "task-")) == ["task-DEMO-100", "task-DEMO-101", "task-DEMO-102", "task-DEMO-99"]
    assert sorted(_ids(svg, "sprint-")) == ["sprint-0", "sprint-1"]
    assert sorted(_ids(svg, "dependency-")) == ["dependency-DEMO-100-DEMO-99", "dependency-DEMO-101-DEMO-99"]
    assert _ids(svg, "today") == ["today"] and _ids(svg, "completion") == ["completion"]
    texts = "".join(ElementTree.fromstring(svg).itertext())
    assert "DEMO Sprint 3" in texts and "DEMO Sprint 4" in texts and "Work on DEMO-100" in texts
    assert "Backend" in texts and "QA" in texts
    assert not _ids(svg, "cut-note")


def test_the_output_is_the_same_for_the_same_input() -> None:
    chart = gantt_input(_result(), today=date(2026, 3, 17))
    assert chart is not None
    svg = render_svg(chart)
    assert svg == render_svg(chart)
    assert render_png(chart) == render_png(chart)
    assert b"<dc:date>" not in svg


def test_the_png_is_a_png_of_a_readable_size() -> None:
    chart = gantt_input(_result(), today=None)
    assert chart is not None
    png = render_png(chart)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    assert 800 <= width <= 2000 and 200 <= height <= 1200


def test_too_many_tasks_are_cut_with_a_note() -> None:
    chart = gantt_input(_result(task_count=MAX_TASKS + 20), today=None)
    assert chart is not None
    svg = render_svg(chart)
    assert len(_ids(svg, "task-")) == MAX_TASKS
    assert _ids(svg, "cut-note") == ["cut-note"]
    assert f"Showing {MAX_TASKS} of {MAX_TASKS + 20} tasks" in "".join(ElementTree.fromstring(svg).itertext())


def test_a_summary_cannot_switch_on_math_text_or_stretch_the_chart() -> None:
    result = _result()
    result["timeline"]["sprints"][0]["tasks"][0]["summary"] = "Cost $5 to $6 " + "x" * 400 + "\x00"
    chart = gantt_input(result, today=None)
    assert chart is not None
    texts = "".join(ElementTree.fromstring(render_svg(chart)).itertext())
    assert "Cost $5 to $6" in texts and "x" * 60 not in texts


def test_task_details_can_come_from_the_assignments() -> None:
    result = _result()
    for sprint in result["timeline"]["sprints"]:
        for task in sprint["tasks"]:
            for name in ("skill", "summary", "blocked_by"):
                task.pop(name)
    result["assignments"] = [
        {"task_key": "DEMO-99", "task_summary": "Check the checkout", "team": "QA", "blocked_by": ["DEMO-100"]}
    ]
    chart = gantt_input(result, today=None)
    assert chart is not None
    svg = render_svg(chart)
    assert "Check the checkout" in "".join(ElementTree.fromstring(svg).itertext())
    assert _ids(svg, "dependency-") == ["dependency-DEMO-100-DEMO-99"]


@pytest.mark.parametrize("result", [None, {"assignments": []}, {"timeline": {"sprints": "no"}}, "text"])
def test_a_result_without_a_readable_timeline_has_no_chart(result: Any) -> None:
    assert gantt_input(result) is None


@pytest.fixture
async def store(settings: Settings):
    connection = await nats.connect(settings.nats.url)
    js = connection.jetstream()
    yield JobStore(js, await provision(js, settings), ManualClock(), lock_ttl_seconds=3600)
    await connection.close()


async def _job(store: JobStore, result: Any) -> str:
    job_id = str(uuid.uuid4())
    record = JobRecord(job_id=job_id, job_type=JobType.timeline_planning, status=JobStatus.completed, result=result)
    await store.create(record)
    return job_id


async def test_the_endpoints_serve_the_chart_with_content_types_and_cache_headers(
    client: TestClient, store: JobStore
) -> None:
    job_id = await _job(store, _result())
    svg = await client.get(f"/jobs/{job_id}/timeline.svg")
    assert svg.status == 200 and svg.content_type == "image/svg+xml"
    assert svg.headers["Cache-Control"] == "private, max-age=60" and svg.headers["ETag"]
    assert len(_ids(await svg.read(), "task-")) == 4
    png = await client.get(f"/jobs/{job_id}/timeline.png")
    assert png.status == 200 and png.content_type == "image/png"
    assert (await png.read())[:8] == b"\x89PNG\r\n\x1a\n"
    again = await client.get(f"/jobs/{job_id}/timeline.svg", headers={"If-None-Match": svg.headers["ETag"]})
    assert again.status == 304


async def test_the_endpoints_answer_404_for_an_unknown_job_or_one_without_a_timeline(
    client: TestClient, store: JobStore
) -> None:
    unknown = await client.get(f"/jobs/{uuid.uuid4()}/timeline.svg")
    assert unknown.status == 404 and "not found" in (await unknown.json())["detail"]
    plain = await _job(store, {"ticket_key": "DEMO-2", "success": True})
    for suffix in ("svg", "png"):
        answer = await client.get(f"/jobs/{plain}/timeline.{suffix}")
        assert answer.status == 404 and (await answer.json())["detail"] == f"Job {plain} has no timeline"
    bad = await client.get("/jobs/not-a-job/timeline.svg")
    assert bad.status == 422


async def test_the_document_names_the_image_types(client: TestClient) -> None:
    paths = (await (await client.get("/openapi.json")).json())["paths"]
    assert list(paths["/jobs/{job_id}/timeline.svg"]["get"]["responses"]["200"]["content"]) == ["image/svg+xml"]
    assert list(paths["/jobs/{job_id}/timeline.png"]["get"]["responses"]["200"]["content"]) == ["image/png"]
    assert re.fullmatch(r"\^.*\$", paths["/jobs/{job_id}/timeline.png"]["get"]["parameters"][0]["schema"]["pattern"])


async def test_the_charts_need_credentials_when_auth_is_on(aiohttp_client, nats_url: str, store: JobStore) -> None:
    password = "a long enough password"
    auth = {"enabled": True, "username": "admin", "password_hash": PasswordHasher().hash(password)}
    client = await aiohttp_client(create_app(make_settings(nats_url, auth=auth)))
    job_id = await _job(store, _result())
    assert (await client.get(f"/jobs/{job_id}/timeline.png")).status == 401
    signed = {"Authorization": aiohttp.encode_basic_auth("admin", password)}
    assert (await client.get(f"/jobs/{job_id}/timeline.png", headers=signed)).status == 200


async def test_the_demo_epic_planned_by_a_timeline_job_has_its_chart(sandboxed: SandboxedService) -> None:
    response = await sandboxed.client.post(
        "/sprint/timeline", json={"epic_key": "DEMO-11", "board_id": 1, "team_capacity_days": 10}
    )
    assert response.status == 200, await response.text()
    listing = await (await sandboxed.client.get("/jobs", params={"job_type": "timeline_planning"})).json()
    [job] = listing["jobs"]
    svg = await sandboxed.client.get(f"/jobs/{job['job_id']}/timeline.svg")
    assert svg.status == 200
    body = await svg.read()
    assert len(_ids(body, "task-")) == 12  # DEMO-12 … DEMO-23
    assert "dependency-DEMO-12-DEMO-13" in _ids(body, "dependency-")
    assert "DEMO Sprint 3" in "".join(ElementTree.fromstring(body).itertext())
