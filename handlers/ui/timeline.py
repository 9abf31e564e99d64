"""The timeline pages: sprint and timeline plans as a Gantt chart, sprint capacity and warnings.

- `/ui/timeline` lists the newest planning jobs of both types (at most `LIMIT`, and says when
  there are more).
- `/ui/timeline/{job_id}` shows the chart `/jobs/{job_id}/timeline.svg` draws (`handlers.charts`)
  and, for who cannot see it, the same tasks as a table. The page reads the job's result as the
  chart does (`bot.charts.source.gantt_input`), so a sprint plan and a timeline plan show alike.
- Capacity: a result keeps each sprint's total capacity and use (the use counting work already
  in the sprint), not a split per skill. With a team, a skill's capacity is the team's now
  (`capacity_per_skill` for the sprint's working days), and the page says so; a skill's planned
  days are the plan's own tasks of that skill.
- A job still running shows that, and the section asks again every few seconds until it ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from aiohttp import web

from bot.charts.model import TaskInfo
from bot.charts.source import gantt_input
from bot.http.routes import RouteTable
from bot.jobs.store import JobNotFoundError
from bot.scheduling.timeline import SprintTimeline, working_days
from bot.services import services
from bot.teams.capacity import capacity_per_skill
from bot.teams.store import TeamStore
from handlers.ui import page
from schemas.jobs import JobListQuery, JobRecord, JobStatus, JobSummary, JobType
from schemas.keys import JobPath
from schemas.teams import Team

routes = RouteTable("ui")

PLANNING_TYPES = (JobType.sprint_planning, JobType.timeline_planning)
LIMIT = 50
MAX_ROWS = 500  # tasks in the text table; the chart itself draws at most 80
NO_SKILL = "No skill"


@dataclass(frozen=True)
class Bar:
    """Days planned against the days available: a bar, and its numbers as text."""

    label: str
    planned: float
    capacity: float | None  # None: not known (a skill of a plan made without a team)

    @property
    def percent(self) -> float | None:
        return round(100 * self.planned / self.capacity, 1) if self.capacity else None

    @property
    def over(self) -> bool:
        return self.capacity is not None and self.planned > self.capacity + 1e-9

    @property
    def width(self) -> float:
        """The bar's filled share of its track, in percent (a full track when over)."""
        return min(self.percent or 0.0, 100.0)


@dataclass(frozen=True)
class SprintLoad:
    name: str
    start: date
    end: date
    total: Bar
    used_percent: float  # of the capacity, counting work that was in the sprint before the plan
    skills: list[Bar]


@dataclass(frozen=True)
class TaskRow:
    key: str
    summary: str
    skill: str | None
    start: date
    end: date
    estimate: float
    sprint: str


@routes.get("/ui/timeline", in_schema=False)
async def timeline_list(request: web.Request) -> web.Response:
    jobs = services(request).jobs
    listings = [await jobs.list(JobListQuery(job_type=job_type, limit=LIMIT)) for job_type in PLANNING_TYPES]
    found: list[JobSummary] = sorted(
        (job for listing in listings for job in listing.jobs), key=lambda job: job.created_at, reverse=True
    )
    total = sum(listing.total for listing in listings)
    return page(request, "timeline/list.html", jobs=found[:LIMIT], total=total, limit=LIMIT)


@routes.get("/ui/timeline/{job_id}", path_params=JobPath, in_schema=False)
async def timeline_page(request: web.Request, job_id: str) -> web.Response:
    try:
        record = await services(request).jobs.get(job_id)
    except JobNotFoundError:
        return page(request, "timeline/missing.html", status=404, job_id=job_id, record=None)
    if record.job_type not in PLANNING_TYPES:
        return page(request, "timeline/missing.html", status=404, job_id=job_id, record=record)
    chart = gantt_input(record.result) if record.status.is_final else None
    result: dict[str, Any] = record.result if isinstance(record.result, dict) else {}
    loads: list[SprintLoad] = []
    rows: list[TaskRow] = []
    team: Team | None = None
    if chart is not None:
        team = await _team(request, record)
        loads = [_load(sprint, chart.tasks, team) for sprint in chart.timeline.sprints]
        rows = [
            TaskRow(task.key, info.summary, info.skill, task.start, task.end, task.estimate_days, sprint.name)
            for sprint in chart.timeline.sprints
            for task in sprint.tasks
            for info in [chart.tasks.get(task.key, TaskInfo())]
        ]
    return page(
        request,
        "timeline/job.html",
        record=record,
        epic=", ".join(record.ticket_keys) or "an epic",
        running=not record.status.is_final,
        has_chart=chart is not None,
        loads=loads,
        rows=rows[:MAX_ROWS],
        task_count=len(rows),
        team=team,
        warnings=_notes(result, "warnings"),
        errors=_notes(result, "errors"),
        completion=chart.timeline.estimated_completion_date if chart else None,
        preview=_is_preview(record),
    )


def _load(sprint: SprintTimeline, tasks: Mapping[str, TaskInfo], team: Team | None) -> SprintLoad:
    planned: dict[str, float] = {}
    for task in sprint.tasks:
        info = tasks.get(task.key)
        skill = (info.skill if info else None) or NO_SKILL
        planned[skill] = planned.get(skill, 0.0) + task.estimate_days
    days = len(working_days(sprint.start, (sprint.end - sprint.start).days + 1))
    capacity = capacity_per_skill(team, max(days, 1)) if team is not None else {}
    return SprintLoad(
        name=sprint.name,
        start=sprint.start,
        end=sprint.end,
        total=Bar("All skills", round(sprint.estimated_days, 2), sprint.capacity_days or None),
        used_percent=sprint.utilisation_percent,
        skills=[
            Bar(skill, round(planned.get(skill, 0.0), 2), capacity.get(skill))
            for skill in sorted(set(planned) | set(capacity))
        ],
    )


async def _team(request: web.Request, record: JobRecord) -> Team | None:
    """The plan's team as it is now, when the plan had one."""
    team_id = record.request.get("team_id")
    if not isinstance(team_id, str):
        return None
    runtime = services(request).runtime
    stored = await TeamStore(runtime.buckets.teams, runtime.js).get(team_id)
    return stored.team if stored is not None else None


def _notes(result: dict[str, Any], name: str) -> list[str]:
    notes = result.get(name)
    return [str(note) for note in notes[:200]] if isinstance(notes, list) else []


def _is_preview(record: JobRecord) -> bool:
    return record.status is JobStatus.completed and bool(record.plan) and record.request.get("dry_run") is True
