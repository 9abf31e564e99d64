"""The LLM sandbox's planning answers: rule-abiding plans in every provider's wire format, and
the `break_rule` fault, driven by Augment's own adapters and prompt templates over loopback HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, get_args

import aiohttp
import pytest
from pydantic import BaseModel, ValidationError

from bot.config import PromptSettings
from bot.llm.anthropic_messages import AnthropicMessages
from bot.llm.client import Adapter
from bot.llm.gemini_content import GeminiContent
from bot.llm.openai_chat import OpenAiChat
from bot.llm.types import Prompt, Turn
from bot.prompting import PromptTemplates
from sandbox.llm import LlmSandboxSettings, create_llm_sandbox_app
from sandbox.llm.state import BrokenRule
from schemas.planning_outputs import (
    DEFAULT_TEAMS,
    Coverage,
    GeneratedStories,
    GeneratedTasks,
    GeneratedTests,
    Rule,
    StoryRules,
    TaskRules,
    TestRules,
    normalised,
)

BANNER = "[Augment LLM sandbox — not AI]"
TEMPLATES = PromptTemplates(PromptSettings())
PROVIDERS = ("openai", "kimi", "claude", "gemini")
EXISTING = ("Export invoices as PDF", "Email the monthly statement")


def stories_request(rules: StoryRules) -> Prompt:
    values = {"epic_key": "PAY-1", "summary": "Invoice export for accountants", "prd": "(none)", "rfc": "(none)"}
    values["description"] = "Accountants export invoices every month for the audit."
    return TEMPLATES.render("stories", "PAY", {**values, **rules.prompt_values()})


def tasks_request(rules: TaskRules, summary: str = "Export invoices as CSV") -> Prompt:
    values = {"story_key": "PAY-2", "summary": summary, "description": "A CSV per month.", "epic": "PAY-1"}
    return TEMPLATES.render("tasks", "PAY", {**values, "rfc": "(none)", **rules.prompt_values()})


def coverage_request(rules: TestRules) -> Prompt:
    values = {"item_key": "PAY-3", "issue_type": "Story", "summary": "Export invoices", "description": "CSV."}
    return TEMPLATES.render("tests", "PAY", {**values, **rules.prompt_values()})


STORY_RULES = StoryRules(max_stories=4, existing_titles=EXISTING)
TASK_RULES = TaskRules(teams=DEFAULT_TEAMS, max_days=5, max_tasks=6)
TEAM_RULES = TaskRules(teams=("Backend", "QA", "Frontend"), max_days=3, max_tasks=8, team_based=True)
# (output model, request, rules) for each planning answer.
REQUESTS: dict[str, tuple[type[BaseModel], Prompt, Any]] = {
    "stories": (GeneratedStories, stories_request(STORY_RULES), STORY_RULES),
    "tasks": (GeneratedTasks, tasks_request(TASK_RULES), TASK_RULES),
    "team_tasks": (GeneratedTasks, tasks_request(TEAM_RULES), TEAM_RULES),
    **{
        f"tests_{level}": (
            GeneratedTests,
            coverage_request(TestRules.for_coverage(level)),
            TestRules.for_coverage(level),
        )
        for level in Coverage
    },
}
# The answer kind each rule can be broken in.
BREAKABLE = {
    Rule.item_count: ("stories", "tasks", "tests_minimal", "tests_comprehensive"),
    Rule.existing_title: ("stories",),
    Rule.duplicate_title: ("stories", "tasks", "tests_minimal"),
    Rule.unknown_dependency: ("tasks",),
    Rule.dependency_cycle: ("tasks",),
    Rule.estimate: ("tasks",),
    Rule.team: ("team_tasks",),
}

Send = Callable[..., Awaitable[str]]


@pytest.fixture
async def llm(aiohttp_server: Any) -> AsyncIterator[tuple[str, Callable[[str], Adapter]]]:
    """(sandbox URL, provider → Augment's adapter for it); adapters are closed afterwards."""
    server = await aiohttp_server(create_llm_sandbox_app(LlmSandboxSettings()), host="127.0.0.1")
    url = str(server.make_url("")).rstrip("/")
    made: list[Adapter] = []

    def adapter(provider: str) -> Adapter:
        built: Adapter
        if provider == "claude":
            built = AnthropicMessages("sk-ant", f"{url}/anthropic", 10, 0)
        elif provider == "gemini":
            built = GeminiContent("gem-key", f"{url}/gemini", 10, 0)
        else:
            base = f"{url}/openai/v1" if provider == "openai" else f"{url}/moonshot/v1"
            built = OpenAiChat(provider, "sk-key", base, 10, 0, json_schema=provider == "openai")
        made.append(built)
        return built

    yield url, adapter
    for built in made:
        await built.close()


async def set_faults(url: str, **changes: Any) -> int:
    async with aiohttp.ClientSession() as session, session.put(f"{url}/_sandbox/llm/faults", json=changes) as response:
        return response.status


async def ask(adapter: Adapter, kind: str, turns: list[Turn] | None = None) -> str:
    output, prompt, _ = REQUESTS[kind]
    reply = await adapter.send("sandbox-model", prompt.system, turns or [Turn("user", prompt.user)], output)
    return reply.text


def broken_rules(kind: str, text: str) -> set[str]:
    """The rules `text` breaks as an answer of `kind` (empty: it is valid)."""
    output, _, rules = REQUESTS[kind]
    try:
        output.model_validate_json(text, context=rules)
    except ValidationError as exc:
        return {error["type"] for error in exc.errors()}
    return set()


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("kind", list(REQUESTS))
async def test_planning_answers_keep_every_rule(llm: Any, provider: str, kind: str) -> None:
    _, adapter = llm
    text = await ask(adapter(provider), kind)
    assert broken_rules(kind, text) == set()
    items = next(iter(json.loads(text).values()))
    assert all(item["title"].startswith("[sandbox] ") for item in items), "marked as sandbox output"
    if "description" in items[0]:
        assert all(item["description"].startswith(BANNER) for item in items)
    if kind == "stories":
        assert len(items) >= 2 and all(c.startswith("Given ") for s in items for c in s["acceptance_criteria"])
        assert not {normalised(s["title"]) for s in items} & {normalised(t) for t in EXISTING}


async def test_answers_are_deterministic_per_prompt(llm: Any) -> None:
    _, adapter = llm
    openai = adapter("openai")
    assert await ask(openai, "tasks") == await ask(openai, "tasks")
    other = tasks_request(TASK_RULES, summary="Reconcile payments with the bank feed")
    reply = await openai.send("sandbox-model", other.system, [Turn("user", other.user)], GeneratedTasks)
    assert reply.text != await ask(openai, "tasks")
    assert "Reconcile" in reply.text or "payments" in reply.text, "the plan is about the prompt's subject"


async def test_team_based_tasks_put_blocked_teams_after_the_work_they_wait_for(llm: Any) -> None:
    _, adapter = llm
    tasks = GeneratedTasks.model_validate_json(await ask(adapter("claude"), "team_tasks"), context=TEAM_RULES).tasks
    by_title = {task.title: task for task in tasks}
    assert tasks[0].team == "Backend" and tasks[-1].team == "QA"

    def waits_for_other_team(title: str, team: str, seen: frozenset[str] = frozenset()) -> bool:
        deps = [by_title[d] for d in by_title[title].depends_on if d not in seen]
        return any(d.team != team or waits_for_other_team(d.title, team, seen | {title}) for d in deps)

    assert all(waits_for_other_team(t.title, "QA") for t in tasks if t.team == "QA")
    assert all(0 < t.estimate_days <= 3 for t in tasks)


@pytest.mark.parametrize(("rule", "kind"), [(rule, kind) for rule, kinds in BREAKABLE.items() for kind in kinds])
async def test_break_rule_breaks_exactly_that_rule_then_answers_correctly(llm: Any, rule: Rule, kind: str) -> None:
    url, adapter = llm
    provider = PROVIDERS[list(Rule).index(rule) % len(PROVIDERS)]
    assert await set_faults(url, break_rule=rule.value, break_rule_attempts=1) == 200
    chat = adapter(provider)
    first = await ask(chat, kind)
    assert broken_rules(kind, first) == {rule.value}
    # The second user turn of the conversation (the re-ask) is past break_rule_attempts.
    _, prompt, _ = REQUESTS[kind]
    turns = [Turn("user", prompt.user), Turn("assistant", first), Turn("user", "Your previous answer did not validate")]
    assert broken_rules(kind, await ask(chat, kind, turns)) == set()


async def test_rules_that_do_not_apply_leave_the_answer_valid(llm: Any) -> None:
    url, adapter = llm
    await set_faults(url, break_rule="dependency_cycle", break_rule_attempts=5)
    assert broken_rules("stories", await ask(adapter("gemini"), "stories")) == set()
    assert broken_rules("tests_basic", await ask(adapter("gemini"), "tests_basic")) == set()


async def test_break_rule_fault_is_validated(llm: Any) -> None:
    url, _ = llm
    assert await set_faults(url, break_rule="no_such_rule") == 400
    assert await set_faults(url, break_rule_attempts=-1) == 400
    assert await set_faults(url, break_rule=None) == 200


def test_sandbox_rule_names_are_augments() -> None:
    assert set(get_args(BrokenRule)) == {rule.value for rule in Rule}
