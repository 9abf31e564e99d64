"""Anthropic Messages, for Claude."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import anthropic
from pydantic import BaseModel

from bot.llm.types import Reply, Turn, body_message, http_failure, retries_taken

ANSWER_TOOL = "submit_answer"
# The API requires a ceiling. 8192 is what every Claude model in the catalogue can produce and
# stays under the SDK's limit for non-streaming calls (it refuses ones that may run > 10 min).
MAX_TOKENS = 8192


class AnthropicMessages:
    provider = "claude"

    def __init__(self, api_key: str, base_url: str, timeout: float, retries: int) -> None:
        # The SDK retries connection errors, timeouts, 408/409/429 and 5xx with backoff, and
        # waits as long as `retry-after-ms` / `Retry-After` say.
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=retries
        )

    async def send(self, model: str, system: str, turns: Sequence[Turn], output: type[BaseModel] | None) -> Reply:
        messages: list[Any] = [{"role": turn.role, "content": turn.text} for turn in turns]
        options: dict[str, Any] = {}
        if output is not None:
            # A forced tool is the structured-output mechanism every Claude model supports:
            # the answer arrives as the tool_use block's `input`, shaped by `input_schema`.
            options["tools"] = [
                {
                    "name": ANSWER_TOOL,
                    "description": "Submit the answer in the required structure.",
                    "input_schema": output.model_json_schema(),
                }
            ]
            options["tool_choice"] = {"type": "tool", "name": ANSWER_TOOL}
        try:
            message = await self._client.messages.create(
                model=model, max_tokens=MAX_TOKENS, system=system, messages=messages, **options
            )
        except anthropic.APIStatusError as exc:
            detail = body_message(exc.body, exc.message)
            raise http_failure(self.provider, model, exc.status_code, detail, retries_taken(exc.request)) from exc
        except anthropic.APIConnectionError as exc:  # timeouts included
            raise http_failure(self.provider, model, None, str(exc), retries_taken(exc.request)) from exc
        tool_inputs = [block.input for block in message.content if block.type == "tool_use"]
        if tool_inputs:
            text = json.dumps(tool_inputs[0])
        else:
            text = "".join(block.text for block in message.content if block.type == "text")
        return Reply(text, message.usage.input_tokens, message.usage.output_tokens)

    async def close(self) -> None:
        await self._client.close()
