"""What the LLM answers for planning jobs: stories, tasks and test cases, and the rules they obey.

Two layers of checks:
- the JSON schema (field lengths, list sizes, enums) travels to the provider as the structured-
  output schema. It stays inside what every adapter's structured mode accepts: every property
  required, no defaults, no numeric bounds the rules below own (OpenAI strict mode, Claude tool
  input, Gemini `responseJsonSchema`).
- rules that depend on the request run in an `after` model validator reading the pydantic
  validation context (`model_validate_json(text, context=TaskRules(...))`): counts within bounds,
  dependencies on tasks that exist and form no cycle, estimates in range, teams from the
  configured set, titles neither duplicated nor already existing. Without a context only the
  rules the answer carries in itself run (duplicates, dependencies, cycles).

A broken rule raises a `PydanticCustomError` whose type is the rule's name (`Rule`) and whose
message names the rule and the item, so a re-ask tells the model what to fix and
`LlmOutputError` can say which rule kept failing. One call, one rule: the first rule broken
(in `Rule` order) is reported with every item that breaks it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

# Jira's summary limit; titles become summaries.
TITLE_MAX = 255
TEXT_MAX = 4000
LINE_MAX = 500
# Schema ceilings on list sizes; the configured limits (bot.config PlanningSettings) stay below
# them, so an answer over the configured limit breaks the `count` rule, not the schema.
MAX_STORIES = 50
MAX_TASKS = 40
MAX_TEST_CASES = 10
MAX_DEPENDENCIES = 12
MAX_TASK_TEST_CASES = 10
MAX_CRITERIA = 12
MAX_STEPS = 15
DEFAULT_TEAMS = ("Backend", "Frontend", "QA", "DevOps", "Fullstack")

R = TypeVar("R")


class Rule(StrEnum):
    """The rule names: error types of rule violations and the sandbox's `break_rule` values."""

    item_count = "item_count"
    existing_title = "existing_title"
    duplicate_title = "duplicate_title"
    unknown_dependency = "unknown_dependency"
    dependency_cycle = "dependency_cycle"
    estimate = "estimate"
    team = "team"


class Coverage(StrEnum):
    minimal = "minimal"
    basic = "basic"
    standard = "standard"
    comprehensive = "comprehensive"


# Test cases per item for each coverage level: (at least, at most).
COVERAGE_BOUNDS: dict[Coverage, tuple[int, int]] = {
    Coverage.minimal: (1, 2),
    Coverage.basic: (2, 4),
    Coverage.standard: (3, 6),
    Coverage.comprehensive: (5, MAX_TEST_CASES),
}


class Priority(StrEnum):
    """Jira's default priority names."""

    highest = "Highest"
    high = "High"
    medium = "Medium"
    low = "Low"
    lowest = "Lowest"


class TestType(StrEnum):
    __test__ = False  # not a pytest class, whatever its name

    unit = "Unit"
    integration = "Integration"
    acceptance = "Acceptance"
    e2e = "E2E"
    performance = "Performance"
    security = "Security"
    ui = "UI"


def normalised(title: str) -> str:
    """The form titles are compared in: case, spaces and punctuation do not make a title new."""
    return " ".join(re.sub(r"[\W_]+", " ", title.casefold()).split())


def _violation(rule: Rule, detail: str) -> PydanticCustomError:
    # The message is a template: braces in titles must not be read as placeholders.
    return PydanticCustomError(rule.value, "{rule}: {detail}", {"rule": rule.value, "detail": detail})


def _bullets(titles: tuple[str, ...]) -> str:
    return "\n".join(f"- {title}" for title in titles) if titles else "(none)"


@dataclass(frozen=True)
class StoryRules:
    """What a story answer is checked against; `prompt_values` fills the stories templates."""

    max_stories: int
    existing_titles: tuple[str, ...] = ()

    def prompt_values(self) -> dict[str, str]:
        return {"max_stories": str(self.max_stories), "existing_stories": _bullets(self.existing_titles)}


