"""OpenAI Chat Completions, for OpenAI itself and for Moonshot/Kimi (same wire format)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import openai
from openai.lib import pydantic_function_tool, type_to_response_format_param
from pydantic import BaseModel

from bot.llm.types import Reply, Turn, body_message, http_failure, retries_taken

ANSWER_TOOL = "submit_answer"


class OpenAiChat:
    def __init__(
        self, provider: str, api_key: str, base_url: str, timeout: float, retries: int, *, json_schema: bool
    ) -> None:
        self.provider = provider
        self._json_schema = json_schema
        # The SDK retries connection errors, timeouts, 408/409/429 and 5xx with backoff, and
        # waits as long as `retry-after-ms` / `Retry-After` say (up to two minutes).
        self._client = openai.AsyncOpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=retries)

    async def send(self, model: str, system: str, turns: Sequence[Turn], output: type[BaseModel] | None) -> Reply:
        messages: list[Any] = [{"role": "system", "content": system}]
        messages += [{"role": turn.role, "content": turn.text} for turn in turns]
        options: dict[str, Any] = {}
        if output is not None and self._json_schema:
            # Native structured outputs: the strict JSON schema the SDK's own `parse()` sends.
            # `create()` rather than `parse()` because parse raises on invalid JSON and the
            # usage of that response would be lost; we validate (and re-ask) ourselves.
            options["response_format"] = type_to_response_format_param(output)
        elif output is not None:
            # Moonshot documents JSON mode only as `json_object` (no schema enforcement) and
            # constrains tool arguments to the tool's schema, so the schema travels as a tool.
            # Its thinking models reject a forced tool_choice; "auto" with a single tool is
            # the best they allow (a text answer then goes through validation like any other).
            options["tools"] = [pydantic_function_tool(output, name=ANSWER_TOOL)]
            options["tool_choice"] = (
                "auto" if "thinking" in model else {"type": "function", "function": {"name": ANSWER_TOOL}}
            )
        try:
            completion = await self._client.chat.completions.create(model=model, messages=messages, **options)
        except openai.APIStatusError as exc:
            detail = body_message(exc.body, exc.message)
            raise http_failure(self.provider, model, exc.status_code, detail, retries_taken(exc.request)) from exc
        except openai.APIConnectionError as exc:  # timeouts included
            raise http_failure(self.provider, model, None, str(exc), retries_taken(exc.request)) from exc
        message = completion.choices[0].message
        calls = [call for call in message.tool_calls or () if call.type == "function"]
        text = calls[0].function.arguments if calls else message.content or ""
        usage = completion.usage
        return Reply(text, usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0)

    async def close(self) -> None:
        await self._client.close()
