"""The providers and models Augment knows, and the rules that pick one for a request.

Rules (the API guide's): both given → used as given; provider only → its default
model; model only → the provider that offers it; neither → the configured default;
any invalid combination → 422 naming the field.

The models are the installed SDKs' lists plus our own (`bot.llm.lifecycle`) plus
`llm.extra_models`. A model past its end-of-life date is refused (422 naming
`llm_model` and the date) unless the operator configured it (`llm.default_models`,
`llm.extra_models`): those are used as configured and only warned about, at start
and in `GET /models`, like any configured model that is deprecated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.clock import Clock, SystemClock
from bot.config import LlmSettings
from bot.llm import lifecycle

PROVIDERS = ("openai", "claude", "gemini", "kimi")
ALIASES = {"anthropic": "claude", "google": "gemini", "moonshot": "kimi"}


# Which settings section holds each provider's key and base URL (`OPENAI_API_KEY`, ...).
PROVIDER_SETTINGS = {"openai": "openai", "claude": "anthropic", "gemini": "google", "kimi": "moonshot"}
DEFAULT_BASE_URLS = {
    "openai": "https://api.openai.com/v1",
    "claude": "https://api.anthropic.com",
    "gemini": "https://generativelanguage.googleapis.com",
    "kimi": "https://api.moonshot.ai/v1",
}


class ModelChoiceError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ModelChoice:
    provider: str
    model: str

    @classmethod
    def queued(cls, provider: str | None, model: str | None) -> ModelChoice:
        """The choice a queued job's request names: the API, the comment command or the trigger
        rule resolved both by the rules of GET /models before queuing."""
        assert provider and model
        return cls(provider, model)


@dataclass(frozen=True)
class ModelState:
    name: str
    deprecated: bool
    end_of_life: date | None
    retired: bool  # on or after its end-of-life date


class Catalogue:
    def __init__(self, settings: LlmSettings, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        extra = self._by_provider("llm.extra_models", settings.extra_models)
        self.models = {
            provider: list(dict.fromkeys([*lifecycle.MODELS[provider], *extra.get(provider, [])]))
            for provider in PROVIDERS
        }
        self.default_provider = self.provider("llm.default_provider", settings.default_provider)
        self.default_models: dict[str, str] = {}
        for key, model in settings.default_models.items():  # every provider: LlmSettings fills in the rest
            provider = self.provider(f"llm.default_models.{key}", key)
            if model not in self.models[provider]:
                raise ModelChoiceError(
                    f"llm.default_models.{key}",
                    f"{model!r} is not a known {provider} model; to use a new one, "
                    "also list it in llm.extra_models (env LLM_EXTRA_MODELS)",
                )
            self.default_models[provider] = model
        # What the operator vouches for: used even past its date, and warned about.
        self.configured: dict[str, str] = {
            **{m: f"llm.extra_models.{p}" for p, models in extra.items() for m in models},
            **{m: f"llm.default_models.{p}" for p, m in self.default_models.items()},
        }

    def _by_provider(self, field: str, table: dict[str, list[str]]) -> dict[str, list[str]]:
        merged: dict[str, list[str]] = {}
        for key, models in table.items():
            merged.setdefault(self.provider(f"{field}.{key}", key), []).extend(models)
        return merged

    def today(self) -> date:
        return self.clock.now().date()

    def state(self, provider: str, model: str, today: date | None = None) -> ModelState:
        table = lifecycle.END_OF_LIFE[provider]
        end = table.get(model)
        return ModelState(model, model in table, end, end is not None and end <= (today or self.today()))

    def listing(self) -> dict[str, list[ModelState]]:
        """Per provider, the models a request may name today (retired ones only when configured)."""
        today = self.today()
        return {
            provider: [
                state
                for state in (self.state(provider, model, today) for model in models)
                if not state.retired or state.name in self.configured
            ]
            for provider, models in self.models.items()
        }

    def warnings(self) -> list[str]:
        """One line per configured model that is deprecated or past its end of life."""
        today = self.today()
        found = []
        for model, field in self.configured.items():
            provider = field.rsplit(".", 1)[1]
            state = self.state(provider, model, today)
            if state.retired:
                found.append(f"{field}: {model!r} reached its end of life on {state.end_of_life}; pick a current model")
            elif state.end_of_life:
                found.append(f"{field}: {model!r} is deprecated; its end of life is {state.end_of_life}")
            elif state.deprecated:
                found.append(f"{field}: {model!r} is deprecated")
        return found

    def provider(self, field: str, name: str) -> str:
        canonical = ALIASES.get(name.lower(), name.lower())
        if canonical not in PROVIDERS:
            accepted = ", ".join([*PROVIDERS, *ALIASES])
            raise ModelChoiceError(field, f"Unknown LLM provider {name!r}; use one of: {accepted}")
        return canonical

    def choose(self, provider: str | None, model: str | None) -> ModelChoice:
        if provider and model:
            canonical = self.provider("llm_provider", provider)
            if model not in self.models[canonical]:
                raise ModelChoiceError(
                    "llm_model", f"Model {model!r} is not available for provider {canonical!r}; see GET /models"
                )
            return self._current(ModelChoice(canonical, model))
        if provider:
            canonical = self.provider("llm_provider", provider)
            return ModelChoice(canonical, self.default_models[canonical])
        if model:
            for canonical, models in self.models.items():
                if model in models:
                    return self._current(ModelChoice(canonical, model))
            raise ModelChoiceError("llm_model", f"Unknown model {model!r}; see GET /models")
        return ModelChoice(self.default_provider, self.default_models[self.default_provider])

    def _current(self, choice: ModelChoice) -> ModelChoice:
        state = self.state(choice.provider, choice.model)
        if state.retired and choice.model not in self.configured:
            raise ModelChoiceError(
                "llm_model",
                f"Model {choice.model!r} ({choice.provider}) reached its end of life on {state.end_of_life}; "
                "pick a current one (see GET /models)",
            )
        return choice