@dataclass(frozen=True)
class TaskRules:
    """What a task answer is checked against. `team_based` only changes the prompt (the teams'
    blocking rule); the team of every task is checked either way."""

    teams: tuple[str, ...]
    max_days: float
    max_tasks: int
    team_based: bool = False

    def prompt_values(self) -> dict[str, str]:
        teams = ", ".join(self.teams)
        rule = (
            "Plan per team. A team whose work needs another team's result is blocked by it: list the "
            "blocking tasks in depends_on (QA is blocked by Backend and Frontend; Frontend is blocked by "
            "Backend when it calls a new API; DevOps work that others deploy on comes first)."
            if self.team_based
            else "Give each task to the team that would do it."
        )
        return {
            "teams": teams,
            "team_rule": rule,
            "max_days": f"{self.max_days:g}",
            "max_tasks": str(self.max_tasks),
        }


@dataclass(frozen=True)
class TestRules:
    __test__ = False  # not a pytest class, whatever its name

    min_per_item: int
    max_per_item: int

    @classmethod
    def for_coverage(cls, level: Coverage) -> TestRules:
        low, high = COVERAGE_BOUNDS[level]
        return cls(low, high)

    def prompt_values(self) -> dict[str, str]:
        return {
            "min_tests": str(self.min_per_item),
            "max_tests": str(self.max_per_item),
            "test_types": ", ".join(t.value for t in TestType),
        }


def _rules(info: ValidationInfo, kind: type[R]) -> R | None:
    context = info.context
    if context is None:
        return None
    if not isinstance(context, kind):
        raise TypeError(f"validation context must be {kind.__name__}, not {type(context).__name__}")
    return context


def _check_count(what: str, count: int, low: int, high: int) -> None:
    if not low <= count <= high:
        wanted = f"exactly {low}" if low == high else f"between {low} and {high}"
        raise _violation(Rule.item_count, f"the answer has {count} {what}; give {wanted}")


def _check_duplicates(what: str, titles: list[str]) -> None:
    first: dict[str, int] = {}
    clashes = []
    for index, title in enumerate(titles):
        key = normalised(title)
        if key in first:
            clashes.append(f"{what}[{index}] {title!r} repeats {what}[{first[key]}] {titles[first[key]]!r}")
        else:
            first[key] = index
    if clashes:
        raise _violation(Rule.duplicate_title, "; ".join(clashes) + "; every title must differ")


class GeneratedStory(BaseModel):
    title: str = Field(min_length=1, max_length=TITLE_MAX, description="A short imperative summary.")
    description: str = Field(
        min_length=1, max_length=TEXT_MAX, description="The user story: As a <role>, I want <goal>, so that <benefit>."
    )
    acceptance_criteria: list[str] = Field(
        min_length=1, max_length=MAX_CRITERIA, description="Checkable statements, Given/When/Then where it fits."
    )
    priority: Priority


class GeneratedStories(BaseModel):
    """The stories proposed for an epic. Context: `StoryRules`."""

    stories: list[GeneratedStory] = Field(min_length=1, max_length=MAX_STORIES)

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> Self:
        titles = [story.title for story in self.stories]
        rules = _rules(info, StoryRules)
        if rules is not None:
            _check_count("stories", len(titles), 1, rules.max_stories)
            existing = {normalised(title) for title in rules.existing_titles}
            repeated = [f"stories[{i}] {t!r}" for i, t in enumerate(titles) if normalised(t) in existing]
            if repeated:
                raise _violation(
                    Rule.existing_title,
                    ", ".join(repeated) + " already exist(s) under the epic; propose only new stories",
                )
        _check_duplicates("stories", titles)
        return self


class GeneratedTask(BaseModel):
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    description: str = Field(min_length=1, max_length=TEXT_MAX)
    team: str = Field(min_length=1, max_length=80, description="One of the teams the prompt names.")
    estimate_days: float = Field(description="Man-days: a positive number up to the prompt's maximum.")
    depends_on: list[str] = Field(
        max_length=MAX_DEPENDENCIES, description="Titles of other tasks in this answer that must be done first."
    )
    test_cases: list[str] = Field(max_length=MAX_TASK_TEST_CASES, description="How to check the task is done.")


