"""The LLM sandbox, driven over loopback HTTP by the real openai, anthropic and google-genai clients."""

import asyncio
import datetime
import json
import random
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

import aiohttp
import anthropic
import jsonschema
import openai
import pydantic
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types
from pydantic import BaseModel, Field

from sandbox.llm import LlmSandboxSettings, create_llm_sandbox_app
from sandbox.llm.schema_values import LABEL, generate
from tests.fixtures.service import eventually

BANNER = "[Augment LLM sandbox — not AI]"


class Priority(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class Subtask(BaseModel):
    title: str
    estimate_hours: int = Field(ge=1, le=40)


class TicketPlan(BaseModel):
    """Nested model, list, enum, optionals and tight int bounds: what Augment's pipelines ask for."""

    summary: str = Field(min_length=5, max_length=120)
    priority: Priority
    story_points: int = Field(ge=1, le=13)
    labels: list[str]
    subtasks: list[Subtask] = Field(min_length=1, max_length=5)
    assignee: str | None = None
    due: datetime.date | None = None


def assert_labelled(plan: TicketPlan) -> None:
    assert plan.summary.startswith(LABEL)
    assert all(s.title.startswith(LABEL) for s in plan.subtasks)
    assert all(label.startswith(LABEL) for label in plan.labels)


class Sandbox:
    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.url = str(server.make_url("")).rstrip("/")

    def openai(self, prefix: str = "openai", **kwargs: Any) -> openai.AsyncOpenAI:
        kwargs.setdefault("max_retries", 0)
        return openai.AsyncOpenAI(base_url=f"{self.url}/{prefix}/v1", api_key="sk-sandbox", **kwargs)

    def anthropic(self, **kwargs: Any) -> anthropic.AsyncAnthropic:
        kwargs.setdefault("max_retries", 0)
        return anthropic.AsyncAnthropic(base_url=f"{self.url}/anthropic", api_key="sk-ant-sandbox", **kwargs)

    def gemini(self, **options: Any) -> genai.Client:
        http_options = genai_types.HttpOptions(base_url=f"{self.url}/gemini", **options)
        return genai.Client(api_key="gemini-sandbox", http_options=http_options)

    async def control(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, f"{self.url}{path}", json=body) as response,
        ):
            assert response.headers["X-Augment-Sandbox"] == "llm"
            return response.status, await response.json()

    async def set_faults(self, **changes: Any) -> None:
        status, _ = await self.control("PUT", "/_sandbox/llm/faults", changes)
        assert status == 200

    async def stats(self, provider: str) -> dict[str, Any]:
        _, stats = await self.control("GET", "/_sandbox/llm/stats")
        return stats[provider]


StartLlmSandbox = Callable[..., Awaitable[Sandbox]]


@pytest.fixture
async def start_llm_sandbox(aiohttp_server: Any) -> StartLlmSandbox:
    async def start(**settings: Any) -> Sandbox:
        server = await aiohttp_server(create_llm_sandbox_app(LlmSandboxSettings(**settings)), host="127.0.0.1")
        return Sandbox(server)

    return start


@pytest.fixture
async def llm_sandbox(start_llm_sandbox: StartLlmSandbox) -> Sandbox:
    return await start_llm_sandbox()


USER: list[Any] = [{"role": "user", "content": "Plan the fix for the login timeout after the SSO redirect on Safari"}]
GEMINI_JSON = genai_types.GenerateContentConfig(response_mime_type="application/json", response_schema=TicketPlan)


# --- plain text ----------------------------------------------------------------------------------


def assert_sandbox_markdown(text: str) -> None:
    assert text.startswith(BANNER)
    assert "\n## " in text and "**" in text and "`" in text
    assert "\n- " in text and "\n  - " in text, "a bullet list with one nested item"


