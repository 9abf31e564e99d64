"""What callers of the LLM layer see: prompts, answers, usage and errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from bot.logs import redact

T = TypeVar("T")


@dataclass(frozen=True)
class Prompt:
    system: str
    user: str


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    output_tokens: int
    cost_usd: float


@dataclass(frozen=True)
class Answer(Generic[T]):
    value: T | str
    usage: Usage
    provider: str
    model: str
    # Model calls it took: 1, plus one per re-ask after output that did not validate.
    attempts: int


class LlmError(Exception):
    """A call that failed; the message names provider and model and is safe to show users."""

    def __init__(self, provider: str, model: str, reason: str, *, retryable: bool) -> None:
        # SDK messages can echo URLs and headers; redact drops configured keys and key=... parts.
        super().__init__(redact(f"{provider} ({model}): {reason}"))
        self.provider = provider
        self.model = model
        self.retryable = retryable


class LlmConfigError(LlmError):
    """The provider cannot be called as configured: unknown, or its API key is not set."""

    def __init__(self, provider: str, model: str, reason: str) -> None:
        super().__init__(provider, model, reason, retryable=False)


class LlmOutputError(LlmError):
    """Structured output still invalid after every re-ask; the tokens were spent all the same."""

    def __init__(
        self, provider: str, model: str, reason: str, *, usage: Usage, attempts: int, rules: tuple[str, ...] = ()
    ) -> None:
        # Not retryable: the model was already asked again with the error in front of it.
        super().__init__(provider, model, reason, retryable=False)
        self.usage = usage
        self.attempts = attempts
        # The output model's rules the last answer broke (empty: it did not match the schema).
        self.rules = rules


@dataclass(frozen=True)
class Turn:
    """One message of the conversation an adapter sends after the system prompt."""

    role: Literal["user", "assistant"]
    text: str


@dataclass(frozen=True)
class Reply:
    """What an adapter returns: the answer text (JSON text for structured calls) and its token counts."""

    text: str
    input_tokens: int
    output_tokens: int


def http_failure(provider: str, model: str, status: int | None, detail: str, retries: int) -> LlmError:
    """The LlmError for a call that failed at the HTTP level, after the transport's own retries.

    Connection errors, timeouts (status None), 408, 409, 429 and 5xx are transient: worth
    trying again later. Any other 4xx means the request itself is wrong.
    """
    retryable = status is None or status in (408, 409, 429) or status >= 500
    what = "no response (connection failed or timed out)" if status is None else f"HTTP {status}"
    after = f" after {retries} {'retry' if retries == 1 else 'retries'}" if retryable and retries else ""
    return LlmError(provider, model, f"{what}{after}: {detail}", retryable=retryable)


def body_message(body: object, fallback: str) -> str:
    """The `message` of an OpenAI/Anthropic error body (`{"error": {"message": ...}}` or the
    inner object), which reads better than the SDK's "Error code: 503 - {...}" summary."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) and message else fallback


def retries_taken(request: Any) -> int:
    """How often the OpenAI/Anthropic SDK retried before giving up: both number each try of a
    request in this header (it can be fewer than max_retries, e.g. after a Retry-After too long)."""
    try:
        return int(request.headers.get("x-stainless-retry-count", 0))
    except (AttributeError, ValueError):
        return 0
