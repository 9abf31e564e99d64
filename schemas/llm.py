"""The LLM choice every generating request may carry."""

from __future__ import annotations

from pydantic import Field

from schemas.base import RequestModel


class LlmChoice(RequestModel):
    """Mix into a request model; the route layer resolves and validates the pair (see GET /models)."""

    llm_provider: str | None = Field(
        default=None, description="openai, claude (anthropic), gemini (google) or kimi (moonshot)."
    )
    llm_model: str | None = Field(default=None, description="A model of that provider; see GET /models.")
