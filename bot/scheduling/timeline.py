"""A plan on the calendar: each task on working days (Monday to Friday) inside its sprint.

Rules:
- existing sprints have their dates (`SprintDates`, in slot order); proposed ones follow the
  previous sprint back to back (the day after it ends), `new_length_days` calendar days long,
  the first at `first_new_start` when there is no existing sprint;
- each skill (in total mode, the whole team) is a set of lanes, one per person: its capacity
  days over the sprint's working days, at least one; the active sprint's existing work fills
  the lanes first, spread evenly;
- tasks are placed sprint by sprint, in dependency order and, among the ready ones, rank
  order: a task starts once its blockers have ended (whatever sprint they are in), no earlier
  than its sprint's first working day, on the lane of its skill that frees up first;
- times are in (fractional) working days, so two half-day tasks share a day on one lane; a
  task that would end after its sprint's last working day is kept, with a warning.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from bot.scheduling.model import Plan, Problem, capacity_of, topological_order
from bot.scheduling.slots import Layout


@dataclass(frozen=True)
class SprintDates:
    start: date
    length_days: int = 14  # calendar days


@dataclass(frozen=True)
class ScheduledTask:
    key: str
    start: date
    end: date  # the last working day it takes
    estimate_days: float


@dataclass(frozen=True)
class SprintTimeline:
    index: int
    name: str
    start: date
    end: date
    tasks: tuple[ScheduledTask, ...]
    estimated_days: float
    capacity_days: float
    utilisation_percent: float


@dataclass(frozen=True)
class Timeline:
    sprints: tuple[SprintTimeline, ...]
    estimated_completion_date: date | None
    warnings: tuple[str, ...] = ()


def working_days(start: date, length_days: int) -> list[date]:
    return [d for d in (start + timedelta(days=n) for n in range(length_days)) if d.weekday() < 5]


def schedule(
    problem: Problem,
    plan: Plan,
    sprint_dates: Sequence[SprintDates],
    *,
    first_new_start: date | None = None,
    new_length_days: int = 14,
) -> Timeline:
    layout = Layout(problem, new_count=plan.new_sprints_used)
    if len(sprint_dates) != layout.existing:
        raise ValueError(f"{layout.existing} open sprints need dates, {len(sprint_dates)} given")
    dates = list(sprint_dates)
    for _ in range(len(layout.slots) - layout.existing):
        if dates:
            dates.append(SprintDates(dates[-1].start + timedelta(days=dates[-1].length_days), new_length_days))
        elif first_new_start is not None:
            dates.append(SprintDates(first_new_start, new_length_days))
        else:
            raise ValueError("first_new_start is needed when there is no existing sprint")

    if not dates:
        return Timeline((), None)
    # One axis of working days from the first sprint's start; a task's time is a position on it.
    origin = dates[0].start
    horizon = (dates[-1].start - origin).days + dates[-1].length_days
    spill = math.ceil(sum(t.estimate_days for t in layout.tasks)) + 5  # room for tasks past their sprint
    axis = working_days(origin, horizon + spill * 7 // 5 + 7)
    position = {day: n for n, day in enumerate(axis)}

    ends: dict[str, float] = {}
    placed: dict[str, ScheduledTask] = {}
    warnings = []
    rank = {t.key: (t.rank,) for t in layout.tasks}
    by_slot = {slot.index: [k for k, j in plan.assignment.items() if j == slot.index] for slot in layout.slots}
    for slot, span in zip(layout.slots, dates, strict=True):
        days = working_days(span.start, span.length_days)
        if not days:
            continue
        first, last = position[days[0]], position[days[-1]] + 1
        lanes: dict[str, list[float]] = {}
        for resource in layout.resources:
            people = max(1, round(capacity_of(slot.capacity, resource) / len(days)))
            existing = capacity_of(slot.used, resource) / people
            lanes[resource] = [first + existing] * people
        keys = set(by_slot[slot.index])
        for task in topological_order([t for t in layout.tasks if t.key in keys], rank):
            lane = lanes[layout.resource[task.key]]
            free = min(range(len(lane)), key=lane.__getitem__)
            start = max([lane[free], *(ends[b] for b in layout.blockers[task.key])])
            ends[task.key] = lane[free] = start + task.estimate_days
            if ends[task.key] > last + 1e-9:
                warnings.append(f"{task.key} ends after {slot.name}'s last working day")
            placed[task.key] = ScheduledTask(
                task.key, axis[math.floor(start + 1e-9)], axis[math.ceil(ends[task.key] - 1e-9) - 1], task.estimate_days
            )

    sprints = []
    for use, span in zip(plan.slots, dates, strict=False):
        tasks = tuple(sorted((placed[k] for k in use.task_keys), key=lambda t: (t.start, t.end, t.key)))
        sprints.append(
            SprintTimeline(
                use.index,
                use.name,
                span.start,
                span.start + timedelta(days=span.length_days - 1),
                tasks,
                use.planned_days,
                use.capacity_days,
                use.utilisation_percent,
            )
        )
    completion = max((t.end for t in placed.values()), default=None)
    return Timeline(tuple(sprints), completion, tuple(warnings))
