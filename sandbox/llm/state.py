"""Per-app state of the LLM sandbox: fault settings, the seeded dice and request counters."""

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

Malformed = Literal["broken_json", "missing_required"]
# The planning rules an answer can break on purpose (Augment's schemas.planning_outputs.Rule).
BrokenRule = Literal[
    "item_count", "existing_title", "duplicate_title", "unknown_dependency", "dependency_cycle", "estimate", "team"
]


class LlmSandboxSettings(BaseModel):
    """Faults to inject; rates are probabilities per request, drawn from a `seed`ed RNG."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: float = Field(default=0, ge=0)
    error_rate: float = Field(default=0, ge=0, le=1)
    rate_limit_rate: float = Field(default=0, ge=0, le=1)
    retry_after_s: float = Field(default=1, ge=0)
    malformed_rate: float = Field(default=0, ge=0, le=1)
    # Planning answers (stories, tasks, tests) break this rule in the first `break_rule_attempts`
    # answers of a conversation (counted by its user turns), then answer correctly.
    break_rule: BrokenRule | None = None
    break_rule_attempts: int = Field(default=1, ge=0, le=1000)
    seed: int = 0


@dataclass(frozen=True)
class AnswerFaults:
    """What one structured answer is to get wrong."""

    malformed: Malformed | None = None
    break_rule: BrokenRule | None = None
    break_rule_attempts: int = 0


class SandboxState:
    def __init__(self, settings: LlmSandboxSettings, providers: Iterable[str]) -> None:
        self.settings = settings
        self._rng = random.Random(settings.seed)
        self._malformed_count = 0
        self.stats: dict[str, dict[str, Any]] = {p: {"requests": 0, "by_status": {}} for p in providers}

    def update(self, changes: dict[str, Any]) -> LlmSandboxSettings:
        """Apply a partial update; raises pydantic.ValidationError for bad fields.

        The dice restart from the seed on every update, so the faults that follow
        an update are the same whatever traffic came before it.
        """
        self.settings = LlmSandboxSettings.model_validate({**self.settings.model_dump(), **changes})
        self._rng = random.Random(self.settings.seed)
        self._malformed_count = 0
        return self.settings

    def draw_fault(self) -> int | None:
        """The HTTP status to fail this request with, or None to answer it."""
        # Both dice are always rolled so the sequence depends only on the seed and request count.
        rate_limited = self._rng.random() < self.settings.rate_limit_rate
        failed = self._rng.random() < self.settings.error_rate
        if rate_limited:
            return 429
        if failed:
            return self._rng.choice((500, 503))
        return None

    def draw_malformed(self) -> Malformed | None:
        """For structured requests: whether and how to break the answer (the kinds alternate)."""
        if self._rng.random() >= self.settings.malformed_rate:
            return None
        self._malformed_count += 1
        return "broken_json" if self._malformed_count % 2 else "missing_required"

    def draw_answer_faults(self) -> AnswerFaults:
        """The faults of one structured answer: the malformed dice, and the rule to break."""
        settings = self.settings
        return AnswerFaults(self.draw_malformed(), settings.break_rule, settings.break_rule_attempts)

    def record(self, provider: str, status: int) -> None:
        counters = self.stats[provider]
        counters["requests"] += 1
        counters["by_status"][str(status)] = counters["by_status"].get(str(status), 0) + 1


STATE = web.AppKey("llm_sandbox_state", SandboxState)


def retry_after_headers(seconds: float) -> dict[str, str]:
    """`Retry-After` in whole seconds (the HTTP spelling) plus the exact value in milliseconds,
    which the OpenAI and Anthropic SDKs read first, so sub-second waits keep tests fast."""
    return {"Retry-After": str(math.ceil(seconds)), "retry-after-ms": str(round(seconds * 1000))}
