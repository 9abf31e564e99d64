"""What the sandbox answers, independent of the wire format that carries it.

Each provider module reduces its request to a `Prompt`; everything derived
from it (text, structured values, ids) is seeded by a hash of the prompt, the
model and the schema/tools, so a request always gets the same answer.
"""

import hashlib
import json
import math
import random
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from aiohttp import web

from sandbox.llm import planning
from sandbox.llm.schema_values import SchemaError, generate, resolve
from sandbox.llm.state import AnswerFaults
from sandbox.llm.text import markdown, prompt_words

# What `{"type": "json_object"}` (JSON mode without a schema) gets: a small ticket-like object.
JSON_OBJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "summary": {"type": "string"},
        "items": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["title", "summary", "items"],
}


@dataclass(frozen=True)
class Prompt:
    """A request reduced to what shapes the answer."""

    model: str
    # (role, text) in conversation order, system prompt first.
    turns: list[tuple[str, str]]
    # Tools, schemas and formats: they change the answer, so they are part of the seed.
    options: Any = field(default=None)

    @cached_property
    def digest(self) -> str:
        material = json.dumps([self.model, self.turns, self.options], sort_keys=True)
        return hashlib.sha256(material.encode()).hexdigest()

    def rng(self) -> random.Random:
        """A fresh RNG per use, so text and JSON answers do not depend on each other."""
        return random.Random(self.digest)

    @cached_property
    def full_text(self) -> str:
        return "\n".join(text for _, text in self.turns)

    @cached_property
    def words(self) -> list[str]:
        """Content words, the latest user turn first: that is what the answer should be about."""
        users = [text for role, text in self.turns if role == "user"]
        focus = prompt_words(users[-1]) if users else []
        return list(dict.fromkeys(focus + prompt_words(self.full_text)))

    @cached_property
    def input_tokens(self) -> int:
        return count_tokens(self.full_text + json.dumps(self.options))


def count_tokens(text: str) -> int:
    """Roughly what real tokenizers give for English: four characters a token."""
    return max(1, math.ceil(len(text) / 4))


def text_answer(prompt: Prompt) -> str:
    return markdown(prompt.words, prompt.rng(), description="description" in prompt.full_text.lower())


def structured_value(prompt: Prompt, schema: dict[str, Any], faults: AnswerFaults) -> Any:
    """A value valid for `schema`; an unusable schema is the client's error (HTTP 400).

    Augment's planning schemas (recognised by title) get a plan that keeps their rules, or
    breaks the one `faults.break_rule` names."""
    kind = planning.kind(schema)
    if kind is not None:
        attempt = sum(1 for role, _ in prompt.turns if role == "user")
        broken = faults.break_rule if attempt <= faults.break_rule_attempts else None
        return planning.answer(kind, prompt.turns, prompt.rng(), broken)
    try:
        return generate(schema, prompt.rng(), prompt.words)
    except SchemaError as exc:
        raise web.HTTPBadRequest(text=f"Invalid schema: {exc}") from exc


def structured_json(prompt: Prompt, schema: dict[str, Any], faults: AnswerFaults) -> str:
    """The JSON text of an answer for `schema`, broken as asked by fault injection."""
    value = structured_value(prompt, schema, faults)
    malformed = faults.malformed
    if malformed == "missing_required":
        incomplete = without_required(value, schema)
        if incomplete is not None:
            return json.dumps(incomplete)
    text = json.dumps(value)
    if malformed is None:
        return text
    # Cut mid-way like an answer that hit max_tokens; the tail makes sure it never parses.
    return text[: len(text) // 2] + " <<cut off by the Augment LLM sandbox"


def structured_object(prompt: Prompt, schema: dict[str, Any], faults: AnswerFaults) -> Any:
    """An answer for channels that carry JSON values, not text (Anthropic tool input,
    Gemini function args): any injected malformation drops a required field, when there is one."""
    value = structured_value(prompt, schema, faults)
    if faults.malformed is not None:
        incomplete = without_required(value, schema)
        if incomplete is not None:
            return incomplete
    return value


def without_required(value: Any, schema: dict[str, Any]) -> dict[str, Any] | None:
    """`value` minus its first required property, or None if the schema requires none."""
    required = resolve(schema, schema).get("required") or []
    if not isinstance(value, dict):
        return None
    for name in required:
        if name in value:
            return {k: v for k, v in value.items() if k != name}
    return None


async def read_json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"Request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="Request body must be a JSON object.")
    return body
