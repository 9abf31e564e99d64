"""Anthropic Messages wire format: text, tool use and structured outputs."""

import json
import re
from typing import Any

from aiohttp import web

from sandbox.llm.answers import Prompt, count_tokens, read_json_object, structured_json, structured_object, text_answer
from sandbox.llm.state import STATE

_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    529: "overloaded_error",
}

# The SDK's structured-output helper moves constraints the API does not enforce
# (minimum, maxLength, ...) into the description as "{maximum: 40, minimum: 1}".
# A real model reads them there; the sandbox turns the numeric ones back into keywords.
_HINTS = re.compile(r"\{([^{}]*)\}\s*$")
_HINT_PAIR = re.compile(r"(\w+): (-?\d+(?:\.\d+)?)(?=,|$)")
_NUMERIC_KEYWORDS = frozenset(
    {
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
    }
)


MODELS = ("claude-haiku-4-5", "claude-sonnet-4-5", "claude-opus-4-1")


def add_routes(app: web.Application) -> None:
    app.router.add_post("/anthropic/v1/messages", _messages)
    app.router.add_get("/anthropic/v1/models", _models)


async def _models(request: web.Request) -> web.Response:
    """What a health check calls: `GET /v1/models`, a page of model objects."""
    data = [
        {"type": "model", "id": model, "display_name": model, "created_at": "2025-01-01T00:00:00Z"} for model in MODELS
    ]
    return web.json_response({"data": data, "has_more": False, "first_id": MODELS[0], "last_id": MODELS[-1]})


def error_response(status: int, message: str) -> web.Response:
    kind = _ERRORS.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return web.json_response({"type": "error", "error": {"type": kind, "message": message}}, status=status)


async def _messages(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    if body.get("stream"):
        raise web.HTTPBadRequest(text="The Augment LLM sandbox does not stream; send stream=false.")
    model, messages = body.get("model"), body.get("messages")
    if not isinstance(model, str) or not model:
        raise web.HTTPBadRequest(text="model: Field required")
    if not isinstance(body.get("max_tokens"), int):
        raise web.HTTPBadRequest(text="max_tokens: Field required")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise web.HTTPBadRequest(text="messages: must be a non-empty list of message objects")
    # Server tools (web search, code execution) have no input_schema; only client tools can be called.
    tools = [t for t in body.get("tools") or () if isinstance(t, dict) and isinstance(t.get("input_schema"), dict)]
    # `output_config.format` is the current spelling; the beta API sent `output_format`.
    output_format = (body.get("output_config") or {}).get("format") or body.get("output_format")
    turns = [("system", _blocks_text(body.get("system") or ""))]
    turns += [(m.get("role", ""), _blocks_text(m.get("content"))) for m in messages]
    prompt = Prompt(model, turns, [tools, output_format])

    tool = _chosen_tool(tools, body.get("tool_choice") or {"type": "auto"}, messages)
    if tool is not None:
        schema = _restore_hints(tool["input_schema"])
        tool_input = structured_object(prompt, schema, request.app[STATE].draw_answer_faults())
        content = [{"type": "tool_use", "id": f"toolu_{prompt.digest[:24]}", "name": tool["name"], "input": tool_input}]
        answer, stop_reason = json.dumps(tool_input), "tool_use"
    else:
        if isinstance(output_format, dict) and output_format.get("type") == "json_schema":
            schema = _restore_hints(output_format.get("schema") or {})
            answer = structured_json(prompt, schema, request.app[STATE].draw_answer_faults())
        else:
            answer = text_answer(prompt)
        content, stop_reason = [{"type": "text", "text": answer}], "end_turn"

    return web.json_response(
        {
            "id": f"msg_{prompt.digest[:24]}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": prompt.input_tokens,
                "output_tokens": count_tokens(answer),
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
        }
    )


def _chosen_tool(
    tools: list[dict[str, Any]], choice: dict[str, Any], messages: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The tool to use, following `tool_choice` as Anthropic documents it."""
    kind = choice.get("type")
    if not tools or kind == "none":
        return None
    if kind == "tool":
        named = [t for t in tools if t.get("name") == choice.get("name")]
        if not named:
            raise web.HTTPBadRequest(text=f"tool_choice.name {choice.get('name')!r} is not one of the tools")
        return named[0]
    if kind == "any":
        return tools[0]
    # "auto": use a tool, unless the last user turn hands back a tool result to answer from.
    content = messages[-1].get("content")
    returned = isinstance(content, list) and any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in content
    )
    return None if returned else tools[0]


def _blocks_text(content: Any) -> str:
    """The text of a string or a list of content blocks (text, tool_use, tool_result)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts = []
    for block in content:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        elif block.get("type") == "tool_use":
            parts.append(json.dumps(block.get("input"), sort_keys=True))
        elif block.get("type") == "tool_result":
            parts.append(_blocks_text(block.get("content")))
    return "\n".join(parts)


def _restore_hints(schema: Any) -> Any:
    """A copy of `schema` with the SDK's description hints turned back into keywords."""
    if isinstance(schema, list):
        return [_restore_hints(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _restore_hints(value) for key, value in schema.items()}
    match = _HINTS.search(out["description"]) if isinstance(out.get("description"), str) else None
    if match:
        for key, number in _HINT_PAIR.findall(match.group(1)):
            if key in _NUMERIC_KEYWORDS and key not in out:
                out[key] = float(number) if "." in number else int(number)
    return out
