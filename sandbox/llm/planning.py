"""Plausible planning answers: stories, tasks and test cases that keep Augment's planning rules.

A structured request whose schema is titled GeneratedStories, GeneratedTasks or GeneratedTests
gets a plan built from the prompt instead of schema-shaped filler:
- the rules are read from the words of the templates (system prompt and first user turn):
  "at most N stories", "at most N tasks", "Teams: A, B, C.", "at most N man-days",
  "between N and M test cases"; the titles listed under "Stories that already exist" are
  avoided. Re-asks are not read for rules, only the first request.
- the topic comes from the request's "Title:" line and then its other words.
- tasks depend only on earlier tasks (so they exist and form no cycle); in a team-based prompt
  (one that speaks of "blocked by") teams are ordered so QA comes after the teams it waits on.
Every description opens with the sandbox banner and every title with "[sandbox]", so no one
mistakes the plan for a model's. `broken` names one rule to break (the `break_rule` fault); a
rule that does not apply to the answer's kind (or cannot be broken, e.g. existing_title with
no existing stories) leaves the answer valid.
"""

import random
import re
from typing import Any

from sandbox.llm.state import BrokenRule
from sandbox.llm.text import BANNER, prompt_words

KINDS = {"GeneratedStories": "stories", "GeneratedTasks": "tasks", "GeneratedTests": "tests"}
TEST_TYPES = ("Unit", "Integration", "Acceptance", "E2E", "Performance", "Security", "UI")
DEFAULT_TEAMS = ("Backend", "Frontend", "QA", "DevOps", "Fullstack")
# The most a schema list takes (schemas.planning_outputs): a count is never broken past it.
MAX_TEST_CASES = 10
_ESTIMATES = (0.5, 1, 1.5, 2, 3, 5, 8)
# Teams whose work others wait on come first; QA last.
_TEAM_ORDER = {"devops": 0, "backend": 1, "fullstack": 2, "frontend": 3, "qa": 5}
_TEMPLATE_WORDS = frozenset(
    """
    propose plan stories story tasks task epic title test cases item exist already again product
    requirements prd technical design rfc none parent
    """.split()  # noqa: SIM905 - one word list reads better than a column of strings
)
_VERBS = ("Let users", "Show", "Manage", "Report on", "Configure", "Track", "Export", "Notify about")
_ROLES = ("customer", "team lead", "administrator", "support agent", "developer")
_PRIORITIES = ("High", "Medium", "Medium", "Low")


def kind(schema: dict[str, Any]) -> str | None:
    """ "stories", "tasks" or "tests" for a planning schema, else None."""
    title = schema.get("title")
    return KINDS.get(title) if isinstance(title, str) else None


def answer(kind: str, turns: list[tuple[str, str]], rng: random.Random, broken: BrokenRule | None) -> dict[str, Any]:
    """The plan for `kind`, from the conversation's system prompt and first request."""
    users = [text for role, text in turns if role == "user"]
    first = users[0] if users else ""
    rules_text = "\n".join([text for role, text in turns if role == "system"] + [first])
    words = _topic(first)
    if kind == "stories":
        return _stories(rules_text, words, rng, broken)
    if kind == "tasks":
        return _tasks(rules_text, words, rng, broken)
    return _tests(rules_text, words, rng, broken)


def _topic(request: str) -> list[str]:
    title = re.search(r"^Title: (.+)$", request, re.MULTILINE)
    words = prompt_words(title.group(1)) if title else []
    words += prompt_words(request)
    pool = [w for w in dict.fromkeys(words) if w.lower() not in _TEMPLATE_WORDS]
    return pool + [w for w in ("scope", "release", "backlog", "rollout", "review", "owner") if w not in pool]


def _number(pattern: str, text: str, default: float) -> float:
    found = re.search(pattern, text)
    return float(found.group(1)) if found else default


def _normalised(title: str) -> str:
    return " ".join(re.sub(r"[\W_]+", " ", title.casefold()).split())


def _titles(count: int, words: list[str], rng: random.Random, avoid: set[str], templates: tuple[str, ...]) -> list[str]:
    """`count` distinct "[sandbox] ..." titles about `words`, none of whose forms is in `avoid`."""
    titles: list[str] = []
    seen = set(avoid)
    for _ in range(count * 4):  # enough tries to find distinct ones; numbered after that
        if len(titles) == count:
            break
        a, b = rng.sample(words, 2)
        title = f"[sandbox] {rng.choice(templates).format(a=a, b=b)}"
        if _normalised(title) not in seen:
            seen.add(_normalised(title))
            titles.append(title)
    part = 1
    while len(titles) < count:
        title = f"[sandbox] {words[0]} part {part}"
        part += 1
        if _normalised(title) not in seen:
            seen.add(_normalised(title))
            titles.append(title)
    return titles


def _duplicate(items: list[dict[str, Any]], limit: int) -> None:
    """Make the second item's title repeat the first's, differing only in case and punctuation."""
    copy = items[0]["title"].upper() + "!"
    if len(items) >= 2:
        items[1]["title"] = copy
    elif limit >= 2:
        items.append({**items[0], "title": copy})


