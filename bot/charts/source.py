"""The chart's input rebuilt from a job result, so the chart endpoint needs no pipeline's types.

A planning job's result carries `timeline`: `bot.scheduling.Timeline` as JSON (sprints with
`index`, `name`, `start`, `end`, `tasks`; tasks with `key`, `start`, `end`, `estimate_days`;
dates ISO). What a task is about is read from wherever the result says it, first found wins:
the task entry itself (`summary`, `skill` or `team`, `blocked_by`), then the result's
`assignments` (`task_key`, `task_summary`, `team`, `blocked_by`), as the guide's sprint plan
lists them. Unknown keys are ignored; sizes are bounded here (the chart cuts its rows itself),
so a huge or hostile record cannot make the endpoint work without end.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.charts.model import GanttInput, TaskInfo
from bot.scheduling.timeline import ScheduledTask, SprintTimeline, Timeline

MAX_SPRINTS = 200
MAX_TASKS = 5000
MAX_BLOCKERS = 100
_TEXT = 500


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Task(_Loose):
    key: str = Field(max_length=64)
    start: date
    end: date
    estimate_days: float = 0.0
    summary: str | None = Field(default=None, max_length=_TEXT)
    skill: str | None = Field(default=None, max_length=100)
    team: str | None = Field(default=None, max_length=100)
    blocked_by: list[str] = Field(default_factory=list, max_length=MAX_BLOCKERS)


class _Sprint(_Loose):
    index: int = 0
    name: str = Field(default="", max_length=_TEXT)
    start: date
    end: date
    tasks: list[_Task] = Field(default_factory=list, max_length=MAX_TASKS)
    estimated_days: float = 0.0
    capacity_days: float = 0.0
    utilisation_percent: float = 0.0


class _Timeline(_Loose):
    sprints: list[_Sprint] = Field(default_factory=list, max_length=MAX_SPRINTS)
    estimated_completion_date: date | None = None
    warnings: list[str] = Field(default_factory=list)


class _Assignment(_Loose):
    task_key: str = Field(max_length=64)
    task_summary: str | None = Field(default=None, max_length=_TEXT)
    team: str | None = Field(default=None, max_length=100)
    blocked_by: list[str] = Field(default_factory=list, max_length=MAX_BLOCKERS)


class _Result(_Loose):
    timeline: _Timeline
    epic_key: str | None = Field(default=None, max_length=64)
    assignments: list[_Assignment] = Field(default_factory=list, max_length=MAX_TASKS)


def gantt_input(result: Mapping[str, Any] | None, *, today: date | None = None) -> GanttInput | None:
    """The chart of a job result, or None when the result carries no (readable) timeline."""
    if not isinstance(result, Mapping) or not isinstance(result.get("timeline"), Mapping):
        return None
    try:
        parsed = _Result.model_validate(result)
    except ValidationError:
        return None
    if sum(len(sprint.tasks) for sprint in parsed.timeline.sprints) > MAX_TASKS:
        return None
    assigned = {a.task_key: a for a in parsed.assignments}
    infos: dict[str, TaskInfo] = {}
    sprints = []
    for sprint in parsed.timeline.sprints:
        for task in sprint.tasks:
            other = assigned.get(task.key)
            infos[task.key] = TaskInfo(
                summary=task.summary or (other.task_summary if other else None) or "",
                skill=task.skill or task.team or (other.team if other else None),
                blocked_by=tuple(task.blocked_by or (other.blocked_by if other else [])),
            )
        sprints.append(
            SprintTimeline(
                sprint.index,
                sprint.name,
                sprint.start,
                sprint.end,
                tuple(ScheduledTask(t.key, t.start, t.end, t.estimate_days) for t in sprint.tasks),
                sprint.estimated_days,
                sprint.capacity_days,
                sprint.utilisation_percent,
            )
        )
    timeline = Timeline(tuple(sprints), parsed.timeline.estimated_completion_date, tuple(parsed.timeline.warnings))
    title = f"Timeline of {parsed.epic_key}" if parsed.epic_key else "Timeline"
    return GanttInput(timeline, infos, title=title, today=today)
