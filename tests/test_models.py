"""GET /models and the five model-selection rules of the API guide."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from bot.config import LlmSettings
from bot.llm.catalogue import Catalogue, ModelChoice, ModelChoiceError


async def test_models_lists_providers_models_and_defaults(client: TestClient) -> None:
    response = await client.get("/models")
    assert response.status == 200
    body = await response.json()
    assert body["providers"] == ["openai", "claude", "gemini", "kimi"]
    assert body["default_provider"] == "openai"
    assert "gpt-5-mini" in body["models"]["openai"]
    assert "claude-sonnet-4-5" in body["models"]["claude"]
    assert "gemini-2.5-flash" in body["models"]["gemini"]
    assert "kimi-latest" in body["models"]["kimi"]
    assert body["aliases"] == {"anthropic": "claude", "google": "gemini", "moonshot": "kimi"}


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue(LlmSettings(default_provider="anthropic", extra_models={"openai": ["gpt-6-preview"]}))


@pytest.mark.parametrize(
    ("provider", "model", "chosen"),
    [
        ("openai", "gpt-4o", ModelChoice("openai", "gpt-4o")),  # 1. both given
        ("Anthropic", "claude-opus-4-1", ModelChoice("claude", "claude-opus-4-1")),
        ("gemini", None, ModelChoice("gemini", "gemini-2.5-flash")),  # 2. provider only
        ("moonshot", None, ModelChoice("kimi", "kimi-latest")),
        (None, "kimi-k2-thinking", ModelChoice("kimi", "kimi-k2-thinking")),  # 3. model only
        (None, "gpt-6-preview", ModelChoice("openai", "gpt-6-preview")),  # from llm.extra_models
        (None, None, ModelChoice("claude", "claude-sonnet-4-5")),  # 4. configured default
    ],
)
def test_selection_rules(catalogue: Catalogue, provider: str | None, model: str | None, chosen: ModelChoice) -> None:
    assert catalogue.choose(provider, model) == chosen


@pytest.mark.parametrize(
    ("provider", "model", "field", "message"),
    [
        (
            "openai",
            "claude-sonnet-4-5",
            "llm_model",
            "Model 'claude-sonnet-4-5' is not available for provider 'openai'",
        ),
        ("mistral", None, "llm_provider", "Unknown LLM provider 'mistral'"),
        ("mistral", "gpt-4o", "llm_provider", "Unknown LLM provider 'mistral'"),
        (None, "gpt-9", "llm_model", "Unknown model 'gpt-9'"),
    ],
)
def test_invalid_combinations_name_the_field(
    catalogue: Catalogue, provider: str | None, model: str | None, field: str, message: str
) -> None:  # 5. validation
    with pytest.raises(ModelChoiceError) as err:
        catalogue.choose(provider, model)
    assert err.value.field == field
    assert str(err.value).startswith(message)
