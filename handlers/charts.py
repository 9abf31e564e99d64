"""`GET /jobs/{job_id}/timeline.svg` and `.png`: the Gantt chart of a planning job's timeline.

A job whose result carries a `timeline` (sprint and timeline planning) has a chart; any other
job, an unfinished one, or an unknown id answers 404. The chart is drawn on each request, off
the event loop, from the stored result alone (`bot.charts.source`), with today's date marked.
`ETag` is the hash of what the picture is drawn from (the timeline, the task details, the day),
so a client that sends it back in `If-None-Match` gets a 304 without a redraw; `Cache-Control`
keeps it private (behind auth, like every job) and lets a browser reuse it for a minute.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime

from aiohttp import web

from bot.charts.model import GanttInput
from bot.charts.source import gantt_input
from bot.http.routes import ApiError, RouteTable
from bot.jobs.store import JobNotFoundError
from bot.services import services
from schemas.keys import JobPath

routes = RouteTable("jobs")

CACHE_CONTROL = "private, max-age=60"
SVG = "image/svg+xml"
PNG = "image/png"


@routes.get(
    "/jobs/{job_id}/timeline.svg",
    path_params=JobPath,
    media_type=SVG,
    errors={404: "Unknown job, or a job without a timeline"},
    summary="The timeline of a planning job as an SVG Gantt chart",
)
async def timeline_svg(request: web.Request, job_id: str) -> web.Response:
    """Sprints as bands, tasks as bars in lanes per skill, dependency arrows, today and the
    estimated completion date; at most 80 tasks (a note says how many were left out)."""
    return await _chart(request, job_id, SVG)


@routes.get(
    "/jobs/{job_id}/timeline.png",
    path_params=JobPath,
    media_type=PNG,
    errors={404: "Unknown job, or a job without a timeline"},
    summary="The timeline of a planning job as a PNG Gantt chart",
)
async def timeline_png(request: web.Request, job_id: str) -> web.Response:
    """The same chart as `timeline.svg`, as a PNG (for Jira attachments and chat)."""
    return await _chart(request, job_id, PNG)


async def _chart(request: web.Request, job_id: str, media: str) -> web.Response:
    try:
        record = await services(request).jobs.get(job_id)
    except JobNotFoundError:
        raise ApiError(404, f"Job {job_id} not found") from None
    chart = gantt_input(record.result, today=datetime.now(UTC).date())
    if chart is None:
        raise ApiError(404, f"Job {job_id} has no timeline")
    etag = _etag(chart, media)
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag}
    if etag in _tags(request.headers.get("If-None-Match", "")):
        return web.Response(status=304, headers=headers)
    from bot.charts import gantt  # matplotlib (about 60 MiB) loads with the first chart drawn

    body = await asyncio.to_thread(gantt.render_svg if media == SVG else gantt.render_png, chart)
    return web.Response(body=body, content_type=media, headers=headers)


def _etag(chart: GanttInput, media: str) -> str:
    source = json.dumps([repr(chart), media], sort_keys=True).encode()
    return '"' + hashlib.sha256(source).hexdigest()[:32] + '"'


def _tags(header: str) -> set[str]:
    return {part.strip().removeprefix("W/") for part in header.split(",")[:20] if part.strip()}
