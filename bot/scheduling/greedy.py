"""First-fit planners: the bench's comparison and the solver's hint and fallback.

Tasks are taken once all their blockers are placed (so always in a dependency order); among
the tasks ready at once, first-fit-decreasing takes the biggest first, `rank` the highest-ranked
first. Each goes into the first slot after all its blockers' slots where it fits; an oversized
task takes the first empty slot it may use and closes it to others. Blockers always go in an
earlier sprint, even with `same_sprint_dependencies`: the greedy plans are simple and always valid.
"""

from __future__ import annotations

import time
from enum import StrEnum

from bot.scheduling.model import Plan, Problem, topological_order
from bot.scheduling.slots import Layout


class Order(StrEnum):
    decreasing = "decreasing"  # first-fit-decreasing
    rank = "rank"


def first_fit(layout: Layout, order: Order) -> dict[str, int] | None:
    """Task key -> slot index, or None when the layout's slots are too few."""
    priority: dict[str, tuple[float, ...]] = {
        t.key: (-layout.size[t.key], t.rank) if order is Order.decreasing else (t.rank,) for t in layout.tasks
    }
    free = dict(layout.free)
    taken: set[int] = set()  # slots holding anything (an oversized task needs an empty one)
    closed: set[int] = set()  # slots an oversized task has to itself
    assignment: dict[str, int] = {}
    for task in topological_order(layout.tasks, priority):
        key, resource = task.key, layout.resource[task.key]
        after = max((assignment[b] + 1 for b in layout.blockers[key]), default=0)
        for slot in layout.slots[after:]:
            if slot.index in closed or not layout.allowed(key, slot):
                continue
            if key in layout.oversized:
                if slot.index in taken:
                    continue
                closed.add(slot.index)
            elif free[slot.index, resource] < layout.size[key]:
                continue
            free[slot.index, resource] -= layout.size[key]
            taken.add(slot.index)
            assignment[key] = slot.index
            break
        else:
            return None
    return assignment


def first_fit_decreasing(problem: Problem) -> Plan:
    """The first-fit-decreasing plan of a problem (for comparison), with the layout's lower bound."""
    started = time.perf_counter()
    layout = Layout(problem)
    assignment = first_fit(layout, Order.decreasing)
    if assignment is None:
        raise layout.too_few()
    return layout.plan(
        assignment,
        lower_bound=layout.lower_bound(),
        optimal=False,
        sprint_count_optimal=False,
        solve_seconds=time.perf_counter() - started,
        method="first-fit-decreasing",
        warnings=[],
    )
