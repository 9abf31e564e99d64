"""The sprints a plan may use, in integer units, shared by the solver and the greedy planners.

Slots are the open existing sprints in the order given, then up to `new_count` proposed sprints
(`NewSprints.count` at most). A task fits a slot when its estimate fits the slot's free capacity
for its skill (the total in total mode) and its working days; a task that fits no slot is
oversized: it may take an empty future or new slot alone, over capacity, with a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.scheduling.model import (
    TOTAL,
    UNITS_PER_DAY,
    Capacity,
    InfeasiblePlanError,
    Plan,
    Problem,
    SlotUse,
    SprintState,
    blockers,
    capacity_of,
    topological_order,
    units,
)


@dataclass(frozen=True)
class Slot:
    index: int
    id: str | None  # None: a proposed sprint
    name: str
    active: bool
    capacity: Capacity
    used: Capacity
    working_days: int

    def free(self, resource: str) -> int:
        return units(capacity_of(self.capacity, resource)) - units(capacity_of(self.used, resource))

    @property
    def working_units(self) -> int:
        return self.working_days * UNITS_PER_DAY


class Layout:
    def __init__(self, problem: Problem, new_count: int | None = None) -> None:
        problem.check()
        self.problem = problem
        self.tasks = list(problem.tasks)
        self.by_key = {task.key: task for task in self.tasks}
        keys = set(self.by_key)
        self.blockers = {task.key: blockers(task, keys) for task in self.tasks}
        self.size = {task.key: units(task.estimate_days) for task in self.tasks}
        self.resource = {task.key: task.skill if problem.per_skill and task.skill else TOTAL for task in self.tasks}
        self.resources = sorted(set(self.resource.values()))
        self.existing = len(problem.open_sprints())
        template = problem.new_sprints
        count = template.count if new_count is None else min(new_count, template.count)
        self.slots = [
            Slot(i, s.id, s.name, s.state is SprintState.active, s.capacity, s.used, s.working_days)
            for i, s in enumerate(problem.open_sprints())
        ] + [
            Slot(
                self.existing + n,
                None,
                template.name_pattern.format(n=template.first_number + n),
                False,
                template.capacity,
                0.0,
                template.working_days,
            )
            for n in range(count)
        ]
        # Looked up for every task and slot by the planners: computed once.
        self.free = {(slot.index, r): slot.free(r) for slot in self.slots for r in self.resources}
        self.oversized = {t.key for t in self.tasks if not any(self.fits(t.key, slot) for slot in self.slots)}
        # Rank order, then the order given: a stable tie-break for every planner.
        self.rank_order = [t.key for t in sorted(self.tasks, key=lambda t: t.rank)]

    def fits(self, key: str, slot: Slot) -> bool:
        size = self.size[key]
        return size <= self.free[slot.index, self.resource[key]] and size <= slot.working_units

    def allowed(self, key: str, slot: Slot) -> bool:
        """Whether the task may go into the slot at all: not before its `earliest`, and an
        oversized one alone, never in the active sprint."""
        if slot.index < self.by_key[key].earliest:
            return False
        if key in self.oversized:
            return not slot.active and self.free[slot.index, self.resource[key]] == units(
                capacity_of(slot.capacity, self.resource[key])
            )
        return self.fits(key, slot)

    def earliest(self) -> dict[str, int]:
        """Each task's first possible slot: after (or with, when allowed) its blockers, and one it may use."""
        same = self.problem.options.same_sprint_dependencies
        first: dict[str, int] = {}
        for task in topological_order(self.tasks, {t.key: (t.rank,) for t in self.tasks}):
            after = max((first[b] + (0 if same else 1) for b in self.blockers[task.key]), default=0)
            candidates = [s.index for s in self.slots[after:] if self.allowed(task.key, s)]
            first[task.key] = candidates[0] if candidates else len(self.slots)
        return first

    def latest(self, span: int) -> dict[str, int]:
        """Each task's last possible slot in a plan of `span` slots: before its dependants' chain."""
        same = self.problem.options.same_sprint_dependencies
        dependants: dict[str, list[str]] = {k: [] for k in self.by_key}
        for key, keys in self.blockers.items():
            for blocker in keys:
                dependants[blocker].append(key)
        last: dict[str, int] = {}
        order = topological_order(self.tasks, {t.key: (t.rank,) for t in self.tasks})
        for task in reversed(order):
            last[task.key] = min((last[d] - (0 if same else 1) for d in dependants[task.key]), default=span - 1)
        return last

    def lower_bound(self) -> int:
        """Fewest sprints any plan needs: the dependency chains, each skill's work against the
        slots' free capacity, and one slot per oversized task."""
        if not self.tasks:
            return 0
        bound = max(self.earliest().values()) + 1
        for resource in self.resources:
            demand = sum(self.size[k] for k, r in self.resource.items() if r == resource and k not in self.oversized)
            supplied, needed = 0, 0
            while supplied < demand and needed < len(self.slots):
                supplied += max(0, self.free[needed, resource])
                needed += 1
            bound = max(bound, needed if supplied >= demand else len(self.slots) + 1)
        first_free = 1 if self.slots and self.slots[0].active else 0
        return max(bound, first_free + len(self.oversized)) if self.oversized else bound

    def too_few(self) -> InfeasiblePlanError:
        return InfeasiblePlanError(
            f"{len(self.tasks)} tasks do not fit in {len(self.slots)} sprints "
            f"({self.existing} existing, {len(self.slots) - self.existing} new allowed)"
        )

    def plan(
        self,
        assignment: Mapping[str, int],
        *,
        lower_bound: int,
        optimal: bool,
        sprint_count_optimal: bool,
        solve_seconds: float,
        method: str,
        warnings: list[str],
    ) -> Plan:
        span = max(assignment.values(), default=-1) + 1
        uses = []
        for slot in self.slots[: max(span, self.existing)]:
            keys = tuple(k for k in self.rank_order if assignment[k] == slot.index)
            planned = sum(self.by_key[k].estimate_days for k in keys)
            existing = sum(capacity_of(slot.used, r) for r in self.resources)
            capacity = sum(capacity_of(slot.capacity, r) for r in self.resources)
            percent = round(100 * (planned + existing) / capacity, 1) if capacity else 0.0
            uses.append(SlotUse(slot.index, slot.id, slot.name, keys, planned, existing, capacity, percent))
        notes = [
            f"{k} ({self.by_key[k].estimate_days:g} days) is bigger than a sprint: "
            f"it has {self.slots[assignment[k]].name} to itself and is over capacity; split it"
            for k in self.rank_order
            if k in self.oversized
        ]
        return Plan(
            assignment=dict(assignment),
            slots=tuple(uses),
            sprints_used=span,
            new_sprints_used=max(0, span - self.existing),
            lower_bound=lower_bound,
            optimal=optimal,
            sprint_count_optimal=sprint_count_optimal,
            solve_seconds=solve_seconds,
            method=method,
            warnings=tuple(notes + warnings),
        )
