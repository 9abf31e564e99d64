"""Gemini `generateContent` wire format (the Gemini Developer API, not Vertex AI)."""

import json
import re
from typing import Any

from aiohttp import web

from sandbox.llm.answers import (
    JSON_OBJECT_SCHEMA,
    Prompt,
    count_tokens,
    read_json_object,
    structured_json,
    structured_object,
    text_answer,
)
from sandbox.llm.state import STATE

_STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def add_routes(app: web.Application) -> None:
    # google-genai defaults to v1 (older releases and REST examples use v1beta); the
    # wire format is the same, so both are served.
    app.router.add_post("/gemini/{version:v1|v1beta}/models/{model}:generateContent", _generate_content)
    app.router.add_post("/gemini/{version:v1|v1beta}/models/{model}:streamGenerateContent", _stream_generate_content)
    app.router.add_get("/gemini/{version:v1|v1beta}/models", _models)


MODELS = ("gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.0-flash")


async def _models(request: web.Request) -> web.Response:
    """What a health check calls: `GET /v1beta/models`."""
    models = [
        {"name": f"models/{model}", "displayName": model, "supportedGenerationMethods": ["generateContent"]}
        for model in MODELS
    ]
    return web.json_response({"models": models})


def error_response(status: int, message: str) -> web.Response:
    code = _STATUSES.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION")
    return web.json_response({"error": {"code": status, "message": message, "status": code}}, status=status)


async def _stream_generate_content(request: web.Request) -> web.Response:
    raise web.HTTPBadRequest(text="The Augment LLM sandbox does not stream; call generate_content instead.")


async def _generate_content(request: web.Request) -> web.Response:
    model = request.match_info["model"]
    body = await read_json_object(request)
    contents = _get(body, "contents")
    if not isinstance(contents, list) or not contents or not all(isinstance(c, dict) for c in contents):
        raise web.HTTPBadRequest(text="* GenerateContentRequest.contents: contents is not specified")
    config = _get(body, "generationConfig") or {}
    declarations = [
        d
        for tool in _get(body, "tools") or ()
        if isinstance(tool, dict)
        for d in _get(tool, "functionDeclarations") or ()
    ]
    calling = _get(_get(body, "toolConfig") or {}, "functionCallingConfig") or {}
    schema = _get(config, "responseJsonSchema") or _get(config, "responseSchema")
    mime_type = _get(config, "responseMimeType") or "text/plain"
    turns = [("system", _parts_text(_get(body, "systemInstruction")))]
    turns += [("user" if c.get("role", "user") == "user" else "model", _parts_text(c)) for c in contents]
    prompt = Prompt(model, turns, [declarations, calling, schema, mime_type])

    declaration = _chosen_function(declarations, calling, contents)
    if declaration is not None:
        params = _get(declaration, "parametersJsonSchema") or _get(declaration, "parameters") or {"type": "object"}
        args = structured_object(prompt, params, request.app[STATE].draw_answer_faults())
        part: dict[str, Any] = {"functionCall": {"name": declaration["name"], "args": args}}
        answer = json.dumps(args)
    else:
        if isinstance(schema, dict):
            answer = structured_json(prompt, schema, request.app[STATE].draw_answer_faults())
        elif mime_type == "application/json":
            answer = structured_json(prompt, JSON_OBJECT_SCHEMA, request.app[STATE].draw_answer_faults())
        else:
            answer = text_answer(prompt)
        part = {"text": answer}

    output_tokens = count_tokens(answer)
    return web.json_response(
        {
            "candidates": [{"content": {"parts": [part], "role": "model"}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {
                "promptTokenCount": prompt.input_tokens,
                "candidatesTokenCount": output_tokens,
                "totalTokenCount": prompt.input_tokens + output_tokens,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt.input_tokens}],
            },
            "modelVersion": model,
            "responseId": prompt.digest[:22],
        }
    )


def _chosen_function(
    declarations: list[dict[str, Any]], calling: dict[str, Any], contents: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The function to call, following `functionCallingConfig` (mode AUTO/ANY/NONE)."""
    mode = str(calling.get("mode", "AUTO")).upper()
    allowed = _get(calling, "allowedFunctionNames")
    candidates = [d for d in declarations if not allowed or d.get("name") in allowed]
    if not candidates or mode == "NONE":
        return None
    if mode == "ANY":
        return candidates[0]
    # AUTO: call a function, unless the last turn hands a function's result back to answer from.
    parts = contents[-1].get("parts") or []
    returned = any(isinstance(p, dict) and _get(p, "functionResponse") is not None for p in parts)
    return None if returned else candidates[0]


def _parts_text(content: Any) -> str:
    """The text of a Content object, function calls and responses included."""
    if not isinstance(content, dict):
        return ""
    texts = []
    for part in content.get("parts") or ():
        if not isinstance(part, dict):
            continue
        if "text" in part:
            texts.append(str(part["text"]))
        for key in ("functionCall", "functionResponse"):
            if _get(part, key) is not None:
                texts.append(json.dumps(_get(part, key), sort_keys=True))
    return "\n".join(texts)


def _get(message: dict[str, Any], camel_name: str) -> Any:
    """A field in either JSON spelling: like the real API (protobuf JSON), the sandbox takes
    camelCase and snake_case, and google-genai sends some fields (parameters_json_schema) in the latter."""
    if camel_name in message:
        return message[camel_name]
    return message.get(re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), camel_name))
