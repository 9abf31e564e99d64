"""The LLM layer against the LLM sandbox: real SDK clients over loopback HTTP, every provider."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic import BaseModel, Field

from bot.config import DEFAULT_MODELS, load_settings
from bot.llm.catalogue import ModelChoice
from bot.llm.client import Llm
from bot.llm.types import LlmConfigError, LlmError, LlmOutputError, Prompt
from sandbox import Sandbox

BANNER = "[Augment LLM sandbox — not AI]"
KEY = "sk-augment-test-key-0123456789"
PROMPT = Prompt(system="You plan Jira tickets.", user="Plan the fix for the login timeout after the SSO redirect")


@dataclass(frozen=True)
class Case:
    choice: ModelChoice
    section: str  # settings section holding key and base URL
    path: str  # the sandbox's prefix for the provider
    stats: str  # the provider's key in /_sandbox/llm/stats


# Each provider's built-in default model, through its real SDK (the sandbox serves any name).
CASES = {
    "openai": Case(ModelChoice("openai", DEFAULT_MODELS["openai"]), "openai", "/openai/v1", "openai"),
    "claude": Case(ModelChoice("claude", DEFAULT_MODELS["claude"]), "anthropic", "/anthropic", "anthropic"),
    "gemini": Case(ModelChoice("gemini", DEFAULT_MODELS["gemini"]), "google", "/gemini", "gemini"),
    "kimi": Case(ModelChoice("kimi", DEFAULT_MODELS["kimi"]), "moonshot", "/moonshot/v1", "moonshot"),
}
PRICES = {case.choice.model: {"input": 3.0, "output": 15.0} for case in CASES.values()}

per_provider = pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))


class Priority(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class Subtask(BaseModel):
    title: str
    estimate_hours: int = Field(ge=1, le=40)


class TicketPlan(BaseModel):
    """Nested model, list, enum, bounded ints and an optional: what the pipelines ask for."""

    summary: str = Field(min_length=5)
    priority: Priority
    story_points: int = Field(ge=1, le=13)
    labels: list[str]
    subtasks: list[Subtask] = Field(min_length=1, max_length=5)
    assignee: str | None = None


MakeLlm = Callable[..., Llm]


@pytest.fixture
async def make_llm(sandbox: Sandbox) -> AsyncIterator[MakeLlm]:
    """`make_llm(base_url=..., without_key=..., **llm_settings)`: an Llm on the sandbox, closed afterwards."""
    made: list[Llm] = []

    def make(base_url: str = "", without_key: str = "", **llm: Any) -> Llm:
        base = base_url or sandbox.llm_url
        sections = {
            case.section: {"api_key": "" if case.section == without_key else KEY, "base_url": f"{base}{case.path}"}
            for case in CASES.values()
        }
        llm.setdefault("prices", PRICES)
        made.append(Llm(load_settings(None, **sections, llm=llm)))
        return made[-1]

    yield make
    for llm in made:
        await llm.close()


async def set_faults(sandbox: Sandbox, **faults: Any) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.put(f"{sandbox.llm_url}/_sandbox/llm/faults", json=faults) as response:
            assert response.status == 200, await response.text()


async def statuses(sandbox: Sandbox, case: Case) -> dict[str, int]:
    """Requests the sandbox answered for the provider, by HTTP status."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{sandbox.llm_url}/_sandbox/llm/stats") as response:
            counts: dict[str, int] = (await response.json())[case.stats]["by_status"]
            return counts


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if await check():
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"timed out waiting until {what}")


def server_errors(by_status: dict[str, int]) -> int:
    return sum(count for status, count in by_status.items() if status.startswith("5"))


def expected_cost(input_tokens: int, output_tokens: int) -> float:
    return input_tokens / 1e6 * 3.0 + output_tokens / 1e6 * 15.0


async def has_status(sandbox: Sandbox, case: Case, status: str, count: int) -> bool:
    return (await statuses(sandbox, case)).get(status, 0) >= count


async def has_server_errors(sandbox: Sandbox, case: Case, count: int) -> bool:
    return server_errors(await statuses(sandbox, case)) >= count


