"""Sprint planning as a library: tasks and sprints in, a plan and a timeline out.

`solve` assigns tasks to sprints (CP-SAT, exact under a time limit), `first_fit_decreasing` is
the greedy comparison, `schedule` puts a plan on working days. No Jira, HTTP or NATS here:
pipelines turn tickets and boards into these models.
"""

from bot.scheduling.greedy import first_fit_decreasing
from bot.scheduling.model import (
    DependencyCycleError,
    InfeasiblePlanError,
    NewSprints,
    Options,
    Plan,
    Problem,
    SlotUse,
    SprintSlot,
    SprintState,
    Task,
)
from bot.scheduling.timeline import ScheduledTask, SprintDates, SprintTimeline, Timeline, schedule


def solve(problem: Problem) -> Plan:
    """`bot.scheduling.solver.solve`, imported on first use: OR-Tools holds about 90 MiB that a
    process that never plans sprints does not need."""
    from bot.scheduling.solver import solve as solve_with_cp_sat

    return solve_with_cp_sat(problem)


__all__ = [
    "DependencyCycleError",
    "InfeasiblePlanError",
    "NewSprints",
    "Options",
    "Plan",
    "Problem",
    "ScheduledTask",
    "SlotUse",
    "SprintDates",
    "SprintSlot",
    "SprintState",
    "SprintTimeline",
    "Task",
    "Timeline",
    "first_fit_decreasing",
    "schedule",
    "solve",
]
