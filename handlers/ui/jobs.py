"""The jobs pages: every job, live, and one job whole."""

from __future__ import annotations

from aiohttp import web

from bot.http.routes import RouteTable
from bot.services import services
from handlers.ui import page
from schemas.jobs import JobListQuery

routes = RouteTable("ui")


@routes.get("/ui/jobs", in_schema=False)
async def jobs_page(request: web.Request) -> web.Response:
    listing = await services(request).jobs.list(JobListQuery(limit=50))
    return page(request, "jobs/list.html", listing=listing)