@dataclass
class Recorder:
    """A loopback HTTP proxy in front of the LLM sandbox that records request bodies and
    the most requests it ever had in flight at once; `scripted` (status, JSON body) pairs
    answer the first requests instead of the sandbox."""

    upstream: str
    session: aiohttp.ClientSession
    url: str = ""
    bodies: list[str] = field(default_factory=list)
    in_flight: int = 0
    peak: int = 0
    scripted: list[tuple[int, Any]] = field(default_factory=list)

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.bodies.append(body.decode())
        if self.scripted:
            status, payload = self.scripted.pop(0)
            return web.json_response(payload, status=status)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
            async with self.session.request(
                request.method, f"{self.upstream}{request.path_qs}", headers=headers, data=body
            ) as response:
                payload = await response.read()
                kept = {k: v for k, v in response.headers.items() if k.lower() in _KEPT_HEADERS}
                return web.Response(status=response.status, body=payload, headers=kept)
        finally:
            self.in_flight -= 1


# The proxy reads (and so decompresses) bodies itself; length and encoding are its own.
_HOP_HEADERS = {"host", "content-length", "accept-encoding", "transfer-encoding", "connection"}
_KEPT_HEADERS = {"content-type", "retry-after", "retry-after-ms"}


@pytest.fixture
async def recorder(sandbox: Sandbox, aiohttp_server: Any) -> AsyncIterator[Recorder]:
    async with aiohttp.ClientSession() as session:
        proxy = Recorder(sandbox.llm_url, session)
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", proxy.forward)
        server = await aiohttp_server(app, host="127.0.0.1")
        proxy.url = str(server.make_url("")).rstrip("/")
        yield proxy


# --- answers -------------------------------------------------------------------------------------


@per_provider
async def test_text_answer_with_usage_and_cost(case: Case, make_llm: MakeLlm, sandbox: Sandbox) -> None:
    answer = await make_llm().text(case.choice, PROMPT)
    assert isinstance(answer.value, str) and answer.value.startswith(BANNER)
    assert (answer.provider, answer.model, answer.attempts) == (case.choice.provider, case.choice.model, 1)
    assert answer.usage.input_tokens > 5 and answer.usage.output_tokens > 20
    assert answer.usage.cost_usd == pytest.approx(expected_cost(answer.usage.input_tokens, answer.usage.output_tokens))
    assert answer.usage.cost_usd > 0
    assert await statuses(sandbox, case) == {"200": 1}


@per_provider
async def test_model_without_a_price_costs_nothing(case: Case, make_llm: MakeLlm) -> None:
    unpriced = ModelChoice(case.choice.provider, f"{case.choice.model}-unpriced")  # e.g. from llm.extra_models
    answer = await make_llm().text(unpriced, PROMPT)
    assert answer.usage.output_tokens > 0 and answer.usage.cost_usd == 0


@per_provider
async def test_built_in_default_models_are_priced(case: Case, make_llm: MakeLlm) -> None:
    answer = await make_llm(prices={}).text(case.choice, PROMPT)  # prices given add to the built-in ones
    assert answer.usage.cost_usd > 0


@per_provider
async def test_structured_answer_is_a_validated_model(case: Case, make_llm: MakeLlm, sandbox: Sandbox) -> None:
    answer = await make_llm().structured(case.choice, PROMPT, TicketPlan)
    plan = answer.value
    assert isinstance(plan, TicketPlan)
    assert isinstance(plan.priority, Priority) and 1 <= plan.story_points <= 13
    assert 1 <= len(plan.subtasks) <= 5 and all(1 <= s.estimate_hours <= 40 for s in plan.subtasks)
    assert plan.summary.startswith("[sandbox]"), "the value came from the sandbox, not a default"
    assert answer.attempts == 1 and answer.provider == case.choice.provider
    assert answer.usage.input_tokens > 0 and answer.usage.output_tokens > 0
    assert answer.usage.cost_usd == pytest.approx(expected_cost(answer.usage.input_tokens, answer.usage.output_tokens))
    assert await statuses(sandbox, case) == {"200": 1}


# --- transport failures --------------------------------------------------------------------------


