"""Planning outputs: the rules an LLM's stories, tasks and tests must keep, the re-ask that repairs
a broken rule (through `Llm` against the LLM sandbox), the `planning` settings and the prompts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from openai.lib import pydantic_function_tool, type_to_response_format_param
from pydantic import BaseModel, ValidationError

from bot.app import create_app
from bot.config import DEFAULT_MODELS, ConfigError, PromptSettings, load_settings
from bot.llm.catalogue import ModelChoice
from bot.llm.client import Llm
from bot.llm.types import LlmOutputError, Prompt
from bot.prompting import PromptTemplates
from sandbox import Sandbox
from schemas.planning_outputs import (
    COVERAGE_BOUNDS,
    DEFAULT_TEAMS,
    Coverage,
    GeneratedStories,
    GeneratedTasks,
    GeneratedTests,
    Rule,
    StoryRules,
    TaskRules,
    TestRules,
)
from tests.fixtures.nats import make_settings
from tests.fixtures.service import SANDBOXED

TEMPLATES = PromptTemplates(PromptSettings())
CHOICES = [ModelChoice(provider, DEFAULT_MODELS[provider]) for provider in ("openai", "claude", "gemini", "kimi")]
SECTIONS = {"openai": "/openai/v1", "anthropic": "/anthropic", "google": "/gemini", "moonshot": "/moonshot/v1"}


# --- pure validators ------------------------------------------------------------------------------


def story(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "description": "As a user, I want it.",
        "acceptance_criteria": ["Given"],
        "priority": "High",
    }


def task(title: str, depends_on: tuple[str, ...] = (), team: str = "Backend", days: float = 2) -> dict[str, Any]:
    return {
        "title": title,
        "description": "Do it.",
        "team": team,
        "estimate_days": days,
        "depends_on": list(depends_on),
        "test_cases": [],
    }


def case_of(title: str) -> dict[str, Any]:
    return {"title": title, "type": "Unit", "steps": ["Run it"], "expected_result": "It works"}


def broken(model: type[BaseModel], value: dict[str, Any], context: Any = None) -> str:
    """The one error message `value` fails with; its type must be the rule at its start."""
    with pytest.raises(ValidationError) as raised:
        model.model_validate_json(json.dumps(value), context=context)
    [error] = raised.value.errors()
    assert error["msg"].startswith(f"{error['type']}: ")
    return error["msg"]


TASKS = TaskRules(teams=DEFAULT_TEAMS, max_days=10, max_tasks=4)


def test_valid_answers_pass_with_their_rules() -> None:
    stories = {"stories": [story("Export CSV"), story("Export PDF")]}
    assert len(GeneratedStories.model_validate_json(json.dumps(stories), context=StoryRules(2)).stories) == 2
    tasks = {"tasks": [task("API"), task("UI", ("api",), "frontend", 0.5), task("Check", ("API", "UI"), "QA", 10)]}
    assert GeneratedTasks.model_validate_json(json.dumps(tasks), context=TASKS).tasks[2].depends_on == ["API", "UI"]
    tests = {"test_cases": [case_of("One"), case_of("Two")]}
    assert GeneratedTests.model_validate_json(json.dumps(tests), context=TestRules(2, 4)).test_cases[1].title == "Two"


def test_counts_outside_the_bounds_name_the_count_and_the_bounds() -> None:
    five = {"tasks": [task(f"T{i}") for i in range(5)]}
    assert broken(GeneratedTasks, five, TASKS) == "item_count: the answer has 5 tasks; give between 1 and 4"
    one = {"test_cases": [case_of("Only")]}
    message = broken(GeneratedTests, one, TestRules.for_coverage(Coverage.standard))
    assert message == "item_count: the answer has 1 test cases; give between 3 and 6"
    three = {"stories": [story("A"), story("B"), story("C")]}
    assert "3 stories; give between 1 and 2" in broken(GeneratedStories, three, StoryRules(2))


def test_coverage_levels_are_one_table() -> None:
    assert {level: COVERAGE_BOUNDS[level] for level in Coverage} == {
        "minimal": (1, 2),
        "basic": (2, 4),
        "standard": (3, 6),
        "comprehensive": (5, 10),
    }
    assert TestRules.for_coverage(Coverage.basic) == TestRules(2, 4)


def test_duplicate_titles_are_compared_normalised() -> None:
    value = {"tasks": [task("Add the login API"), task("UI"), task("  add THE login-api! ")]}
    message = broken(GeneratedTasks, value)
    assert message.startswith("duplicate_title: tasks[2] '  add THE login-api! ' repeats tasks[0] 'Add the login API'")


def test_stories_already_under_the_epic_are_refused() -> None:
    rules = StoryRules(5, existing_titles=("Export CSV",))
    message = broken(GeneratedStories, {"stories": [story("Import"), story("export csv.")]}, rules)
    assert message.startswith("existing_title: stories[1] 'export csv.' already exist(s) under the epic")


def test_a_dependency_on_a_task_that_does_not_exist_names_both() -> None:
    message = broken(GeneratedTasks, {"tasks": [task("API"), task("UI", ("Database",))]})
    assert message.startswith("unknown_dependency: tasks[1] 'UI' depends on 'Database', which is not a task")


def test_a_dependency_cycle_shows_its_path() -> None:
    value = {"tasks": [task("Start"), task("A", ("B", "Start")), task("B", ("C",)), task("C", ("a",))]}
    assert broken(GeneratedTasks, value).startswith("dependency_cycle: A → B → C → A;")
    assert broken(GeneratedTasks, {"tasks": [task("Self", ("self",))]}).startswith("dependency_cycle: Self → Self;")


@pytest.mark.parametrize("days", [0, -1, 10.5])
def test_an_estimate_must_be_positive_and_at_most_the_maximum(days: float) -> None:
    message = broken(GeneratedTasks, {"tasks": [task("API"), task("UI", days=days)]}, TASKS)
    assert message == f"estimate: tasks[1] 'UI' is {days:g} man-days; estimate more than 0 and at most 10"


def test_a_team_outside_the_configured_set_is_refused() -> None:
    message = broken(GeneratedTasks, {"tasks": [task("API", team="Marketing")]}, TaskRules(("Backend", "QA"), 5, 3))
    assert message == "team: tasks[0] 'API' has 'Marketing'; the team must be one of Backend, QA"


def test_without_a_context_only_the_answers_own_rules_apply() -> None:
    value = {"tasks": [task(f"T{i}", team="Anyone", days=99) for i in range(20)]}
    assert len(GeneratedTasks.model_validate_json(json.dumps(value)).tasks) == 20
    with pytest.raises(TypeError, match="validation context must be TaskRules"):
        GeneratedTasks.model_validate_json(json.dumps(value), context=StoryRules(3))


def strict_problems(schema: Any, path: str = "$") -> list[str]:
    """What OpenAI strict mode would refuse: optional properties, defaults, open objects."""
    found: list[str] = []
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            if set(schema.get("properties", {})) != set(schema.get("required", [])):
                found.append(f"{path}: not every property is required")
            if schema.get("additionalProperties") is not False:
                found.append(f"{path}: additionalProperties is not false")
        if "default" in schema:
            found.append(f"{path}: has a default")
        for key, value in schema.items():
            found += strict_problems(value, f"{path}.{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            found += strict_problems(value, f"{path}[{index}]")
    return found


@pytest.mark.parametrize("model", [GeneratedStories, GeneratedTasks, GeneratedTests])
def test_schemas_fit_every_providers_structured_output(model: type[BaseModel]) -> None:
    response_format: Any = type_to_response_format_param(model)
    strict = response_format["json_schema"]["schema"]
    assert strict_problems(strict) == []
    assert pydantic_function_tool(model)["function"]["strict"] is True
    # Claude and Gemini get the plain schema; the sandbox recognises it by its title.
    assert model.model_json_schema()["title"] == strict["title"] == model.__name__


# --- through Llm, against the LLM sandbox ------------------------------------------------------------


def request(rule: Rule) -> tuple[type[BaseModel], Prompt, Any]:
    """A planning request in which `rule` can be broken: the real templates, filled in."""
    if rule in (Rule.item_count, Rule.existing_title, Rule.duplicate_title):
        rules: Any = StoryRules(4, existing_titles=("Export invoices as PDF",))
        values = {"epic_key": "PAY-1", "summary": "Invoice export", "description": "Monthly.", "prd": "-", "rfc": "-"}
        return GeneratedStories, TEMPLATES.render("stories", "PAY", {**values, **rules.prompt_values()}), rules
    rules = TaskRules(DEFAULT_TEAMS, 5, 6, team_based=True)
    values = {"story_key": "PAY-2", "summary": "Export invoices as CSV", "description": "-", "epic": "-", "rfc": "-"}
    return GeneratedTasks, TEMPLATES.render("tasks", "PAY", {**values, **rules.prompt_values()}), rules


@pytest.fixture
async def make_llm(sandbox: Sandbox) -> AsyncIterator[Callable[..., Llm]]:
    made: list[Llm] = []

    def make(**llm: Any) -> Llm:
        sections = {
            name: {"api_key": "sk-test", "base_url": f"{sandbox.llm_url}{path}"} for name, path in SECTIONS.items()
        }
        made.append(Llm(load_settings(None, **sections, llm=llm)))
        return made[-1]

    yield make
    for llm in made:
        await llm.close()


async def break_rule(sandbox: Sandbox, rule: Rule, attempts: int) -> None:
    faults = {"break_rule": rule.value, "break_rule_attempts": attempts}
    async with aiohttp.ClientSession() as session:
        async with session.put(f"{sandbox.llm_url}/_sandbox/llm/faults", json=faults) as response:
            assert response.status == 200, await response.text()


# Each rule through another provider, so every wire format carries a repair.
BY_RULE = pytest.mark.parametrize(("rule", "choice"), [(rule, CHOICES[i % 4]) for i, rule in enumerate(Rule)])


@BY_RULE
async def test_a_broken_rule_is_repaired_on_the_re_ask(
    rule: Rule, choice: ModelChoice, make_llm: Callable[..., Llm], sandbox: Sandbox
) -> None:
    await break_rule(sandbox, rule, attempts=1)
    output, prompt, rules = request(rule)
    answer = await make_llm(output_retries=2).structured(choice, prompt, output, context=rules)
    assert isinstance(answer.value, output) and answer.attempts == 2


@BY_RULE
async def test_a_rule_broken_every_time_fails_naming_it(
    rule: Rule, choice: ModelChoice, make_llm: Callable[..., Llm], sandbox: Sandbox
) -> None:
    await break_rule(sandbox, rule, attempts=100)
    output, prompt, rules = request(rule)
    with pytest.raises(LlmOutputError) as raised:
        await make_llm(output_retries=1).structured(choice, prompt, output, context=rules)
    error = raised.value
    assert error.rules == (rule.value,) and error.attempts == 2
    assert f"did not match {output.__name__} (broke rule {rule.value}) after 2 attempts: (root): {rule.value}: " in str(
        error
    )


async def test_a_schema_error_names_no_rule(make_llm: Callable[..., Llm], sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession() as session:
        await session.put(f"{sandbox.llm_url}/_sandbox/llm/faults", json={"malformed_rate": 1})
    output, prompt, rules = request(Rule.team)
    with pytest.raises(LlmOutputError) as raised:
        await make_llm(output_retries=0).structured(CHOICES[0], prompt, output, context=rules)
    assert raised.value.rules == () and "broke rule" not in str(raised.value)


# --- settings and prompts ----------------------------------------------------------------------------


def test_planning_settings_defaults_and_bounds(tmp_path: Path) -> None:
    planning = load_settings(None).planning
    assert planning.teams == list(DEFAULT_TEAMS)
    assert (planning.max_task_days, planning.max_stories, planning.max_tasks_per_story) == (10, 15, 12)
    assert load_settings(None, planning={"teams": [" Data ", "QA"]}).planning.teams == ["Data", "QA"]
    bad_sections: list[dict[str, Any]] = [
        {"teams": []},
        {"teams": ["QA", "qa"]},
        {"teams": [" "]},
        {"max_task_days": 0},
        {"max_stories": 31},
    ]
    for bad in bad_sections:
        path = tmp_path / "config.yaml"
        path.write_text(json.dumps({"planning": bad}))
        with pytest.raises(ConfigError, match="planning"):
            load_settings(path)


def test_prompts_state_the_rules_they_are_checked_against() -> None:
    rules = TaskRules(("Backend", "QA"), 2.5, 7, team_based=True)
    values = {"story_key": "PAY-2", "summary": "S", "description": "D", "epic": "E", "rfc": "R"}
    prompt = TEMPLATES.render("tasks", "PAY", {**values, **rules.prompt_values()})
    assert "Teams: Backend, QA." in prompt.system and "at most 2.5 man-days" in prompt.system
    assert "at most 7 tasks" in prompt.system and "blocked by" in prompt.system
    plain = TEMPLATES.render("tasks", "PAY", {**values, **TaskRules(("QA",), 1, 1).prompt_values()})
    assert "blocked by" not in plain.system
    tests = TEMPLATES.render(
        "tests",
        "PAY",
        {"item_key": "K", "issue_type": "Story", "summary": "S", "description": "D"}
        | TestRules.for_coverage(Coverage.minimal).prompt_values(),
    )
    assert "between 1 and 2 test cases" in tests.system and "E2E" in tests.system
    story_rules = StoryRules(3, ("Old one",))
    stories = TEMPLATES.render(
        "stories",
        "PAY",
        {"epic_key": "E", "summary": "S", "description": "D", "prd": "P", "rfc": "R"} | story_rules.prompt_values(),
    )
    assert "at most 3 stories" in stories.system and "- Old one" in stories.user


def describe_values() -> dict[str, str]:
    keys = ("ticket_key", "issue_type", "status", "summary", "labels", "current_description", "epic", "prd", "rfc")
    return {key: key for key in keys}


def test_a_bug_is_described_by_reproduction_not_purpose(tmp_path: Path) -> None:
    bug = TEMPLATES.render("describe", "PAY", describe_values(), variant="Bug")
    assert "Steps to Reproduce" in bug.system and "Impact" in bug.system and "Purpose" not in bug.system
    story = TEMPLATES.render("describe", "PAY", describe_values(), variant="Story")
    assert "Purpose" in story.system and story == TEMPLATES.render("describe", "PAY", describe_values())
    # A project's own variant wins; its missing parts fall back to the base template.
    (tmp_path / "describe.sub-task.user.md").write_text("Sub-task $ticket_key")
    project = PromptTemplates(PromptSettings(projects={"PAY": tmp_path}))
    subtask = project.render("describe", "PAY", describe_values(), variant="Sub-task")
    assert subtask.user == "Sub-task ticket_key" and "Purpose" in subtask.system


async def test_describe_uses_the_bug_template_for_a_bug(aiohttp_client: Any, nats_url: str, tmp_path: Path) -> None:
    # The sandbox LLM answers with the prompt's words: each template's own words show which one was used.
    (tmp_path / "describe.bug.user.md").write_text("Quokka platypus wombat")
    (tmp_path / "describe.user.md").write_text("Narwhal axolotl pangolin")
    settings = make_settings(nats_url, sandbox=SANDBOXED, prompts={"projects": {"DEMO": str(tmp_path)}})
    client = await aiohttp_client(create_app(settings))
    described = {}
    for key in ("DEMO-10", "DEMO-2"):  # a Bug, a Story
        response = await client.post("/generate/single", json={"ticket_key": key})
        assert response.status == 200, await response.text()
        described[key] = (await response.json())["generated_description"].lower()
    assert "quokka" in described["DEMO-10"] and "narwhal" not in described["DEMO-10"]
    assert "narwhal" in described["DEMO-2"] and "quokka" not in described["DEMO-2"]
