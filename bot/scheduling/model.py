"""The sprint planner's input and output: plain dataclasses, no Jira, no I/O.

Rules the model itself enforces (`Problem.check`):
- every task has a unique key and an estimate above 0 days; `blocked_by` keys that are not
  tasks of the problem are work planned elsewhere and are ignored;
- a task's `earliest` (0 or more) is the first slot index it may use: the planner sets it when
  a blocker is fixed in a sprint (`earliest` = that slot + 1), and every planner honours it;
- the dependencies form no cycle (`DependencyCycleError` names the tasks of one cycle);
- capacity is either one total per sprint (a float) or per skill (a mapping) — the same form on
  every slot and on the new-sprint template; with per-skill capacity every task needs a skill
  that some sprint has capacity for;
- closed sprints are accepted and never used; slots are tried in the order given, so list the
  active sprint first, then future sprints by start date.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

# Estimates are kept in hundredths of a day: CP-SAT works on integers, and half- or
# quarter-day estimates must not round to a different sprint.
UNITS_PER_DAY = 100
# Every task of a total-capacity problem draws on this one resource.
TOTAL = "*"

Capacity = float | Mapping[str, float]


class SprintState(StrEnum):
    active = "active"
    future = "future"
    closed = "closed"


class DependencyCycleError(ValueError):
    """The tasks' dependencies form a cycle; `keys` lists one, in order."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = list(keys)
        super().__init__("dependency cycle: " + " -> ".join([*self.keys, self.keys[0]]))


class InfeasiblePlanError(ValueError):
    """No plan exists with the sprints allowed (too few slots for the work or the dependencies)."""


@dataclass(frozen=True)
class Task:
    key: str
    estimate_days: float
    skill: str | None = None
    rank: int = 0  # lower is earlier, as on a Jira board
    blocked_by: tuple[str, ...] = ()
    earliest: int = 0  # the first slot (index in the layout's order) the task may use


@dataclass(frozen=True)
class SprintSlot:
    """An existing sprint; `used` is the active sprint's existing work, which is never moved."""

    id: str
    name: str
    state: SprintState
    capacity: Capacity
    working_days: int = 10
    used: Capacity = 0.0


@dataclass(frozen=True)
class NewSprints:
    """Sprints the planner may propose after the existing ones (`auto_create_sprints`)."""

    count: int
    capacity: Capacity
    working_days: int = 10
    name_pattern: str = "Sprint {n}"
    first_number: int = 1


@dataclass(frozen=True)
class Options:
    same_sprint_dependencies: bool = False
    time_limit_seconds: float = 10.0


@dataclass(frozen=True)
class Problem:
    tasks: tuple[Task, ...]
    sprints: tuple[SprintSlot, ...] = ()
    new_sprints: NewSprints = field(default_factory=lambda: NewSprints(count=0, capacity=0.0))
    options: Options = field(default_factory=Options)

    @property
    def per_skill(self) -> bool:
        return isinstance(self.new_sprints.capacity, Mapping)

    def open_sprints(self) -> list[SprintSlot]:
        return [sprint for sprint in self.sprints if sprint.state is not SprintState.closed]

    def check(self) -> None:
        keys = [task.key for task in self.tasks]
        if len(set(keys)) != len(keys):
            raise ValueError("task keys must be unique")
        for task in self.tasks:
            if not task.estimate_days > 0:
                raise ValueError(f"{task.key}: estimate must be more than 0 days")
            if task.earliest < 0:
                raise ValueError(f"{task.key}: earliest slot must be 0 or more")
        if len({isinstance(c, Mapping) for c in [self.new_sprints.capacity, *(s.capacity for s in self.sprints)]}) > 1:
            raise ValueError("capacity must be a total on every sprint or per skill on every sprint")
        for sprint in self.sprints:
            if isinstance(sprint.used, Mapping) != self.per_skill and sprint.used:
                raise ValueError(f"sprint {sprint.name}: used days must have the same form as capacity")
        if self.per_skill:
            capacities = [self.new_sprints.capacity, *(s.capacity for s in self.open_sprints())]
            known = {skill for c in capacities if isinstance(c, Mapping) for skill, days in c.items() if days > 0}
            for task in self.tasks:
                if task.skill is None or task.skill not in known:
                    raise ValueError(f"{task.key}: capacity is per skill and no sprint has capacity for {task.skill}")
        cycle = find_cycle(self.tasks)
        if cycle:
            raise DependencyCycleError(cycle)


@dataclass(frozen=True)
class SlotUse:
    """One sprint of the plan: an existing one (`id` set) or a proposed new one (`id` None)."""

    index: int
    id: str | None
    name: str
    task_keys: tuple[str, ...]
    planned_days: float  # the tasks planned into it, existing work excluded
    existing_days: float
    capacity_days: float
    utilisation_percent: float


@dataclass(frozen=True)
class Plan:
    assignment: dict[str, int]  # task key -> index into `slots`
    slots: tuple[SlotUse, ...]
    sprints_used: int  # slots from the first up to the last holding planned work
    new_sprints_used: int
    lower_bound: int
    optimal: bool  # fewest sprints and then rank order proven optimal
    sprint_count_optimal: bool
    solve_seconds: float
    method: str
    warnings: tuple[str, ...] = ()


def blockers(task: Task, keys: set[str]) -> list[str]:
    """The task's blockers that are tasks of this problem."""
    return [key for key in task.blocked_by if key in keys and key != task.key]


def find_cycle(tasks: Sequence[Task]) -> list[str]:
    """One dependency cycle as a list of keys, or an empty list. Iterative: epics can be long chains."""
    keys = {task.key for task in tasks}
    edges = {task.key: blockers(task, keys) for task in tasks}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in edges:
        if root in state:
            continue
        path: list[str] = [root]
        state[root] = 1
        stack: list[Iterator[str]] = [iter(edges[root])]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt) :]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(edges[nxt]))
    return []


def topological_order(tasks: Sequence[Task], priority: Mapping[str, tuple[float, ...]]) -> list[Task]:
    """Tasks with every blocker first; among the tasks ready at once, the lowest `priority` first."""
    by_key = {task.key: task for task in tasks}
    waiting = {task.key: len(blockers(task, set(by_key))) for task in tasks}
    dependants: dict[str, list[str]] = {key: [] for key in by_key}
    for task in tasks:
        for blocker in blockers(task, set(by_key)):
            dependants[blocker].append(task.key)
    ready = [(priority[key], key) for key, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[Task] = []
    while ready:
        _, key = heapq.heappop(ready)
        order.append(by_key[key])
        for dependant in dependants[key]:
            waiting[dependant] -= 1
            if waiting[dependant] == 0:
                heapq.heappush(ready, (priority[dependant], dependant))
    if len(order) != len(tasks):
        raise DependencyCycleError(find_cycle(tasks))
    return order


def units(days: float) -> int:
    return round(days * UNITS_PER_DAY)


def capacity_of(capacity: Capacity, resource: str) -> float:
    if isinstance(capacity, Mapping):
        return float(capacity.get(resource, 0.0))
    return float(capacity)