async def test_openai_text_is_labelled_markdown_with_usage(llm_sandbox: Sandbox) -> None:
    raw = await llm_sandbox.openai().chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=USER)
    completion = raw.parse()
    assert raw.headers["X-Augment-Sandbox"] == "llm"
    assert completion.model == "gpt-4o-mini"
    text = completion.choices[0].message.content
    assert text is not None
    assert_sandbox_markdown(text)
    assert "Safari" in text or "Login" in text or "SSO" in text, "built from the prompt's words"
    assert completion.choices[0].finish_reason == "stop"
    usage = completion.usage
    assert usage is not None
    assert usage.completion_tokens == pytest.approx(len(text) / 4, abs=1)
    assert usage.prompt_tokens > 10
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


async def test_description_prompts_get_purpose_scope_and_acceptance_criteria(llm_sandbox: Sandbox) -> None:
    messages: list[Any] = [
        {"role": "system", "content": "You write Jira ticket descriptions."},
        {"role": "user", "content": "Write the description for: export sprint report as PDF"},
    ]
    completion = await llm_sandbox.openai().chat.completions.create(model="gpt-4o", messages=messages)
    text = completion.choices[0].message.content or ""
    for section in ("## Purpose", "## Scope", "## Acceptance Criteria"):
        assert section in text
    plain = await llm_sandbox.openai().chat.completions.create(model="gpt-4o", messages=USER)
    assert "## Purpose" not in (plain.choices[0].message.content or "")


async def test_anthropic_text_is_labelled_with_usage(llm_sandbox: Sandbox) -> None:
    raw = await llm_sandbox.anthropic().messages.with_raw_response.create(
        model="claude-sonnet-4-6", max_tokens=1024, system="You are a ticket writer.", messages=USER
    )
    message = await raw.parse()
    assert raw.headers["X-Augment-Sandbox"] == "llm"
    assert message.model == "claude-sonnet-4-6"
    assert message.stop_reason == "end_turn"
    block = message.content[0]
    assert block.type == "text"
    assert_sandbox_markdown(block.text)
    assert message.usage.input_tokens > 10
    assert message.usage.output_tokens == pytest.approx(len(block.text) / 4, abs=1)


async def test_gemini_text_is_labelled_with_usage(llm_sandbox: Sandbox) -> None:
    response = await llm_sandbox.gemini().aio.models.generate_content(
        model="gemini-2.5-flash",
        contents="Summarise the login timeout bug",
        config=genai_types.GenerateContentConfig(system_instruction="You are a ticket writer."),
    )
    assert response.text is not None
    assert_sandbox_markdown(response.text)
    assert response.model_version == "gemini-2.5-flash"
    usage = response.usage_metadata
    assert usage is not None and usage.prompt_token_count and usage.candidates_token_count
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count


# --- structured output ---------------------------------------------------------------------------


async def test_openai_parse_returns_a_valid_model(llm_sandbox: Sandbox) -> None:
    completion = await llm_sandbox.openai().chat.completions.parse(
        model="gpt-4o", messages=USER, response_format=TicketPlan
    )
    plan = completion.choices[0].message.parsed
    assert isinstance(plan, TicketPlan)
    assert_labelled(plan)


async def test_openai_json_object_mode_returns_a_json_object(llm_sandbox: Sandbox) -> None:
    completion = await llm_sandbox.openai().chat.completions.create(
        model="gpt-4o", messages=USER, response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(completion.choices[0].message.content or ""), dict)


