"""The timeline (`bot.scheduling.schedule`): tasks on working days inside their sprints."""

from __future__ import annotations

from datetime import date

import pytest

from bot.scheduling import NewSprints, Options, Problem, SprintDates, SprintSlot, SprintState, Task, schedule, solve


def test_weekends_are_skipped_and_blockers_finish_before_dependants_start() -> None:
    # One Backend person (10 days over 10 working days); the sprint starts on a Wednesday.
    work = (Task("A", 3, "Backend", 1), Task("B", 2, "Backend", 2, ("A",)))
    sprint = SprintSlot("5", "ABC Sprint 5", SprintState.future, {"Backend": 10.0})
    problem = Problem(work, (sprint,), NewSprints(3, {"Backend": 10.0}), Options(same_sprint_dependencies=True))
    plan = solve(problem)
    assert plan.assignment == {"A": 0, "B": 0}
    timeline = schedule(problem, plan, [SprintDates(date(2026, 1, 7), 14)])
    (first,) = timeline.sprints
    assert (first.start, first.end, first.name) == (date(2026, 1, 7), date(2026, 1, 20), "ABC Sprint 5")
    a, b = first.tasks
    assert (a.key, a.start, a.end) == ("A", date(2026, 1, 7), date(2026, 1, 9))  # Wed–Fri
    assert (b.key, b.start, b.end) == ("B", date(2026, 1, 12), date(2026, 1, 13))  # Mon–Tue, after A
    assert (first.estimated_days, first.capacity_days, first.utilisation_percent) == (5, 10.0, 50.0)
    assert timeline.estimated_completion_date == date(2026, 1, 13)
    assert timeline.warnings == ()


def test_skills_work_in_parallel_lanes_and_new_sprints_follow_back_to_back() -> None:
    capacity = {"Backend": 20.0, "QA": 10.0}  # two Backend people, one QA
    work = (
        Task("B1", 3, "Backend", 1),
        Task("B2", 4, "Backend", 2),
        Task("B3", 2, "Backend", 3),
        Task("Q1", 2, "QA", 4, ("B1", "B2")),
    )
    problem = Problem(work, new_sprints=NewSprints(4, capacity, name_pattern="ABC Sprint {n}"))
    plan = solve(problem)
    assert plan.assignment == {"B1": 0, "B2": 0, "B3": 0, "Q1": 1}
    timeline = schedule(problem, plan, [], first_new_start=date(2026, 3, 2), new_length_days=14)  # a Monday
    first, second = timeline.sprints
    tasks = {t.key: t for t in first.tasks}
    assert tasks["B1"].start == tasks["B2"].start == date(2026, 3, 2)  # both lanes start at once
    assert (tasks["B3"].start, tasks["B3"].end) == (date(2026, 3, 5), date(2026, 3, 6))  # B1's lane frees first
    assert (second.start, second.end) == (date(2026, 3, 16), date(2026, 3, 29))
    (q1,) = second.tasks
    assert (q1.start, q1.end) == (date(2026, 3, 16), date(2026, 3, 17))
    assert timeline.estimated_completion_date == date(2026, 3, 17)


def test_existing_work_fills_the_active_sprint_first_and_an_oversized_task_overruns() -> None:
    active = SprintSlot("8", "ABC Sprint 8", SprintState.active, 10.0, used=4.0)
    work = (Task("S", 2, None, 1), Task("BIG", 15, None, 2))
    problem = Problem(work, (active,), NewSprints(3, 10.0, name_pattern="ABC Sprint {n}", first_number=9))
    plan = solve(problem)
    assert plan.assignment == {"S": 0, "BIG": 1}
    timeline = schedule(problem, plan, [SprintDates(date(2026, 1, 5), 14)])  # a Monday
    s = timeline.sprints[0].tasks[0]
    assert (s.start, s.end) == (date(2026, 1, 9), date(2026, 1, 12))  # after 4 days of existing work
    big = timeline.sprints[1].tasks[0]
    assert (timeline.sprints[1].name, big.start, big.end) == ("ABC Sprint 9", date(2026, 1, 19), date(2026, 2, 6))
    assert timeline.estimated_completion_date == date(2026, 2, 6)
    assert any("BIG" in w for w in timeline.warnings)


def test_dates_are_needed_for_every_open_sprint() -> None:
    sprint = SprintSlot("5", "ABC Sprint 5", SprintState.future, 10.0)
    problem = Problem((Task("A", 1),), (sprint,), NewSprints(1, 10.0))
    with pytest.raises(ValueError, match="need dates"):
        schedule(problem, solve(problem), [])