@per_provider
async def test_rate_limit_is_retried_until_it_clears(case: Case, make_llm: MakeLlm, sandbox: Sandbox) -> None:
    await set_faults(sandbox, rate_limit_rate=1, retry_after_s=0.1)
    call = asyncio.ensure_future(make_llm(max_retries=10).text(case.choice, PROMPT))
    try:
        await wait_until(lambda: has_status(sandbox, case, "429", 2), "two calls were rate-limited")
        assert not call.done()
        await set_faults(sandbox, rate_limit_rate=0)
        answer = await asyncio.wait_for(call, timeout=10)
    finally:
        call.cancel()
    assert str(answer.value).startswith(BANNER)
    by_status = await statuses(sandbox, case)
    assert by_status["429"] >= 2 and by_status["200"] == 1


@per_provider
async def test_persistent_rate_limit_waits_retry_after_then_fails(
    case: Case, make_llm: MakeLlm, sandbox: Sandbox
) -> None:
    # Left to their own backoff, the SDKs and our Gemini loop wait at most 0.5 s before the
    # first retry; only honouring Retry-After makes the call last a whole second.
    await set_faults(sandbox, rate_limit_rate=1, retry_after_s=1.0)
    started = time.monotonic()
    with pytest.raises(LlmError) as raised:
        await make_llm(max_retries=1).text(case.choice, PROMPT)
    assert time.monotonic() - started >= 1.0
    error = raised.value
    assert error.retryable and not isinstance(error, LlmOutputError)
    assert (error.provider, error.model) == (case.choice.provider, case.choice.model)
    assert str(error).startswith(f"{case.choice.provider} ({case.choice.model}): HTTP 429 after 1 retry")
    assert await statuses(sandbox, case) == {"429": 2}


@per_provider
async def test_server_error_is_retried(case: Case, make_llm: MakeLlm, sandbox: Sandbox) -> None:
    await set_faults(sandbox, error_rate=1)
    call = asyncio.ensure_future(make_llm(max_retries=5).text(case.choice, PROMPT))
    try:
        await wait_until(lambda: has_server_errors(sandbox, case, 1), "a call failed with 5xx")
        await set_faults(sandbox, error_rate=0)
        answer = await asyncio.wait_for(call, timeout=20)
    finally:
        call.cancel()
    assert str(answer.value).startswith(BANNER)
    by_status = await statuses(sandbox, case)
    assert server_errors(by_status) >= 1 and by_status["200"] == 1


@per_provider
async def test_persistent_server_error_is_a_retryable_llm_error(
    case: Case, make_llm: MakeLlm, sandbox: Sandbox
) -> None:
    await set_faults(sandbox, error_rate=1)
    with pytest.raises(LlmError) as raised:
        await make_llm(max_retries=1).text(case.choice, PROMPT)
    error = raised.value
    assert error.retryable and error.provider == case.choice.provider
    assert case.choice.provider in str(error) and "injected by the Augment LLM sandbox" in str(error)
    assert KEY not in str(error)
    by_status = await statuses(sandbox, case)
    assert server_errors(by_status) == 2 and set(by_status) <= {"500", "503"}, "one try plus one retry"


@per_provider
async def test_client_error_is_not_retried(case: Case, make_llm: MakeLlm, sandbox: Sandbox) -> None:
    # A path the sandbox does not serve: a 404 in the provider's own error format.
    llm = make_llm(base_url=f"{sandbox.llm_url}{case.path}/no-such-version", max_retries=3)
    with pytest.raises(LlmError) as raised:
        await llm.text(case.choice, PROMPT)
    assert not raised.value.retryable and "HTTP 404" in str(raised.value)
    assert await statuses(sandbox, case) == {"404": 1}


@per_provider
async def test_slow_answer_times_out(case: Case, make_llm: MakeLlm, sandbox: Sandbox) -> None:
    await set_faults(sandbox, latency_ms=600)
    with pytest.raises(LlmError) as raised:
        await make_llm(timeout_seconds=0.2, max_retries=0).text(case.choice, PROMPT)
    assert raised.value.retryable and "no response (connection failed or timed out)" in str(raised.value)