async def test_openai_tools_return_a_valid_function_call(llm_sandbox: Sandbox) -> None:
    completion = await llm_sandbox.openai().chat.completions.parse(
        model="gpt-4o",
        messages=USER,
        tools=[openai.pydantic_function_tool(Subtask), openai.pydantic_function_tool(TicketPlan)],
        tool_choice={"type": "function", "function": {"name": "TicketPlan"}},
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls or []
    assert len(calls) == 1 and calls[0].function.name == "TicketPlan"
    plan = calls[0].function.parsed_arguments
    assert isinstance(plan, TicketPlan)
    assert_labelled(plan)


async def test_openai_answers_in_text_once_the_tool_result_is_back(llm_sandbox: Sandbox) -> None:
    tools = [openai.pydantic_function_tool(Subtask)]
    first = await llm_sandbox.openai().chat.completions.create(model="gpt-4o", messages=USER, tools=tools)
    call = (first.choices[0].message.tool_calls or [])[0]
    follow_up: list[Any] = [
        *USER,
        {"role": "assistant", "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "created PROJ-7"},
    ]
    second = await llm_sandbox.openai().chat.completions.create(model="gpt-4o", messages=follow_up, tools=tools)
    assert second.choices[0].finish_reason == "stop"
    assert (second.choices[0].message.content or "").startswith(BANNER)


async def test_kimi_through_the_openai_client(llm_sandbox: Sandbox) -> None:
    kimi = llm_sandbox.openai(prefix="moonshot")
    models = [m.id async for m in kimi.models.list()]
    assert "kimi-k2-0905-preview" in models
    text = await kimi.chat.completions.create(model="kimi-k2-0905-preview", messages=USER)
    assert (text.choices[0].message.content or "").startswith(BANNER)
    assert text.model == "kimi-k2-0905-preview"
    parsed = await kimi.chat.completions.parse(model="kimi-k2-0905-preview", messages=USER, response_format=TicketPlan)
    assert isinstance(parsed.choices[0].message.parsed, TicketPlan)
    assert (await llm_sandbox.stats("moonshot"))["by_status"] == {"200": 2}  # the two model calls, not the listing
    assert (await llm_sandbox.stats("openai"))["requests"] == 0


async def test_anthropic_tool_use_input_is_valid(llm_sandbox: Sandbox) -> None:
    message = await llm_sandbox.anthropic().messages.create(
        model="claude-sonnet-4-6",
        max_tokens=1024,
        messages=USER,
        tools=[
            {"name": "make_subtask", "description": "One subtask", "input_schema": Subtask.model_json_schema()},
            {"name": "plan_ticket", "description": "A plan", "input_schema": TicketPlan.model_json_schema()},
        ],
        tool_choice={"type": "tool", "name": "plan_ticket"},
    )
    assert message.stop_reason == "tool_use"
    block = message.content[0]
    assert block.type == "tool_use" and block.name == "plan_ticket"
    assert_labelled(TicketPlan.model_validate(block.input))


async def test_anthropic_structured_output_parses(llm_sandbox: Sandbox) -> None:
    # The SDK moves minimum/maximum/maxLength into descriptions; the answers must still respect
    # them, which several prompts (so several random draws) would expose.
    client = llm_sandbox.anthropic()
    for topic in ("login timeout", "billing export", "sprint report", "SSO redirect", "PDF layout"):
        message = await client.messages.parse(
            model="claude-sonnet-4-6",
            max_tokens=1024,
            messages=[{"role": "user", "content": f"Plan the {topic} work"}],
            output_format=TicketPlan,
        )
        plan = message.parsed_output
        assert isinstance(plan, TicketPlan)
        assert_labelled(plan)


async def test_gemini_response_schema_parses_into_the_model(llm_sandbox: Sandbox) -> None:
    response = await llm_sandbox.gemini().aio.models.generate_content(
        model="gemini-2.5-flash", contents="Plan the login timeout fix", config=GEMINI_JSON
    )
    assert isinstance(response.parsed, TicketPlan)
    assert_labelled(response.parsed)


async def test_gemini_response_json_schema_is_valid(llm_sandbox: Sandbox) -> None:
    config = genai_types.GenerateContentConfig(
        response_mime_type="application/json", response_json_schema=TicketPlan.model_json_schema()
    )
    response = await llm_sandbox.gemini().aio.models.generate_content(
        model="gemini-2.5-pro", contents="Plan the login timeout fix", config=config
    )
    assert isinstance(response.parsed, dict)
    assert_labelled(TicketPlan.model_validate(response.parsed))


async def test_gemini_function_call_args_are_valid(llm_sandbox: Sandbox) -> None:
    declaration = genai_types.FunctionDeclaration(
        name="plan_ticket", description="Plan", parameters_json_schema=TicketPlan.model_json_schema()
    )
    config = genai_types.GenerateContentConfig(
        tools=[genai_types.Tool(function_declarations=[declaration])],
        tool_config=genai_types.ToolConfig(
            function_calling_config=genai_types.FunctionCallingConfig(mode=genai_types.FunctionCallingConfigMode.ANY)
        ),
    )
    response = await llm_sandbox.gemini().aio.models.generate_content(
        model="gemini-2.5-flash", contents="Plan it", config=config
    )
    calls = response.function_calls or []
    assert len(calls) == 1 and calls[0].name == "plan_ticket"
    TicketPlan.model_validate(calls[0].args)


# --- determinism ---------------------------------------------------------------------------------


async def test_same_request_same_answer_and_different_prompts_differ(llm_sandbox: Sandbox) -> None:
    client = llm_sandbox.openai()
    other: list[Any] = [{"role": "user", "content": "Estimate the billing export migration"}]

    async def text(messages: list[Any], model: str = "gpt-4o") -> str:
        completion = await client.chat.completions.create(model=model, messages=messages)
        return completion.choices[0].message.content or ""

    async def plan(messages: list[Any]) -> TicketPlan | None:
        completion = await client.chat.completions.parse(model="gpt-4o", messages=messages, response_format=TicketPlan)
        return completion.choices[0].message.parsed

    assert await text(USER) == await text(USER)
    assert await text(USER) != await text(other)
    assert await text(USER) != await text(USER, model="gpt-4.1")
    assert await plan(USER) == await plan(USER)
    assert await plan(USER) != await plan(other)

    gemini = llm_sandbox.gemini().aio.models
    first = await gemini.generate_content(model="gemini-2.5-flash", contents="Plan it", config=GEMINI_JSON)
    again = await gemini.generate_content(model="gemini-2.5-flash", contents="Plan it", config=GEMINI_JSON)
    assert first.text == again.text

    def claude() -> Awaitable[anthropic.types.Message]:
        return llm_sandbox.anthropic().messages.create(model="claude-haiku-4-5", max_tokens=64, messages=USER)

    assert (await claude()).content == (await claude()).content


# --- authentication ------------------------------------------------------------------------------


async def test_missing_key_raises_each_sdks_authentication_error(llm_sandbox: Sandbox) -> None:
    with pytest.raises(openai.AuthenticationError) as openai_error:
        await llm_sandbox.openai().chat.completions.create(
            model="gpt-4o", messages=USER, extra_headers={"Authorization": openai.Omit()}
        )
    assert openai_error.value.code == "invalid_api_key"

    keyless = llm_sandbox.anthropic(default_headers={"Authorization": anthropic.Omit(), "X-Api-Key": anthropic.Omit()})
    with pytest.raises(anthropic.AuthenticationError) as anthropic_error:
        await keyless.messages.create(model="claude-sonnet-4-6", max_tokens=64, messages=USER)
    assert anthropic_error.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]

    with pytest.raises(genai_errors.ClientError) as gemini_error:
        await llm_sandbox.gemini(headers={"x-goog-api-key": ""}).aio.models.generate_content(
            model="gemini-2.5-flash", contents="hi"
        )
    assert gemini_error.value.code == 401 and gemini_error.value.status == "UNAUTHENTICATED"
    assert (await llm_sandbox.stats("gemini"))["by_status"] == {"401": 1}


async def test_gemini_key_in_query_string_is_accepted(llm_sandbox: Sandbox) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    async with aiohttp.ClientSession() as session:
        url = f"{llm_sandbox.url}/gemini/v1beta/models/gemini-2.5-flash:generateContent"
        async with session.post(url, params={"key": "anything"}, json=body) as response:
            assert response.status == 200
            payload = await response.json()
    assert payload["candidates"][0]["content"]["parts"][0]["text"].startswith(BANNER)


# --- fault injection -----------------------------------------------------------------------------


async def test_rate_limit_raises_each_sdks_rate_limit_error(start_llm_sandbox: StartLlmSandbox) -> None:
    sandbox = await start_llm_sandbox(rate_limit_rate=1, retry_after_s=7)
    with pytest.raises(openai.RateLimitError) as openai_error:
        await sandbox.openai().chat.completions.create(model="gpt-4o", messages=USER)
    headers = openai_error.value.response.headers
    assert headers["Retry-After"] == "7" and headers["x-ratelimit-remaining-requests"] == "0"
    assert openai_error.value.code == "rate_limit_exceeded"

    with pytest.raises(anthropic.RateLimitError) as anthropic_error:
        await sandbox.anthropic().messages.create(model="claude-sonnet-4-6", max_tokens=64, messages=USER)
    assert anthropic_error.value.response.headers["Retry-After"] == "7"

    with pytest.raises(genai_errors.ClientError) as gemini_error:
        await sandbox.gemini().aio.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert gemini_error.value.code == 429 and gemini_error.value.status == "RESOURCE_EXHAUSTED"


async def test_sdk_retries_through_rate_limits_below_one(start_llm_sandbox: StartLlmSandbox) -> None:
    sandbox = await start_llm_sandbox(rate_limit_rate=0.5, retry_after_s=0.01, seed=1)
    client = sandbox.openai(max_retries=10)
    for _ in range(6):
        completion = await client.chat.completions.create(model="gpt-4o", messages=USER)
        assert (completion.choices[0].message.content or "").startswith(BANNER)
    stats = await sandbox.stats("openai")
    assert stats["by_status"]["200"] == 6
    assert stats["by_status"]["429"] >= 1, "the SDK must have retried at least once"
    assert stats["requests"] == 6 + stats["by_status"]["429"]


async def test_sdks_succeed_once_the_rate_limit_is_cleared(start_llm_sandbox: StartLlmSandbox) -> None:
    sandbox = await start_llm_sandbox(rate_limit_rate=1, retry_after_s=0.05)
    retry = genai_types.HttpRetryOptions(attempts=100, initial_delay=0.05, max_delay=0.05, jitter=0)
    calls = {
        "openai": sandbox.openai(max_retries=100).chat.completions.create(model="gpt-4o", messages=USER),
        "anthropic": sandbox.anthropic(max_retries=100).messages.create(
            model="claude-sonnet-4-6", max_tokens=64, messages=USER
        ),
        "gemini": sandbox.gemini(retry_options=retry).aio.models.generate_content(
            model="gemini-2.5-flash", contents="hi"
        ),
    }
    tasks = {name: asyncio.ensure_future(call) for name, call in calls.items()}
    try:

        async def all_retried() -> bool:
            limited = [(await sandbox.stats(name))["by_status"].get("429", 0) for name in calls]
            return all(count >= 2 for count in limited)

        await eventually(all_retried, "every SDK retried a 429", seconds=10)
        assert not any(task.done() for task in tasks.values())
        await sandbox.set_faults(rate_limit_rate=0)
        results = await asyncio.wait_for(asyncio.gather(*tasks.values()), timeout=10)
    finally:
        for task in tasks.values():
            task.cancel()
    assert all(result is not None for result in results)
    for name in calls:
        assert (await sandbox.stats(name))["by_status"]["200"] == 1


async def test_server_errors_raise_each_sdks_server_error(start_llm_sandbox: StartLlmSandbox) -> None:
    sandbox = await start_llm_sandbox(error_rate=1, seed=3)
    statuses = set()
    for _ in range(8):
        with pytest.raises(openai.InternalServerError) as openai_error:
            await sandbox.openai().chat.completions.create(model="gpt-4o", messages=USER)
        statuses.add(openai_error.value.status_code)
        assert openai_error.value.body["type"] == "server_error"  # type: ignore[index]
    assert statuses == {500, 503}

    with pytest.raises(anthropic.InternalServerError) as anthropic_error:
        await sandbox.anthropic().messages.create(model="claude-sonnet-4-6", max_tokens=64, messages=USER)
    assert anthropic_error.value.body["type"] == "error"  # type: ignore[index]

    with pytest.raises(genai_errors.ServerError) as gemini_error:
        await sandbox.gemini().aio.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert gemini_error.value.status in ("INTERNAL", "UNAVAILABLE")

    # With retries and a rate below one the SDK gets through.
    await sandbox.set_faults(error_rate=0.5)
    completion = await sandbox.openai(max_retries=10).chat.completions.create(model="gpt-4o", messages=USER)
    assert completion.choices[0].message.content


async def test_malformed_answers_fail_validation_alternating_kinds(start_llm_sandbox: StartLlmSandbox) -> None:
    sandbox = await start_llm_sandbox(malformed_rate=1)
    client = sandbox.openai()
    kinds = []
    for _ in range(2):
        with pytest.raises(pydantic.ValidationError) as error:
            await client.chat.completions.parse(model="gpt-4o", messages=USER, response_format=TicketPlan)
        kinds.append(error.value.errors()[0]["type"])
    assert kinds == ["json_invalid", "missing"]
    assert (await sandbox.stats("openai"))["by_status"] == {"200": 2}, "malformed answers are still HTTP 200"

    with pytest.raises(pydantic.ValidationError):
        await sandbox.anthropic().messages.parse(
            model="claude-sonnet-4-6", max_tokens=1024, messages=USER, output_format=TicketPlan
        )

    response = await sandbox.gemini().aio.models.generate_content(
        model="gemini-2.5-flash", contents="Plan it", config=GEMINI_JSON
    )
    assert response.parsed is None
    with pytest.raises(pydantic.ValidationError):
        TicketPlan.model_validate_json(response.text or "")

    tool: Any = {"name": "plan_ticket", "input_schema": TicketPlan.model_json_schema()}
    message = await sandbox.anthropic().messages.create(
        model="claude-sonnet-4-6",
        max_tokens=1024,
        messages=USER,
        tools=[tool],
        tool_choice={"type": "tool", "name": "plan_ticket"},
    )
    assert message.content[0].type == "tool_use"
    with pytest.raises(pydantic.ValidationError):
        TicketPlan.model_validate(message.content[0].input)

    # Plain text requests are never malformed.
    text = await client.chat.completions.create(model="gpt-4o", messages=USER)
    assert (text.choices[0].message.content or "").startswith(BANNER)


async def test_latency_is_injected(start_llm_sandbox: StartLlmSandbox) -> None:
    sandbox = await start_llm_sandbox(latency_ms=150)
    started = time.monotonic()
    await sandbox.openai().chat.completions.create(model="gpt-4o", messages=USER)
    assert time.monotonic() - started >= 0.15


async def test_faults_endpoint_updates_partially_and_validates(llm_sandbox: Sandbox) -> None:
    status, current = await llm_sandbox.control("GET", "/_sandbox/llm/faults")
    assert status == 200
    assert current == LlmSandboxSettings().model_dump()
    status, updated = await llm_sandbox.control("PUT", "/_sandbox/llm/faults", {"error_rate": 0.25, "seed": 9})
    assert status == 200 and updated == {**current, "error_rate": 0.25, "seed": 9}
    for bad in ({"error_rate": 2}, {"latency": 5}, ["not", "an", "object"]):
        status, _ = await llm_sandbox.control("PUT", "/_sandbox/llm/faults", bad)
        assert status == 400
    assert (await llm_sandbox.control("GET", "/_sandbox/llm/faults"))[1] == updated
    status, stats = await llm_sandbox.control("GET", "/_sandbox/llm/stats")
    assert status == 200 and set(stats) == {"openai", "moonshot", "anthropic", "gemini"}


async def test_unsupported_requests_fail_in_the_providers_shape(llm_sandbox: Sandbox) -> None:
    with pytest.raises(openai.BadRequestError) as stream_error:
        await llm_sandbox.openai().chat.completions.create(model="gpt-4o", messages=USER, stream=True)
    assert "stream" in stream_error.value.message
    with pytest.raises(openai.NotFoundError):
        await llm_sandbox.openai().embeddings.create(model="text-embedding-3-small", input="hi")
    with pytest.raises(anthropic.BadRequestError):
        await llm_sandbox.anthropic().messages.create(
            model="claude-sonnet-4-6",
            max_tokens=64,
            messages=USER,
            tools=[{"name": "a", "input_schema": {"type": "object"}}],
            tool_choice={"type": "tool", "name": "missing"},
        )
    with pytest.raises(genai_errors.ClientError) as gemini_stream_error:
        async for _ in await llm_sandbox.gemini().aio.models.generate_content_stream(
            model="gemini-2.5-flash", contents="hi"
        ):
            pass
    assert gemini_stream_error.value.code == 400 and gemini_stream_error.value.status == "INVALID_ARGUMENT"
    with pytest.raises(genai_errors.ClientError) as gemini_error:
        await llm_sandbox.gemini().aio.models.embed_content(model="text-embedding-004", contents="hi")
    assert gemini_error.value.code == 404 and gemini_error.value.status == "NOT_FOUND"
    status, _ = await llm_sandbox.control("GET", "/nowhere")
    assert status == 404


# --- the JSON-schema generator -------------------------------------------------------------------

DRAFT4 = "http://json-schema.org/draft-04/schema#"

SCHEMAS: dict[str, dict[str, Any]] = {
    "enum and const": {
        "type": "object",
        "properties": {"kind": {"enum": ["bug", "story", 3, None]}, "v": {"const": "fixed"}},
        "required": ["kind", "v"],
        "additionalProperties": False,
    },
    "exclusive bounds (2020-12)": {"type": "integer", "exclusiveMinimum": 4, "exclusiveMaximum": 6},
    "exclusive bounds (draft 4)": {
        "$schema": DRAFT4,
        "type": "number",
        "minimum": 0,
        "maximum": 0.1,
        "exclusiveMinimum": True,
        "exclusiveMaximum": True,
    },
    "only a maximum": {"type": "integer", "maximum": -5},
    "integer multipleOf": {"type": "integer", "minimum": 10, "maximum": 50, "multipleOf": 7},
    "number multipleOf": {"type": "number", "minimum": 0.2, "maximum": 0.5, "multipleOf": 0.1},
    "string formats": {
        "type": "object",
        "properties": {
            fmt: {"type": "string", "format": fmt} for fmt in ("date", "date-time", "email", "uuid", "uri", "ipv4")
        },
        "required": ["date", "date-time", "email", "uuid", "uri", "ipv4"],
    },
    "tight lengths": {
        "type": "object",
        "properties": {
            "short": {"type": "string", "maxLength": 4},
            "long": {"type": "string", "minLength": 60, "maxLength": 61},
        },
        "required": ["short", "long"],
    },
    "jira-key pattern": {"type": "string", "pattern": r"^[A-Z][A-Z0-9]{1,4}-\d{1,5}$"},
    "array bounds and uniqueness": {
        "type": "object",
        "properties": {
            "many": {"type": "array", "items": {"type": "integer"}, "minItems": 5},
            "few": {"type": "array", "items": {"type": "string"}, "maxItems": 1},
            "unique": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "minItems": 3, "uniqueItems": True},
        },
        "required": ["many", "few", "unique"],
    },
    "tuple": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "items": False},
    "$defs and $ref": {
        "$defs": {"Sub": {"type": "object", "properties": {"n": {"type": "integer", "maximum": 2}}, "required": ["n"]}},
        "type": "object",
        "properties": {"sub": {"$ref": "#/$defs/Sub"}, "subs": {"type": "array", "items": {"$ref": "#/$defs/Sub"}}},
        "required": ["sub", "subs"],
    },
    "definitions (draft 7)": {
        "definitions": {"Id": {"type": "string", "format": "uuid"}},
        "type": "array",
        "items": {"$ref": "#/definitions/Id"},
    },
    "recursive tree": {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
                "required": ["name", "children"],
                "additionalProperties": False,
            }
        },
        "$ref": "#/$defs/Node",
    },
    "anyOf, oneOf and allOf": {
        "type": "object",
        "properties": {
            "any": {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 100}]},
            "one": {"oneOf": [{"type": "string", "maxLength": 3}, {"type": "boolean"}]},
            "all": {
                "allOf": [
                    {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
                    {"properties": {"b": {"type": "boolean"}}, "required": ["b"]},
                ],
                "unevaluatedProperties": False,
            },
        },
        "required": ["any", "one", "all"],
    },
    "type union and map": {
        "type": "object",
        "properties": {
            "maybe": {"type": ["null", "number"], "minimum": 1, "maximum": 2},
            "counts": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
        },
        "required": ["maybe", "counts"],
        "additionalProperties": False,
    },
    "empty schema": {},
}