def _stories(text: str, words: list[str], rng: random.Random, broken: BrokenRule | None) -> dict[str, Any]:
    most = int(_number(r"at most (\d+) stories", text, 15))
    block = re.search(r"Stories that already exist[^\n]*\n((?:- [^\n]*\n?)*)", text)
    existing = [line[2:].strip() for line in block.group(1).splitlines()] if block else []
    count = most + 1 if broken == "item_count" else min(most, rng.randint(3, 5))
    templates = tuple(f"{verb} {{a}} {{b}}" for verb in _VERBS)
    titles = _titles(count, words, rng, {_normalised(t) for t in existing}, templates)
    stories: list[dict[str, Any]] = []
    for title in titles:
        a, b, c = rng.sample(words, 3)
        role = rng.choice(_ROLES)
        stories.append(
            {
                "title": title,
                "description": f"{BANNER}\n\nAs a {role}, I want {a} to work with {b}, so that {c} takes less effort.",
                "acceptance_criteria": [
                    f"Given a {role} with {a}, when they open {b}, then {c} is shown",
                    f"Given {b} is unavailable, when the {role} retries, then no {a} is lost",
                ],
                "priority": rng.choice(_PRIORITIES),
            }
        )
    if broken == "existing_title" and existing:
        stories[0]["title"] = existing[0]
    elif broken == "duplicate_title":
        _duplicate(stories, most)
    return {"stories": stories}


def _teams(text: str) -> list[str]:
    found = re.search(r"Teams: ([^\n]+?)\.(?:\s|$)", text)
    teams = [t.strip() for t in found.group(1).split(",") if t.strip()] if found else []
    return teams or list(DEFAULT_TEAMS)


def _tasks(text: str, words: list[str], rng: random.Random, broken: BrokenRule | None) -> dict[str, Any]:
    most = int(_number(r"at most (\d+) tasks", text, 12))
    max_days = _number(r"at most ([\d.]+) man-days", text, 10)
    teams = _teams(text)
    if "blocked by" in text:
        teams.sort(key=lambda team: _TEAM_ORDER.get(team.casefold(), 4))
    count = most + 1 if broken == "item_count" else min(most, rng.randint(3, 6))
    templates = (
        "Build {a} for {b}",
        "Add {a} to {b}",
        "Wire {a} into {b}",
        "Document {a} and {b}",
        "Test {a} with {b}",
    )
    titles = _titles(count, words, rng, set(), templates)
    fitting = [days for days in _ESTIMATES if days <= max_days] or [max_days]
    tasks: list[dict[str, Any]] = []
    for index, title in enumerate(titles):
        a, b = rng.sample(words, 2)
        # Spread over the teams in order, first to last (QA), so a blocked team's task comes after
        # (and depends on) the work it waits for.
        spread = round(index * (len(teams) - 1) / (count - 1)) if count > 1 else 0
        team = teams[spread] if "blocked by" in text else rng.choice(teams)
        earlier = titles[:index]
        depends = [earlier[-1]] if earlier else []
        if len(earlier) > 2 and rng.random() < 0.5:
            depends.append(earlier[rng.randrange(len(earlier) - 1)])
        tasks.append(
            {
                "title": title,
                "description": f"{BANNER}\n\nChange **{a}** so that {b} works end to end; done when its checks pass.",
                "team": team,
                "estimate_days": rng.choice(fitting),
                "depends_on": depends,
                "test_cases": [f"{a} works with {b}", f"{a} fails cleanly without {b}"],
            }
        )
    if broken == "duplicate_title":
        _duplicate(tasks, most)
    elif broken == "unknown_dependency":
        tasks[-1]["depends_on"].append("[sandbox] A task nobody planned")
    elif broken == "dependency_cycle":
        tasks[0]["depends_on"] = [tasks[-1]["title"]]
    elif broken == "estimate":
        tasks[0]["estimate_days"] = max_days * 2
    elif broken == "team":
        tasks[0]["team"] = next(t for t in ("Marketing", "Legal", "Sales", "Finance") if t not in teams)
    return {"tasks": tasks}


def _tests(text: str, words: list[str], rng: random.Random, broken: BrokenRule | None) -> dict[str, Any]:
    bounds = re.search(r"between (\d+) and (\d+) test cases", text)
    low, high = (int(bounds.group(1)), int(bounds.group(2))) if bounds else (2, 4)
    # A broken count stays inside the schema's list size, so it breaks the rule and not the schema.
    over = high + 1 if high < MAX_TEST_CASES else low - 1
    count = over if broken == "item_count" else rng.randint(low, high)
    templates = ("{a} works with {b}", "{a} rejects bad {b}", "{a} keeps {b} after a restart", "{a} under load of {b}")
    titles = _titles(max(count, 1), words, rng, set(), templates)[:count]
    offset = rng.randrange(len(TEST_TYPES))
    tests: list[dict[str, Any]] = []
    for index, title in enumerate(titles):
        a, b = rng.sample(words, 2)
        tests.append(
            {
                "title": title,
                "type": TEST_TYPES[(offset + index) % len(TEST_TYPES)],
                "steps": [f"Prepare {a}", f"Use {b} as a user would", f"Check {a} afterwards"],
                "expected_result": f"{BANNER} {a} behaves as {b} requires.",
            }
        )
    if broken == "duplicate_title":
        _duplicate(tests, high)
    return {"test_cases": tests}