class GeneratedTasks(BaseModel):
    """The tasks of one story. Context: `TaskRules`."""

    tasks: list[GeneratedTask] = Field(min_length=1, max_length=MAX_TASKS)

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> Self:
        titles = [task.title for task in self.tasks]
        rules = _rules(info, TaskRules)
        if rules is not None:
            _check_count("tasks", len(titles), 1, rules.max_tasks)
        _check_duplicates("tasks", titles)
        known = {normalised(title) for title in titles}
        unknown = [
            f"tasks[{i}] {task.title!r} depends on {dep!r}"
            for i, task in enumerate(self.tasks)
            for dep in task.depends_on
            if normalised(dep) not in known
        ]
        if unknown:
            raise _violation(
                Rule.unknown_dependency,
                "; ".join(unknown) + ", which is not a task of this answer; depend only on titles of tasks in it",
            )
        cycle = _cycle(self.tasks)
        if cycle:
            raise _violation(Rule.dependency_cycle, f"{' → '.join(cycle)}; dependencies must not go round in a circle")
        if rules is not None:
            bad = [
                f"tasks[{i}] {task.title!r} is {task.estimate_days:g}"
                for i, task in enumerate(self.tasks)
                if not 0 < task.estimate_days <= rules.max_days
            ]
            if bad:
                raise _violation(
                    Rule.estimate, "; ".join(bad) + f" man-days; estimate more than 0 and at most {rules.max_days:g}"
                )
            teams = {team.casefold() for team in rules.teams}
            strangers = [
                f"tasks[{i}] {t.title!r} has {t.team!r}"
                for i, t in enumerate(self.tasks)
                if t.team.casefold() not in teams
            ]
            if strangers:
                raise _violation(
                    Rule.team, "; ".join(strangers) + f"; the team must be one of {', '.join(rules.teams)}"
                )
        return self


def _cycle(tasks: list[GeneratedTask]) -> list[str]:
    """The titles along one dependency cycle, first title repeated at the end; [] if there is none."""
    by_key = {normalised(task.title): task for task in tasks}
    done: set[str] = set()
    for start in by_key:
        # Iterative depth-first search: path holds (task key, its remaining dependencies).
        path: list[tuple[str, list[str]]] = [(start, [normalised(d) for d in by_key[start].depends_on])]
        on_path = {start}
        while path:
            key, pending = path[-1]
            if key in done or not pending:
                done.add(key)
                on_path.discard(key)
                path.pop()
                continue
            nxt = pending.pop()
            if nxt in on_path:
                keys = [k for k, _ in path]
                loop = keys[keys.index(nxt) :] + [nxt]
                return [by_key[k].title for k in loop]
            if nxt in by_key and nxt not in done:
                path.append((nxt, [normalised(d) for d in by_key[nxt].depends_on]))
                on_path.add(nxt)
    return []


class GeneratedTest(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    title: str = Field(min_length=1, max_length=TITLE_MAX)
    """The test case's title."""
    type: TestType
    """The kind of test."""
    steps: list[str] = Field(min_length=1, max_length=MAX_STEPS)
    """The test's steps, in order."""
    expected_result: str = Field(min_length=1, max_length=TEXT_MAX)
    """What passing looks like."""


class GeneratedTests(BaseModel):
    """The test cases for one item (a story or a task). Context: `TestRules`."""

    test_cases: list[GeneratedTest] = Field(min_length=1, max_length=MAX_TEST_CASES)

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> Self:
        titles = [test.title for test in self.test_cases]
        rules = _rules(info, TestRules)
        if rules is not None:
            _check_count("test cases", len(titles), rules.min_per_item, rules.max_per_item)
        _check_duplicates("test_cases", titles)
        return self
