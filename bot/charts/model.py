"""What a Gantt chart is drawn from: a timeline and what it does not hold about its tasks.

Kept apart from `bot.charts.gantt`, which loads matplotlib (about 60 MiB): a process that only
reads or checks charts never loads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from bot.scheduling.timeline import Timeline


@dataclass(frozen=True)
class TaskInfo:
    """What the timeline does not hold about a task."""

    summary: str = ""
    skill: str | None = None
    blocked_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class GanttInput:
    timeline: Timeline
    tasks: Mapping[str, TaskInfo]
    title: str = ""
    today: date | None = None
