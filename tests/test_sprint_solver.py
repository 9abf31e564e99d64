"""The sprint planner (`bot.scheduling`): exact plans, the rules of issue 13, and valid plans
when the time limit is hit — checked by `assert_valid`, never by timing."""

from __future__ import annotations

import random
from collections.abc import Mapping

import pytest

from bot.scheduling import (
    DependencyCycleError,
    InfeasiblePlanError,
    NewSprints,
    Options,
    Plan,
    Problem,
    SprintSlot,
    SprintState,
    Task,
    first_fit_decreasing,
    solve,
)
from bot.scheduling.model import TOTAL, capacity_of


def tasks(*estimates: float, skill: str | None = None) -> tuple[Task, ...]:
    return tuple(Task(f"T{i}", e, skill, rank=i) for i, e in enumerate(estimates))


def new(count: int = 20, capacity: float | Mapping[str, float] = 10.0, working_days: int = 10) -> NewSprints:
    return NewSprints(count=count, capacity=capacity, working_days=working_days, name_pattern="ABC Sprint {n}")


def assert_valid(problem: Problem, plan: Plan) -> None:
    """Every rule of issue 13 on a plan: one open slot per task, capacity, oversized tasks alone,
    blockers earlier (or in the same sprint, in a chain that fits its working days)."""
    open_sprints = problem.open_sprints()
    template = problem.new_sprints
    by_key = {t.key: t for t in problem.tasks}
    assert set(plan.assignment) == set(by_key)
    assert plan.sprints_used == max(plan.assignment.values(), default=-1) + 1
    assert plan.new_sprints_used <= template.count

    def slot(index: int) -> tuple[float | Mapping[str, float], float | Mapping[str, float], int, bool]:
        if index < len(open_sprints):
            s = open_sprints[index]
            return s.capacity, s.used, s.working_days, s.state is SprintState.active
        return template.capacity, 0.0, template.working_days, False

    def resource(task: Task) -> str:
        return task.skill if problem.per_skill and task.skill else TOTAL

    for index in set(plan.assignment.values()):
        capacity, used, days, active = slot(index)
        inside = [by_key[k] for k, j in plan.assignment.items() if j == index]
        oversized = [
            t for t in inside if t.estimate_days > capacity_of(capacity, resource(t)) or t.estimate_days > days
        ]
        if oversized:
            assert len(inside) == 1 and not active, f"oversized {oversized} shares slot {index}"
            assert any(oversized[0].key in w for w in plan.warnings)
            continue
        for r in {resource(t) for t in inside}:
            load = sum(t.estimate_days for t in inside if resource(t) == r)
            assert load + capacity_of(used, r) <= capacity_of(capacity, r) + 1e-9, (index, r, load)
    ends: dict[str, float] = {}  # end offset of each task in its sprint's chain of same-sprint blockers
    order = sorted(by_key, key=lambda k: plan.assignment[k])
    for _ in range(len(by_key) + 1):  # longest same-sprint chains, by relaxation (bounded: acyclic)
        for key in order:
            same = [
                ends.get(b, 0.0)
                for b in by_key[key].blocked_by
                if b in by_key and plan.assignment[b] == plan.assignment[key]
            ]
            ends[key] = max(same, default=0.0) + by_key[key].estimate_days
    for task in problem.tasks:
        for b in task.blocked_by:
            if b not in by_key:
                continue
            if problem.options.same_sprint_dependencies:
                assert plan.assignment[b] <= plan.assignment[task.key]
                if plan.assignment[b] == plan.assignment[task.key]:
                    assert ends[task.key] <= slot(plan.assignment[task.key])[2] + 1e-9
            else:
                assert plan.assignment[b] < plan.assignment[task.key], (b, task.key)


def test_first_fit_decreasing_misses_the_optimum_the_solver_proves() -> None:
    problem = Problem(tasks(4, 4, 3, 3, 3, 3), new_sprints=new())
    plan = solve(problem)
    assert_valid(problem, plan)
    assert (plan.sprints_used, plan.optimal, plan.lower_bound, plan.method) == (2, True, 2, "cp-sat")
    assert sorted(plan.slots[0].task_keys + plan.slots[1].task_keys) == [f"T{i}" for i in range(6)]
    assert [s.utilisation_percent for s in plan.slots] == [100.0, 100.0]
    assert [s.name for s in plan.slots] == ["ABC Sprint 1", "ABC Sprint 2"]
    ffd = first_fit_decreasing(problem)
    assert_valid(problem, ffd)
    assert ffd.sprints_used == 3