@pytest.mark.parametrize("schema", SCHEMAS.values(), ids=SCHEMAS.keys())
def test_generated_values_are_valid(schema: dict[str, Any]) -> None:
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    for seed in range(20):
        value = generate(schema, random.Random(seed), ["login", "timeout", "Safari"])
        errors = [e.message for e in validator.iter_errors(value)]
        assert not errors, f"seed {seed}: {json.dumps(value)} -> {errors}"


def test_generated_values_are_labelled_deterministic_and_seed_dependent() -> None:
    schema = {"type": "object", "properties": {"note": {"type": "string"}, "points": {"type": "integer"}}}
    words = ["login", "timeout", "Safari", "redirect"]
    values = [generate(schema, random.Random(seed), words) for seed in (1, 1, 2)]
    assert values[0] == values[1]
    assert values[0] != values[2]
    assert values[0]["note"].startswith(LABEL)


def test_gemini_openapi_schemas_are_understood() -> None:
    # What google-genai sends for a pydantic model: upper-case types, snake_case keys, nullable.
    schema = {
        "type": "OBJECT",
        "properties": {
            "points": {"type": "INTEGER", "minimum": 1.0, "maximum": 3.0},
            "title": {"type": "STRING", "max_length": 12},
            "tags": {"type": "ARRAY", "items": {"type": "STRING"}, "min_items": 4, "max_items": 4},
            "owner": {"type": "STRING", "nullable": True},
            "done": {"type": "BOOLEAN"},
        },
        "property_ordering": ["title", "tags", "points", "owner", "done"],
        "required": ["points", "title", "tags"],
    }
    for seed in range(10):
        value = generate(schema, random.Random(seed))
        assert list(value) == ["title", "tags", "points", "owner", "done"]
        assert isinstance(value["points"], int) and 1 <= value["points"] <= 3
        assert len(value["title"]) <= 12 and len(value["tags"]) == 4
        assert isinstance(value["owner"], str) and isinstance(value["done"], bool)