@per_provider
async def test_missing_key_fails_without_calling(case: Case, make_llm: MakeLlm, sandbox: Sandbox) -> None:
    llm = make_llm(without_key=case.section)
    with pytest.raises(LlmError) as raised:
        await llm.structured(case.choice, PROMPT, TicketPlan)
    assert not raised.value.retryable and isinstance(raised.value, LlmConfigError)
    assert (
        str(raised.value) == f"{case.choice.provider} ({case.choice.model}): {case.section.upper()}_API_KEY is not set"
    )
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{sandbox.llm_url}/_sandbox/llm/stats") as response:
            stats = await response.json()
    assert all(provider["requests"] == 0 for provider in stats.values())


async def test_gemini_honours_retry_info_in_the_error(make_llm: MakeLlm, recorder: Recorder) -> None:
    # What the Gemini API sends on a 429: no Retry-After header, a google.rpc.RetryInfo detail.
    retry_info = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}
    error = {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED", "details": [retry_info]}
    recorder.scripted.append((429, {"error": error}))
    started = time.monotonic()
    answer = await make_llm(base_url=recorder.url, max_retries=1).text(CASES["gemini"].choice, PROMPT)
    assert time.monotonic() - started >= 1.0, "waited the retryDelay, not the 0.5 s backoff"
    assert str(answer.value).startswith(BANNER) and len(recorder.bodies) == 2


# --- output validation ---------------------------------------------------------------------------


@per_provider
async def test_output_that_never_validates_raises_after_the_re_asks(
    case: Case, make_llm: MakeLlm, sandbox: Sandbox, recorder: Recorder
) -> None:
    await set_faults(sandbox, malformed_rate=1)
    with pytest.raises(LlmOutputError) as raised:
        await make_llm(base_url=recorder.url, output_retries=2).structured(case.choice, PROMPT, TicketPlan)
    error = raised.value
    assert error.attempts == 3 and not error.retryable
    assert str(error).startswith(f"{case.choice.provider} ({case.choice.model}): the answer did not match TicketPlan")
    assert error.usage.input_tokens > 0 and error.usage.output_tokens > 0 and error.usage.cost_usd > 0
    assert await statuses(sandbox, case) == {"200": 3}
    # Each re-ask carries the conversation so far and the validation error.
    first, *re_asks = recorder.bodies
    assert "did not validate" not in first
    assert [body.count("Your previous answer did not validate") for body in re_asks] == [1, 2]


@per_provider
async def test_output_that_validates_on_the_re_ask(case: Case, make_llm: MakeLlm, sandbox: Sandbox) -> None:
    # The latency delays the second call's dice past the moment the faults are cleared.
    await set_faults(sandbox, malformed_rate=1, latency_ms=400)
    call = asyncio.ensure_future(make_llm().structured(case.choice, PROMPT, TicketPlan))
    try:
        await wait_until(lambda: has_status(sandbox, case, "200", 1), "the first (malformed) answer was sent")
        await set_faults(sandbox, malformed_rate=0, latency_ms=0)
        answer = await asyncio.wait_for(call, timeout=10)
    finally:
        call.cancel()
    assert isinstance(answer.value, TicketPlan) and answer.attempts == 2
    assert await statuses(sandbox, case) == {"200": 2}
    single = await make_llm().structured(case.choice, PROMPT, TicketPlan)
    assert answer.usage.input_tokens > single.usage.input_tokens, "usage adds up both attempts"


# --- concurrency ---------------------------------------------------------------------------------


@per_provider
async def test_concurrency_limit_per_provider(
    case: Case, make_llm: MakeLlm, sandbox: Sandbox, recorder: Recorder
) -> None:
    await set_faults(sandbox, latency_ms=200)
    llm = make_llm(base_url=recorder.url, concurrency=2)
    answers = await asyncio.wait_for(asyncio.gather(*(llm.text(case.choice, PROMPT) for _ in range(6))), timeout=20)
    assert len(answers) == 6
    # Never more than two in flight, so six calls took at least three rounds; and two did overlap.
    assert recorder.peak == 2
    assert len(recorder.bodies) == 6