@pytest.mark.parametrize(
    ("estimates", "capacity", "sprints", "ffd"),
    [((4, 4, 3, 3, 3, 3), 10, 2, 3), ((5, 4, 3, 3, 3, 2), 10, 2, 3), ((7, 5, 4, 4, 3, 3, 2), 14, 2, 2)],
)
def test_bin_packing_cases(estimates: tuple[float, ...], capacity: float, sprints: int, ffd: int) -> None:
    problem = Problem(tasks(*estimates), new_sprints=new(capacity=capacity, working_days=capacity))  # type: ignore[arg-type]
    plan = solve(problem)
    assert_valid(problem, plan)
    assert (plan.sprints_used, plan.optimal, plan.lower_bound) == (sprints, True, sprints)
    assert first_fit_decreasing(problem).sprints_used == ffd


def chain(*estimates: float) -> tuple[Task, ...]:
    return tuple(Task(f"C{i}", e, rank=i, blocked_by=(f"C{i - 1}",) if i else ()) for i, e in enumerate(estimates))


def test_a_blocked_task_lands_in_a_later_sprint() -> None:
    problem = Problem(chain(1, 1, 1), new_sprints=new())
    plan = solve(problem)
    assert_valid(problem, plan)
    assert plan.assignment == {"C0": 0, "C1": 1, "C2": 2}
    assert (plan.sprints_used, plan.lower_bound, plan.optimal) == (3, 3, True)


def test_same_sprint_dependencies_share_a_sprint_when_the_chain_fits() -> None:
    problem = Problem(chain(1, 1, 1), new_sprints=new(), options=Options(same_sprint_dependencies=True))
    plan = solve(problem)
    assert_valid(problem, plan)
    assert plan.assignment == {"C0": 0, "C1": 0, "C2": 0}
    # 4 + 4 + 4 days in a row do not fit 10 working days, though 12 fits a capacity of 30.
    long = Problem(chain(4, 4, 4), new_sprints=new(capacity=30.0), options=Options(same_sprint_dependencies=True))
    plan = solve(long)
    assert_valid(long, plan)
    assert (plan.sprints_used, plan.optimal) == (2, True)


def test_capacity_per_skill() -> None:
    capacity = {"Backend": 10.0, "QA": 5.0}
    problem = Problem(
        tasks(5, 5, skill="Backend") + (Task("Q1", 3, "QA", 2), Task("Q2", 3, "QA", 3)),
        new_sprints=new(capacity=capacity),
    )
    plan = solve(problem)
    assert_valid(problem, plan)
    assert plan.sprints_used == 2 and plan.optimal
    assert plan.assignment["Q1"] != plan.assignment["Q2"]
    assert plan.assignment["T0"] == plan.assignment["T1"] == 0  # both Backend tasks fit the first sprint
    with pytest.raises(ValueError, match="Frontend"):
        solve(Problem((Task("F1", 1, "Frontend"),), new_sprints=new(capacity=capacity)))


def test_active_sprint_work_counts_and_closed_sprints_are_never_used() -> None:
    sprints = (
        SprintSlot("7", "ABC Sprint 7", SprintState.closed, 10.0),
        SprintSlot("8", "ABC Sprint 8", SprintState.active, 10.0, used=7.0),
        SprintSlot("9", "ABC Sprint 9", SprintState.future, 10.0),
    )
    problem = Problem(
        tasks(3, 3, 5), sprints, new_sprints=NewSprints(5, 10.0, name_pattern="ABC Sprint {n}", first_number=10)
    )
    plan = solve(problem)
    assert_valid(problem, plan)
    assert [s.id for s in plan.slots] == ["8", "9"]  # the closed sprint is not a slot
    assert plan.slots[0].task_keys == ("T0",) and plan.slots[0].existing_days == 7.0
    assert plan.slots[0].utilisation_percent == 100.0
    assert plan.slots[1].task_keys == ("T1", "T2") and plan.new_sprints_used == 0
    # Existing future sprints are filled before a new one is proposed, named after the pattern.
    more = Problem(tasks(3, 3, 5, 6), sprints, new_sprints=problem.new_sprints)
    plan = solve(more)
    assert_valid(more, plan)
    assert plan.new_sprints_used == 1 and plan.slots[-1].name == "ABC Sprint 10" and plan.slots[-1].id is None


