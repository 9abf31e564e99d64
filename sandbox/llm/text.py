"""Deterministic Markdown that is shaped like a ticket-writing model's answer.

The text exercises everything Augment's Markdown-to-Jira path must handle
(headings, bold, inline code, nested bullets) and is built from the prompt's
own words so different prompts read differently. It always opens with BANNER
so no one mistakes it for a model's output.
"""

import random
import re
from collections.abc import Sequence

BANNER = "[Augment LLM sandbox — not AI]"

# Filler words that make poor headings; dropping them lets the topic show through.
_STOPWORDS = frozenset(
    """
    about above after again also among and any are because been before being below between both but
    can could did does doing down during each few for from further had has have having her here
    hers him his how into its itself just like more most must not now off once only other our ours
    out over own please same she should some such than that the their theirs them then there these
    they this those through too under until upon very was were what when where which while who whom
    why will with would you your yours yourself write return answer given using use json text jira
    ticket issue description summary markdown format following based provide assistant
    """.split()  # noqa: SIM905 - one word list reads better than a column of strings
)
_FALLBACK_WORDS = ("scope", "release", "backlog", "estimate", "review", "rollout", "owner", "risk")
_MIN_POOL = len(_FALLBACK_WORDS)


def prompt_words(text: str) -> list[str]:
    """Distinct content words of `text`, in order of first appearance."""
    seen: dict[str, str] = {}
    for word in re.findall(r"[A-Za-z][A-Za-z0-9_]{2,}", text):
        key = word.lower()
        if key not in _STOPWORDS and key not in seen:
            seen[key] = word
    return list(seen.values())


def markdown(words: Sequence[str], rng: random.Random, *, description: bool) -> str:
    """The sandbox's text answer; `description` switches to the Purpose/Scope/Acceptance layout."""
    # Short prompts are topped up with stock words so every sample has distinct words.
    pool = list(dict.fromkeys(words))
    pool += [w for w in _FALLBACK_WORDS if w not in pool][: max(0, _MIN_POOL - len(pool))]

    def three() -> tuple[str, str, str]:
        a, b, c = rng.sample(pool, 3)
        return a, b, c

    # The first words of the prompt's focus make the heading, as a summary would.
    title = " ".join(w[:1].upper() + w[1:] for w in pool[:3])
    a, b, c = three()
    intro = (
        "This placeholder was assembled by the Augment LLM sandbox from the words of the prompt; "
        f"no language model read it. It is about **{a}** and **{b}**, with `{_code(c)}` in passing."
    )
    parts = [BANNER, f"## {title}", intro]
    if description:
        criteria = [_criterion(*three()) for _ in range(rng.randint(2, 4))]
        parts += [
            "## Purpose",
            _sentence(rng, *three()),
            "## Scope",
            _bullets([three() for _ in range(3)]),
            "## Acceptance Criteria",
            "\n".join(criteria),
        ]
    else:
        parts += [
            _bullets([three() for _ in range(rng.randint(3, 4))]),
            f"## {rng.choice(('Next steps', 'Notes', 'Open questions'))}",
            _sentence(rng, *three()),
        ]
    return "\n\n".join(parts) + "\n"


def _bullets(triples: list[tuple[str, str, str]]) -> str:
    """A bullet list whose first item has one nested item, to exercise the Jira conversion of nesting."""
    lines = []
    for index, (a, b, c) in enumerate(triples):
        lines.append(f"- **{a}**: covers {b} and {c}")
        if index == 0:
            lines.append(f"  - depends on `{_code(c)}`")
    return "\n".join(lines)


def _sentence(rng: random.Random, a: str, b: str, c: str) -> str:
    template = rng.choice(
        (
            "Make **{a}** work end to end so that {b} and `{c}` behave as the ticket expects.",
            "Keep {a} in step with **{b}**; `{c}` is the place to check first.",
            "Settle how {a} affects **{b}** before touching `{c}`.",
        )
    )
    return template.format(a=a, b=b, c=_code(c))


def _criterion(a: str, b: str, c: str) -> str:
    return f"- Given {a}, when {b} changes, then **{c}** is updated"


def _code(word: str) -> str:
    return word.lower()
