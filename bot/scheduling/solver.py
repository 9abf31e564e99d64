"""The sprint planner: an exact CP-SAT model under a time limit, greedy when it finds nothing.

Objective, lexicographic, solved in two phases on one model:
1. fewest sprints: the span from the first slot to the last one holding planned work;
2. then higher-ranked work earlier: the sum over tasks of (its rank weight × its slot index),
   the highest-ranked task weighing most, with the span fixed to phase 1's.

Constraints: every task in exactly one slot it may use (see `bot.scheduling.slots`); each
slot's planned work per skill (or in total) within its free capacity, the active sprint's
existing work already deducted; an oversized task alone in its slot; a blocker in an earlier
slot than its dependant — or, with `same_sprint_dependencies`, in the same slot when the two
can run one after the other inside it: each task gets an end offset within its sprint
(in working days), and a dependant sharing its blocker's sprint ends at least its own estimate
after the blocker ends, never past the sprint's working days. Proposed sprints are used in
order and never left empty before a used one (symmetry breaking: they are identical).

The time limit covers both phases. A plan not proven optimal is still valid (`optimal=False`,
with a warning); if CP-SAT finds nothing in time, the rank-order first-fit plan is returned
(`method="greedy fallback"`).
"""

from __future__ import annotations

import math
import os
import time

from ortools.sat.python import cp_model

from bot.scheduling.greedy import Order, first_fit
from bot.scheduling.model import Plan, Problem
from bot.scheduling.slots import Layout

_FOUND = (cp_model.OPTIMAL, cp_model.FEASIBLE)
_PRESOLVE_LIMIT = 20_000  # task-slot choices


def solve(problem: Problem) -> Plan:
    started = time.perf_counter()
    limit = problem.options.time_limit_seconds
    full = Layout(problem)
    greedy = [a for a in (first_fit(full, Order.rank), first_fit(full, Order.decreasing)) if a is not None]
    best_greedy = min(greedy, key=_span, default=None)
    # The best greedy plan bounds the slots worth modelling; without one (too few slots for
    # strict dependencies) the model gets every slot allowed.
    layout = Layout(problem, new_count=_span(best_greedy) - full.existing) if best_greedy else full
    lower = layout.lower_bound()
    if lower > len(layout.slots):
        raise layout.too_few()
    if not layout.tasks:
        return layout.plan(
            {}, lower_bound=0, optimal=True, sprint_count_optimal=True, solve_seconds=0.0, method="cp-sat", warnings=[]
        )

    model = _Model(layout, lower)
    if best_greedy is not None:
        model.hint(best_greedy)
    # Phase 1 may take two thirds of the limit, so that a hard instance still gets its rank order.
    phase1 = model.run(model.span, started + limit * 2 / 3)
    if phase1 is None or (best_greedy is not None and _span(phase1[0]) > _span(best_greedy)):
        if best_greedy is None:
            raise layout.too_few()
        return layout.plan(
            best_greedy,
            lower_bound=max(lower, math.ceil(phase1[2] - 1e-6)) if phase1 else lower,
            optimal=False,
            sprint_count_optimal=False,
            solve_seconds=time.perf_counter() - started,
            method="greedy fallback",
            warnings=[
                f"time limit of {limit:g} s reached before the solver beat first fit: the better of "
                "rank-order first fit and first-fit-decreasing"
            ],
        )
    assignment, span_optimal, bound = phase1
    lower = max(lower, math.ceil(bound - 1e-6))
    span = _span(assignment)
    model.fix_span(span)
    model.hint(assignment)
    ordered = model.run(model.earliness, started + limit)
    rank_optimal = ordered is not None and ordered[1]
    if ordered is not None:
        assignment = ordered[0]
    warnings = []
    if not (span_optimal and rank_optimal):
        what = "the rank order" if span_optimal else "the number of sprints"
        warnings.append(f"time limit of {limit:g} s reached before {what} was proven optimal: best plan found")
    return layout.plan(
        assignment,
        lower_bound=span if span_optimal else lower,
        optimal=span_optimal and rank_optimal,
        sprint_count_optimal=span_optimal,
        solve_seconds=time.perf_counter() - started,
        method="cp-sat",
        warnings=warnings,
    )


def _span(assignment: dict[str, int]) -> int:
    return max(assignment.values(), default=-1) + 1


