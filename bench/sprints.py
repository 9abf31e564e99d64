"""The sprint planner on epics of 50, 200 and 1,000 tasks with random dependencies.

Prints per epic: CP-SAT's solve time, the sprints it uses against the lower bound and against
first-fit-decreasing on the same input, and whether the plan is proven optimal. The epics are
seeded: three skills with per-skill capacity, estimates of half a day to 8 days, each task
blocked by up to two of the 40 tasks before it (so never a cycle), an active sprint with
existing work and two future sprints before the proposed ones. In-process, no service.

    .venv/bin/python bench/sprints.py [--sizes 50 200 1000] [--time-limit 10] [--same-sprint]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe
from bot.scheduling.greedy import first_fit_decreasing
from bot.scheduling.model import NewSprints, Options, Problem, SprintSlot, SprintState, Task
from bot.scheduling.solver import solve

CAPACITY = {"Backend": 30.0, "Frontend": 20.0, "QA": 15.0}  # 3, 2 and 1.5 people over 10 days
ESTIMATES = [0.5, 1, 1, 2, 2, 3, 3, 5, 8]


def epic(size: int, seed: int, options: Options) -> Problem:
    rng = random.Random(seed)
    tasks = []
    for i in range(size):
        window = list(range(max(0, i - 40), i))
        blocked_by = tuple(f"T{j}" for j in rng.sample(window, min(len(window), rng.choice([0, 0, 1, 1, 2]))))
        tasks.append(Task(f"T{i}", rng.choice(ESTIMATES), rng.choice(list(CAPACITY)), rng.randrange(size), blocked_by))
    sprints = (
        SprintSlot("1", "Sprint 41", SprintState.active, CAPACITY, 10, {"Backend": 18.0, "Frontend": 9.0, "QA": 4.0}),
        SprintSlot("2", "Sprint 42", SprintState.future, CAPACITY),
        SprintSlot("3", "Sprint 43", SprintState.future, CAPACITY),
    )
    return Problem(tuple(tasks), sprints, NewSprints(size, CAPACITY, first_number=44), options)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--same-sprint", action="store_true", help="same_sprint_dependencies: true")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    print(describe())
    options = Options(same_sprint_dependencies=args.same_sprint, time_limit_seconds=args.time_limit)
    print(f"time limit {args.time_limit:g} s, same_sprint_dependencies {str(args.same_sprint).lower()}")
    for size in args.sizes:
        problem = epic(size, args.seed + size, options)
        plan = solve(problem)
        ffd = first_fit_decreasing(problem)
        proven = "" if plan.optimal else f" (sprint count {'' if plan.sprint_count_optimal else 'not '}proven)"
        print(
            f"{size:>5} tasks, {sum(len(t.blocked_by) for t in problem.tasks)} dependencies: "
            f"solve {plan.solve_seconds:.2f} s; sprints {plan.sprints_used} (lower bound {plan.lower_bound}, "
            f"first-fit-decreasing {ffd.sprints_used}); optimal {'yes' if plan.optimal else 'no'}"
            f"{proven}"
            f"; {plan.method}"
        )


if __name__ == "__main__":
    main()
