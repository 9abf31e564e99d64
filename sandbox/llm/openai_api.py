"""OpenAI Chat Completions wire format; Moonshot/Kimi speaks the same one on its own prefix."""

import json
import time
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from sandbox.llm.answers import JSON_OBJECT_SCHEMA, Prompt, count_tokens, read_json_object, structured_json, text_answer
from sandbox.llm.state import STATE, retry_after_headers

OPENAI_MODELS = ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-5", "gpt-5-mini", "o4-mini")
MOONSHOT_MODELS = ("kimi-k2-0905-preview", "kimi-k2-turbo-preview", "kimi-latest", "moonshot-v1-8k", "moonshot-v1-32k")

# status -> (error.type, error.code) as OpenAI sends them; the SDK picks its exception by status.
_ERRORS = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "unknown_url"),
    429: ("requests", "rate_limit_exceeded"),
}


def add_routes(app: web.Application, prefix: str, models: Sequence[str]) -> None:
    async def list_models(request: web.Request) -> web.Response:
        data = [{"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "augment-sandbox"} for m in models]
        return web.json_response({"object": "list", "data": data})

    app.router.add_post(f"{prefix}/chat/completions", _chat_completions)
    app.router.add_get(f"{prefix}/models", list_models)


def error_response(status: int, message: str) -> web.Response:
    kind, code = _ERRORS.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return web.json_response(body, status=status)


def rate_limit_headers(seconds: float) -> dict[str, str]:
    """OpenAI's own rate-limit headers, which clients log and some back off on."""
    reset = f"{seconds:g}s"
    return {
        **retry_after_headers(seconds),
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": reset,
        "x-ratelimit-limit-tokens": "150000",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": reset,
    }


async def _chat_completions(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    if body.get("stream"):
        raise web.HTTPBadRequest(text="The Augment LLM sandbox does not stream; send stream=false.")
    model = body.get("model")
    messages = body.get("messages")
    if not isinstance(model, str) or not model:
        raise web.HTTPBadRequest(text="'model' is required.")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise web.HTTPBadRequest(text="'messages' must be a non-empty array of message objects.")
    tools = [
        t["function"]
        for t in body.get("tools") or ()
        if t.get("type") == "function" and isinstance(t.get("function"), dict)
    ]
    response_format = body.get("response_format") or {"type": "text"}
    prompt = Prompt(model, [(m.get("role", ""), _message_text(m)) for m in messages], [tools, response_format])

    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
    tool = _chosen_tool(tools, body.get("tool_choice", "auto"), messages)
    if tool is not None:
        schema = tool.get("parameters") or {"type": "object", "properties": {}}
        arguments = structured_json(prompt, schema, request.app[STATE].draw_answer_faults())
        call_id = f"call_{prompt.digest[:24]}"
        message["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": tool["name"], "arguments": arguments}}
        ]
        answer, finish_reason = arguments, "tool_calls"
    else:
        answer = _content(prompt, response_format, request)
        message["content"], finish_reason = answer, "stop"

    completion_tokens = count_tokens(answer)
    return web.json_response(
        {
            "id": f"chatcmpl-{prompt.digest[:29]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "augment-sandbox",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
            "usage": {
                "prompt_tokens": prompt.input_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt.input_tokens + completion_tokens,
            },
        }
    )


def _content(prompt: Prompt, response_format: dict[str, Any], request: web.Request) -> str:
    kind = response_format.get("type")
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise web.HTTPBadRequest(text="response_format.json_schema.schema must be a JSON schema object.")
        return structured_json(prompt, schema, request.app[STATE].draw_answer_faults())
    if kind == "json_object":
        return structured_json(prompt, JSON_OBJECT_SCHEMA, request.app[STATE].draw_answer_faults())
    if kind != "text":
        raise web.HTTPBadRequest(text=f"Unsupported response_format type {kind!r}.")
    return text_answer(prompt)


def _chosen_tool(tools: list[dict[str, Any]], choice: Any, messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The function to call, following `tool_choice` as OpenAI documents it."""
    if not tools or choice == "none":
        return None
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        named = [t for t in tools if t.get("name") == name]
        if not named:
            raise web.HTTPBadRequest(text=f"tool_choice names a function that is not in tools: {name!r}.")
        return named[0]
    if choice == "required":
        return tools[0]
    # "auto": call a tool, unless the model just got a tool's result back and should answer now.
    return None if messages[-1].get("role") == "tool" else tools[0]


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        content = "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    text = content if isinstance(content, str) else ""
    if message.get("tool_calls"):
        text += json.dumps(message["tool_calls"], sort_keys=True)
    return text