class _Model:
    def __init__(self, layout: Layout, lower: int) -> None:
        self.layout = layout
        model = self.model = cp_model.CpModel()
        slots = layout.slots
        earliest, latest = layout.earliest(), layout.latest(len(slots))
        self.x: dict[tuple[str, int], cp_model.IntVar] = {}
        self.options: dict[str, list[int]] = {}
        self.slot: dict[str, cp_model.IntVar] = {}
        for task in layout.tasks:
            key = task.key
            options = [s.index for s in slots[earliest[key] : latest[key] + 1] if layout.allowed(key, s)]
            if not options:
                raise layout.too_few()
            self.options[key] = options
            choices = [model.new_bool_var(f"x[{key},{j}]") for j in options]
            self.x.update(zip(((key, j) for j in options), choices, strict=True))
            model.add_exactly_one(choices)
            self.slot[key] = model.new_int_var_from_domain(cp_model.Domain.from_values(options), f"slot[{key}]")
            model.add(self.slot[key] == cp_model.LinearExpr.weighted_sum(choices, options))
        self.span = model.new_int_var(lower, len(slots), "span")
        for key in self.slot:
            model.add(self.slot[key] + 1 <= self.span)

        by_slot: dict[int, list[str]] = {s.index: [] for s in slots}
        for key, j in self.x:
            by_slot[j].append(key)
        for slot in slots:
            keys = by_slot[slot.index]
            for resource in layout.resources:
                loaded = [k for k in keys if layout.resource[k] == resource and k not in layout.oversized]
                if loaded:
                    load = cp_model.LinearExpr.weighted_sum(
                        [self.x[k, slot.index] for k in loaded], [layout.size[k] for k in loaded]
                    )
                    model.add(load <= layout.free[slot.index, resource])
            # An oversized task is alone: with one in the slot, the slot holds one task in all.
            oversized = [self.x[k, slot.index] for k in keys if k in layout.oversized]
            if oversized and len(keys) > 1:
                everything = [self.x[k, slot.index] for k in keys]
                model.add(
                    cp_model.LinearExpr.sum(everything) + (len(keys) - 1) * cp_model.LinearExpr.sum(oversized)
                    <= len(keys)
                )

        # Proposed sprints are interchangeable: used ones come first and none is left empty.
        used: list[cp_model.IntVar] = []
        self.used = used
        for slot in slots[layout.existing :]:
            flag = model.new_bool_var(f"used[{slot.index}]")
            choices = [self.x[k, slot.index] for k in by_slot[slot.index]]
            if choices:
                model.add_max_equality(flag, choices)
            else:
                model.add(flag == 0)
            used.append(flag)
        for earlier, later in zip(used, used[1:], strict=False):
            model.add_implication(later, earlier)

        self._precedence(slots_working_days=[s.working_units for s in slots])
        count = len(layout.rank_order)
        self.earliness = cp_model.LinearExpr.weighted_sum(
            [self.slot[key] for key in layout.rank_order], list(range(count, 0, -1))
        )

    def _precedence(self, slots_working_days: list[int]) -> None:
        layout, model = self.layout, self.model
        pairs = [(b, d) for d in layout.by_key for b in layout.blockers[d]]
        if not layout.problem.options.same_sprint_dependencies:
            for b, d in pairs:
                model.add(self.slot[b] + 1 <= self.slot[d])
            return
        end: dict[str, cp_model.IntVar] = {}
        for key in layout.by_key:
            # The task's end offset within its sprint, at most the sprint's working days.
            end[key] = model.new_int_var(layout.size[key], max(slots_working_days), f"end[{key}]")
            days = [slots_working_days[j] for j in self.options[key]]
            model.add(end[key] <= cp_model.LinearExpr.weighted_sum([self.x[key, j] for j in self.options[key]], days))
        for b, d in pairs:
            shared = model.new_bool_var(f"shared[{b},{d}]")
            model.add(self.slot[b] + 1 <= self.slot[d]).only_enforce_if(shared.negated())
            model.add(self.slot[b] == self.slot[d]).only_enforce_if(shared)
            model.add(end[d] >= end[b] + layout.size[d]).only_enforce_if(shared)

    def hint(self, assignment: dict[str, int]) -> None:
        self.model.clear_hints()
        # A complete hint (every variable the phase's objective and flags depend on) lets CP-SAT
        # start from the greedy plan instead of searching for a first one.
        for (key, j), var in self.x.items():
            self.model.add_hint(var, assignment.get(key) == j)
        for key, var in self.slot.items():
            self.model.add_hint(var, assignment[key])
        self.model.add_hint(self.span, max(assignment.values()) + 1)
        taken = set(assignment.values())
        for slot, flag in zip(self.layout.slots[self.layout.existing :], self.used, strict=True):
            self.model.add_hint(flag, slot.index in taken)

    def fix_span(self, span: int) -> None:
        self.model.add(self.span == span)

    def run(self, objective: cp_model.LinearExprT, deadline: float) -> tuple[dict[str, int], bool, float] | None:
        """(assignment, proven optimal, objective bound), or None when nothing was found in time."""
        self.model.minimize(objective)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.01, deadline - time.perf_counter())
        # CP-SAT's portfolio wants several workers; more than the cores only adds contention.
        solver.parameters.num_workers = max(1, min(8, os.cpu_count() or 1))
        if len(self.x) > _PRESOLVE_LIMIT:
            # On large epics presolve alone can outlast the limit (1,000 tasks: over 10 s on 2 cores)
            # before the hint is even reported; without it the hint is the first plan at once.
            solver.parameters.cp_model_presolve = False
        status = solver.solve(self.model)
        if status not in _FOUND:
            return None
        assignment = {key: solver.value(var) for key, var in self.slot.items()}
        return assignment, status == cp_model.OPTIMAL, solver.best_objective_bound