def test_an_oversized_task_gets_a_sprint_of_its_own_and_a_warning() -> None:
    problem = Problem(tasks(4, 15, 3), new_sprints=new())
    plan = solve(problem)
    assert_valid(problem, plan)
    alone = plan.assignment["T1"]
    assert [k for k, j in plan.assignment.items() if j == alone] == ["T1"]
    assert plan.sprints_used == 2 and plan.optimal
    assert any("T1" in w and "bigger than a sprint" in w for w in plan.warnings)


def test_a_cycle_names_its_tasks() -> None:
    cyclic = (
        Task("ABC-1", 1, blocked_by=("ABC-3",)),
        Task("ABC-2", 1, blocked_by=("ABC-1",)),
        Task("ABC-3", 1, blocked_by=("ABC-2",)),
        Task("ABC-4", 1, blocked_by=("ABC-1",)),
    )
    with pytest.raises(DependencyCycleError) as raised:
        solve(Problem(cyclic, new_sprints=new()))
    assert sorted(raised.value.keys) == ["ABC-1", "ABC-2", "ABC-3"]
    assert "ABC-1" in str(raised.value) and "ABC-4" not in str(raised.value)


def test_rank_breaks_ties_higher_ranked_work_earlier() -> None:
    problem = Problem((Task("LOW", 6, rank=5), Task("HIGH", 6, rank=1), Task("MID", 3, rank=3)), new_sprints=new())
    plan = solve(problem)
    assert_valid(problem, plan)
    assert plan.assignment["HIGH"] == 0 and plan.assignment["LOW"] == 1 and plan.optimal
    assert plan.slots[0].task_keys == ("HIGH", "MID")


def test_too_few_sprints_is_an_error() -> None:
    with pytest.raises(InfeasiblePlanError, match="do not fit"):
        solve(Problem(tasks(6, 6, 6), new_sprints=new(count=2)))


def random_epic(size: int, seed: int, same_sprint: bool, limit: float) -> Problem:
    rng = random.Random(seed)
    capacity = {"Backend": 30.0, "Frontend": 20.0, "QA": 15.0}
    work = tuple(
        Task(
            f"T{i}",
            rng.choice([0.5, 1, 2, 3, 5, 8, 13]),  # 13: oversized for QA and Frontend
            rng.choice(list(capacity)),
            rng.randrange(size),
            tuple(f"T{j}" for j in rng.sample(range(max(0, i - 30), i), min(i, rng.choice([0, 1, 2])))),
        )
        for i in range(size)
    )
    sprints = (SprintSlot("1", "S1", SprintState.active, capacity, used={"Backend": 12.0, "QA": 14.0}),)
    return Problem(work, sprints, NewSprints(size, capacity), Options(same_sprint, limit))


@pytest.mark.parametrize("same_sprint", [False, True])
def test_a_large_epic_under_a_short_limit_still_gets_a_valid_plan(same_sprint: bool) -> None:
    problem = random_epic(600, 7, same_sprint, limit=1.0)
    plan = solve(problem)
    assert_valid(problem, plan)
    assert plan.lower_bound <= plan.sprints_used <= first_fit_decreasing(problem).sprints_used
    assert plan.optimal or any("time limit" in w for w in plan.warnings)


@pytest.mark.parametrize("seed", range(4))
def test_small_random_epics_are_valid_and_never_worse_than_ffd(seed: int) -> None:
    problem = random_epic(40, seed, seed % 2 == 1, limit=5.0)
    plan = solve(problem)
    assert_valid(problem, plan)
    assert plan.lower_bound <= plan.sprints_used <= first_fit_decreasing(problem).sprints_used