def test_untrivial_patterns_still_give_strings() -> None:
    assert isinstance(generate({"type": "string", "pattern": "^(ab|cd)+$"}, random.Random(0)), str)


async def test_control_routes_answer_on_a_plain_runner() -> None:
    # The factory is usable outside pytest-aiohttp, the way the CLI mounts it on its own port.
    runner = web.AppRunner(create_llm_sandbox_app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        url = f"http://127.0.0.1:{port}/openai/v1/models"
        async with (
            aiohttp.ClientSession() as session,
            session.get(url, headers={"Authorization": "Bearer x"}) as response,
        ):
            assert response.status == 200 and response.headers["X-Augment-Sandbox"] == "llm"
            assert "gpt-4o" in [m["id"] for m in (await response.json())["data"]]
    finally:
        await runner.cleanup()


async def test_every_provider_lists_its_models_for_health_checks(llm_sandbox: Sandbox) -> None:
    url = llm_sandbox.url
    async with aiohttp.ClientSession() as session:
        for path, headers in (
            ("/openai/v1/models", {"Authorization": "Bearer k"}),
            ("/moonshot/v1/models", {"Authorization": "Bearer k"}),
            ("/anthropic/v1/models", {"x-api-key": "k", "anthropic-version": "2023-06-01"}),
            ("/gemini/v1beta/models", {"x-goog-api-key": "k"}),
        ):
            async with session.get(url + path, headers=headers) as response:
                assert response.status == 200, path
            async with session.get(url + path) as response:
                assert response.status == 401, path
