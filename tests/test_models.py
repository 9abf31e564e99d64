"""GET /models, the five model-selection rules of the API guide, and the model lifecycle.

The lifecycle tests assert rules against whatever SDK versions are installed (CI may
install newer ones), never today's list: a model an SDK marks deprecated is flagged, no
built-in default is deprecated, a configured model past its date warns, a request naming
an unconfigured one past its date is a 422 naming `llm_model` and the date.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from bot.app import create_app
from bot.config import DEFAULT_MODELS, LlmSettings, load_settings
from bot.llm import lifecycle
from bot.llm.catalogue import PROVIDERS, Catalogue, ModelChoice, ModelChoiceError
from tests.fixtures.nats import make_settings


class Day:
    """A clock stopped at noon (UTC) of one day."""

    def __init__(self, day: date) -> None:
        self.day = day

    def now(self) -> datetime:
        return datetime.combine(self.day, time(12), UTC)


def dated(provider: str) -> tuple[str, date]:
    """A model of `provider` with an end-of-life date (our own tables always have one)."""
    return next((model, end) for model, end in lifecycle.END_OF_LIFE[provider].items() if end)


async def test_models_lists_providers_models_and_defaults(client: TestClient) -> None:
    response = await client.get("/models")
    assert response.status == 200
    body = await response.json()
    assert body["providers"] == ["openai", "claude", "gemini", "kimi"]
    assert body["default_provider"] == "openai"
    assert body["default_models"] == DEFAULT_MODELS
    for provider, model in DEFAULT_MODELS.items():
        assert model in body["models"][provider]
        assert [info["name"] for info in body["details"][provider]] == body["models"][provider]
    assert body["aliases"] == {"anthropic": "claude", "google": "gemini", "moonshot": "kimi"}
    assert body["warnings"] == []  # the built-in defaults are current


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue(LlmSettings(default_provider="anthropic", extra_models={"openai": ["gpt-6-preview"]}))


@pytest.mark.parametrize(
    ("provider", "model", "chosen"),
    [
        ("openai", "gpt-6-preview", ModelChoice("openai", "gpt-6-preview")),  # 1. both given
        ("Anthropic", DEFAULT_MODELS["claude"], ModelChoice("claude", DEFAULT_MODELS["claude"])),
        ("gemini", None, ModelChoice("gemini", DEFAULT_MODELS["gemini"])),  # 2. provider only
        ("moonshot", None, ModelChoice("kimi", DEFAULT_MODELS["kimi"])),
        (None, "kimi-k2-thinking", ModelChoice("kimi", "kimi-k2-thinking")),  # 3. model only
        (None, "gpt-6-preview", ModelChoice("openai", "gpt-6-preview")),  # from llm.extra_models
        (None, None, ModelChoice("claude", DEFAULT_MODELS["claude"])),  # 4. configured default
    ],
)
def test_selection_rules(catalogue: Catalogue, provider: str | None, model: str | None, chosen: ModelChoice) -> None:
    assert catalogue.choose(provider, model) == chosen


@pytest.mark.parametrize(
    ("provider", "model", "field", "message"),
    [
        (
            "openai",
            "kimi-k2-thinking",
            "llm_model",
            "Model 'kimi-k2-thinking' is not available for provider 'openai'",
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


def test_no_built_in_default_is_deprecated_and_each_is_priced() -> None:
    catalogue = Catalogue(LlmSettings())
    for provider in PROVIDERS:
        model = catalogue.default_models[provider]
        assert model in lifecycle.MODELS[provider]
        assert not catalogue.state(provider, model).deprecated, f"{model} is deprecated: pick a new default"
        price = LlmSettings().prices[model]
        assert price.input > 0 and price.output > 0
    assert catalogue.warnings() == []


def test_models_the_anthropic_sdk_deprecates_are_flagged_with_its_date() -> None:
    table: dict[str, str] = getattr(pytest.importorskip("anthropic._data"), "DEPRECATED_MODELS", {})
    catalogue = Catalogue(LlmSettings())
    for model, when in table.items():
        state = catalogue.state("claude", model)
        assert state.deprecated
        assert state.end_of_life is None or str(state.end_of_life.year) in when


def test_openai_shutdown_dates_are_read_from_the_sdk_docstring() -> None:
    text = """Deprecated values:

