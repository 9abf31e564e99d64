"""Gemini `generateContent` (the Gemini Developer API), through google-genai."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

import aiohttp
from google import genai
from google.genai import errors, types
from pydantic import BaseModel

from bot.llm.types import Reply, Turn, http_failure

# The same schedule as the OpenAI and Anthropic SDKs: 0.5 s doubling up to 8 s, minus up to 25 %
# jitter, unless the server names a delay; a delay beyond two minutes is not worth waiting for.
INITIAL_DELAY = 0.5
MAX_DELAY = 8.0
MAX_RETRY_AFTER = 120.0


class GeminiContent:
    provider = "gemini"

    def __init__(self, api_key: str, base_url: str, timeout: float, retries: int) -> None:
        self._retries = retries
        # google-genai's HttpRetryOptions backs off exponentially but never reads Retry-After,
        # so `send` retries itself. attempts=1 also stops the SDK's aiohttp transport from
        # retrying connection errors on its own (after a 1-10 s sleep) behind our back.
        options = types.HttpOptions(
            base_url=base_url, timeout=round(timeout * 1000), retry_options=types.HttpRetryOptions(attempts=1)
        )
        self._client = genai.Client(api_key=api_key, http_options=options)

    async def send(self, model: str, system: str, turns: Sequence[Turn], output: type[BaseModel] | None) -> Reply:
        contents = [
            types.Content(role="model" if turn.role == "assistant" else "user", parts=[types.Part(text=turn.text)])
            for turn in turns
        ]
        config = types.GenerateContentConfig(system_instruction=system)
        if output is not None:
            config.response_mime_type = "application/json"
            config.response_json_schema = output.model_json_schema()
        retry = 0
        while True:
            try:
                response = await self._client.aio.models.generate_content(model=model, contents=contents, config=config)
                break
            except (errors.APIError, aiohttp.ClientConnectionError, TimeoutError) as exc:
                status = exc.code if isinstance(exc, errors.APIError) else None
                detail = (exc.message if isinstance(exc, errors.APIError) else None) or str(exc) or type(exc).__name__
                failure = http_failure(self.provider, model, status, detail, retry)
                delay = _retry_delay(exc, retry) if failure.retryable and retry < self._retries else None
                if delay is None:
                    raise failure from exc
            retry += 1
            await asyncio.sleep(delay)
        usage = response.usage_metadata
        # Thinking tokens are billed as output but counted apart from the answer's.
        output_tokens = ((usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)) if usage else 0
        return Reply(response.text or "", (usage.prompt_token_count or 0) if usage else 0, output_tokens)

    async def close(self) -> None:
        await self._client.aio.aclose()


def _retry_delay(exc: Exception, retry: int) -> float | None:
    """Seconds to wait before the next try: what the server asked for, else backoff; None: give up."""
    asked = _retry_after(exc) if isinstance(exc, errors.APIError) else None
    if asked is not None:
        return asked if asked <= MAX_RETRY_AFTER else None
    return min(INITIAL_DELAY * 2.0**retry, MAX_DELAY) * (1 - 0.25 * random.random())


def _retry_after(exc: errors.APIError) -> float | None:
    headers: Any = getattr(exc.response, "headers", None) or {}
    # `retry-after-ms` is the precise form some servers (and the sandbox) add to `Retry-After`.
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            return max(0.0, float(headers[name]) * scale)
        except (KeyError, ValueError):
            continue
    # The Gemini API names the delay in a google.rpc.RetryInfo detail instead: {"retryDelay": "37s"}.
    details = exc.details.get("error", {}).get("details", []) if isinstance(exc.details, dict) else []
    for detail in details:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("RetryInfo"):
            try:
                return max(0.0, float(str(detail.get("retryDelay", "")).removesuffix("s")))
            except ValueError:
                return None
    return None
