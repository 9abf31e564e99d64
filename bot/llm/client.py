"""`Llm`: one interface to the four providers, with keys, limits and output validation.

Each provider has an adapter (openai_chat, anthropic_messages, gemini_content) that builds
the request, calls the SDK with its transport retries, and returns the answer text and token
counts; this module adds what is common: credentials, the per-provider concurrency limit,
pricing, and re-asking when structured output does not validate.

Validation is the output model's own: its JSON schema, and rules its validators check against
an optional validation `context` (e.g. the teams a task may name). A rule is a validator error
whose type is not one of pydantic's own (a `PydanticCustomError`, see schemas/planning_outputs):
rule errors go back in the re-ask like schema errors, and `LlmOutputError.rules` names the rules
the last answer still broke.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core.core_schema import ErrorType

from bot import metrics
from bot.config import Settings
from bot.llm.catalogue import DEFAULT_BASE_URLS, PROVIDER_SETTINGS, PROVIDERS, ModelChoice
from bot.llm.types import Answer, LlmConfigError, LlmOutputError, Prompt, Reply, Turn, Usage

M = TypeVar("M", bound=BaseModel)

REASK = "Your previous answer did not validate: {problems}. Answer again with valid JSON for the schema."
# Enough of pydantic's error list to fix the answer without flooding the conversation.
MAX_PROBLEMS = 10
# Each provider's adapter: (module, class); Kimi speaks OpenAI's protocol.
ADAPTERS = {
    "openai": ("bot.llm.openai_chat", "OpenAiChat"),
    "kimi": ("bot.llm.openai_chat", "OpenAiChat"),
    "claude": ("bot.llm.anthropic_messages", "AnthropicMessages"),
    "gemini": ("bot.llm.gemini_content", "GeminiContent"),
}
# Error types pydantic itself raises; any other type is a rule of the output model.
_SCHEMA_ERRORS = frozenset(get_args(ErrorType))


class Adapter(Protocol):
    async def send(self, model: str, system: str, turns: Sequence[Turn], output: type[BaseModel] | None) -> Reply: ...

    async def close(self) -> None: ...


class Llm:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._adapters: dict[str, Adapter] = {}
        # Held for a whole call, SDK retries and their waits included: a provider that is
        # rate-limiting us should not get more calls in flight while we back off.
        self._limits = {provider: asyncio.Semaphore(settings.llm.concurrency) for provider in PROVIDERS}

    async def text(self, choice: ModelChoice, prompt: Prompt) -> Answer[str]:
        reply = await self._send(choice, prompt.system, [Turn("user", prompt.user)], None)
        return Answer(reply.text, self._usage(choice.model, [reply]), choice.provider, choice.model, attempts=1)

    async def structured(
        self, choice: ModelChoice, prompt: Prompt, output: type[M], *, context: Any = None
    ) -> Answer[M]:
        """`output` validated from the answer, with `context` for its rule validators; re-asked
        up to `llm.output_retries` times with what was wrong; LlmOutputError after that."""
        turns = [Turn("user", prompt.user)]
        replies: list[Reply] = []
        problems = ""
        rules: tuple[str, ...] = ()
        for attempt in range(1, self._settings.llm.output_retries + 2):
            reply = await self._send(choice, prompt.system, turns, output)
            replies.append(reply)
            try:
                value = output.model_validate_json(reply.text, context=context)
            except ValidationError as exc:
                problems, rules = _problems(exc), _rules(exc)
                turns += [Turn("assistant", reply.text), Turn("user", REASK.format(problems=problems))]
                continue
            return Answer(value, self._usage(choice.model, replies), choice.provider, choice.model, attempt)
        broke = f" (broke rule {', '.join(rules)})" if rules else ""
        raise LlmOutputError(
            choice.provider,
            choice.model,
            f"the answer did not match {output.__name__}{broke} after {len(replies)} attempts: {problems}",
            usage=self._usage(choice.model, replies),
            attempts=len(replies),
            rules=rules,
        )

    async def close(self) -> None:
        adapters, self._adapters = list(self._adapters.values()), {}
        for adapter in adapters:
            await adapter.close()

    async def _send(
        self, choice: ModelChoice, system: str, turns: Sequence[Turn], output: type[BaseModel] | None
    ) -> Reply:
        adapter = await self._adapter(choice)
        async with self._limits[choice.provider]:
            try:
                reply = await adapter.send(choice.model, system, turns, output)
            except Exception:
                metrics.count_llm(choice.provider, choice.model, ok=False)
                raise
        usage = self._usage(choice.model, [reply])
        metrics.count_llm(
            choice.provider,
            choice.model,
            ok=True,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=usage.cost_usd,
        )
        return reply

    async def _adapter(self, choice: ModelChoice) -> Adapter:
        """The provider's adapter, built on first use; LlmConfigError if its key is not configured."""
        if choice.provider in self._adapters:
            return self._adapters[choice.provider]
        if choice.provider not in PROVIDERS:
            raise LlmConfigError(choice.provider, choice.model, "unknown LLM provider")
        section = PROVIDER_SETTINGS[choice.provider]
        credentials = getattr(self._settings, section)
        key = credentials.api_key.get_secret_value()
        if not key:
            raise LlmConfigError(choice.provider, choice.model, f"{section.upper()}_API_KEY is not set")
        url = credentials.base_url or DEFAULT_BASE_URLS[choice.provider]
        timeout, retries = self._settings.llm.timeout_seconds, self._settings.llm.max_retries
        # Each SDK is imported when its provider is first used: together they hold about 90 MiB
        # that a service using one provider does not need. The import is ~150 ms of Python, run in
        # a thread so the event loop goes on meanwhile (a webhook, a comment's acknowledgement).
        module_name, class_name = ADAPTERS[choice.provider]
        module = await asyncio.to_thread(importlib.import_module, module_name)
        if choice.provider in self._adapters:  # another call built it while this one imported
            return self._adapters[choice.provider]
        adapter_class = getattr(module, class_name)
        adapter: Adapter
        if class_name == "OpenAiChat":  # Kimi takes no response schema: it travels as a tool instead
            json_schema = choice.provider == "openai"
            adapter = adapter_class(choice.provider, key, url, timeout, retries, json_schema=json_schema)
        else:
            adapter = adapter_class(key, url, timeout, retries)
        self._adapters[choice.provider] = adapter
        return adapter

    def _usage(self, model: str, replies: Sequence[Reply]) -> Usage:
        input_tokens = sum(reply.input_tokens for reply in replies)
        output_tokens = sum(reply.output_tokens for reply in replies)
        price = self._settings.llm.prices.get(model)
        cost = input_tokens / 1e6 * price.input + output_tokens / 1e6 * price.output if price else 0.0
        return Usage(input_tokens, output_tokens, cost)


def _problems(exc: ValidationError) -> str:
    """pydantic's errors as `path: message` pairs (bad JSON shows up as one `json_invalid` error)."""
    found = exc.errors(include_url=False, include_context=False, include_input=False)
    parts = [f"{'.'.join(str(p) for p in error['loc']) or '(root)'}: {error['msg']}" for error in found]
    return "; ".join(parts[:MAX_PROBLEMS])


def _rules(exc: ValidationError) -> tuple[str, ...]:
    """The output model's rules among the errors (its custom error types), in order, once each."""
    found = (error["type"] for error in exc.errors(include_url=False, include_context=False, include_input=False))
    return tuple(dict.fromkeys(kind for kind in found if kind not in _SCHEMA_ERRORS))
