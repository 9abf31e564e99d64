"""Test cases as a Jira wiki table: what the Test Cases field holds and a preview comment shows.

One row per test case under the header `||Title||Type||Steps||Expected||`. A row is one line:
the steps are numbered and separated by Jira's forced line break (`\\\\`), and every cell is
made one line with `| { } [ ]` escaped (`bot.formatting.plans.table_cell`), so nothing an LLM
writes can end a cell or open markup. Rows are lines, so `fit_wiki` cuts a long table between rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.formatting.plans import table_cell
from schemas.planning_outputs import GeneratedTest

HEADER = "||Title||Type||Steps||Expected||"


def tests_table(tests: Sequence[GeneratedTest]) -> str:
    rows = [
        f"|{table_cell(test.title)}|{test.type.value}|{_steps(test.steps)}|{table_cell(test.expected_result)}|"
        for test in tests
    ]
    return "\n".join([HEADER, *rows])


def _steps(steps: Sequence[str]) -> str:
    return " \\\\ ".join(f"{number}. {table_cell(step)}" for number, step in enumerate(steps, start=1))