- "gpt-a", "gpt-a-2025-01-01":
  Announced shutdown date: 2026-12-11. See
  https://developers.openai.com/api/docs/deprecations for details.
- "gpt-b": Not a supported model ID. Retained for SDK compatibility.
- something unreadable: Announced shutdown date: 2020-01-01.
"""
    assert lifecycle.parse_openai_deprecations(text) == {
        "gpt-a": date(2026, 12, 11),
        "gpt-a-2025-01-01": date(2026, 12, 11),
        "gpt-b": None,
    }


def test_a_deprecated_configured_model_warns_before_and_after_its_date() -> None:
    model, end = dated("openai")
    settings = LlmSettings(extra_models={"openai": [model]})
    before = Catalogue(settings, Day(end - timedelta(days=1)))
    assert before.warnings() == [f"llm.extra_models.openai: {model!r} is deprecated; its end of life is {end}"]
    after = Catalogue(settings, Day(end))
    assert after.warnings() == [
        f"llm.extra_models.openai: {model!r} reached its end of life on {end}; pick a current model"
    ]
    assert after.choose("openai", model) == ModelChoice("openai", model)  # the operator vouches for it


def test_a_request_naming_a_model_past_its_date_is_refused_with_the_date() -> None:
    for provider in ("openai", "gemini"):
        model, end = dated(provider)
        catalogue = Catalogue(LlmSettings(), Day(end + timedelta(days=1)))
        for asked in ((provider, model), (None, model)):
            with pytest.raises(ModelChoiceError) as err:
                catalogue.choose(*asked)
            assert err.value.field == "llm_model"
            assert str(err.value) == (
                f"Model {model!r} ({provider}) reached its end of life on {end}; pick a current one (see GET /models)"
            )
        assert model not in catalogue.listing()[provider]
        assert Catalogue(LlmSettings(), Day(end - timedelta(days=1))).choose(None, model).model == model


async def test_models_and_start_warn_about_a_configured_model_past_its_date(
    aiohttp_client: Callable[..., Any], nats_url: str
) -> None:
    model, end = dated("claude")
    retired, retired_end = dated("gemini")
    settings = make_settings(nats_url, llm={"default_models": {"claude": model}})
    with capture_logs() as logs:
        client: TestClient = await aiohttp_client(create_app(settings, clock=Day(max(end, retired_end))))
    warning = f"llm.default_models.claude: {model!r} reached its end of life on {end}; pick a current model"
    assert [entry["detail"] for entry in logs if entry["event"] == "configured LLM model is deprecated"] == [warning]

    body = await (await client.get("/models")).json()
    assert body["warnings"] == [warning]
    assert body["default_models"]["claude"] == model
    info = next(info for info in body["details"]["claude"] if info["name"] == model)
    assert info == {"name": model, "deprecated": True, "end_of_life": end.isoformat(), "retired": True}
    assert retired not in body["models"]["gemini"]

    response = await client.post("/generate/single", json={"ticket_key": "DEMO-1", "llm_model": retired})
    assert response.status == 422
    error = (await response.json())["detail"][0]
    assert error["loc"] == ["body", "llm_model"]
    assert f"reached its end of life on {retired_end}" in error["msg"]


def test_extra_and_default_models_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_EXTRA_MODELS", '{"openai": ["gpt-7"], "anthropic": ["claude-next"]}')
    monkeypatch.setenv("LLM_DEFAULT_MODELS", '{"openai": "gpt-7"}')
    catalogue = Catalogue(load_settings().llm)
    assert catalogue.choose(None, "gpt-7") == ModelChoice("openai", "gpt-7")
    assert catalogue.choose("openai", None) == ModelChoice("openai", "gpt-7")
    assert catalogue.choose(None, "claude-next") == ModelChoice("claude", "claude-next")  # an alias as the key
    assert catalogue.default_models["claude"] == DEFAULT_MODELS["claude"]  # providers left out keep theirs
