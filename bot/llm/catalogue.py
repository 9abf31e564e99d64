"""The providers and models Augment knows, and the rules that pick one for a request.

Rules (the API guide's): both given → used as given; provider only → its default
model; model only → the provider that offers it; neither → the configured default;
any invalid combination → 422 naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import LlmSettings

PROVIDERS = ("openai", "claude", "gemini", "kimi")
ALIASES = {"anthropic": "claude", "google": "gemini", "moonshot": "kimi"}
MODELS: dict[str, tuple[str, ...]] = {
    "openai": (
        "o1",
        "o3",
        "o3-mini",
        "o4-mini",
        "gpt-5",
        "gpt-5-mini",
        "gpt-5-turbo",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4-turbo",
        "gpt-4",
    ),
    "claude": (
        "claude-haiku-4-5",
        "claude-sonnet-4-5",
        "claude-opus-4-1",
        "claude-opus-4-0",
        "claude-sonnet-4-0",
        "claude-3-7-sonnet-latest",
        "claude-3-5-sonnet-latest",
        "claude-3-5-haiku-latest",
    ),
    "gemini": (
        "gemini-2.5-pro",
        "gemini-2.5-flash",
        "gemini-2.5-flash-lite",
        "gemini-2.0-flash",
        "gemini-2.0-flash-lite",
    ),
    "kimi": (
        "moonshot-v1-8k",
        "moonshot-v1-32k",
        "moonshot-v1-128k",
        "moonshot-v1-auto",
        "kimi-latest",
        "kimi-k2-thinking",
        "kimi-k2-thinking-turbo",
        "kimi-k2-turbo-preview",
    ),
}


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


class Catalogue:
    def __init__(self, settings: LlmSettings) -> None:
        self.models = {
            provider: [*models, *(m for m in settings.extra_models.get(provider, []) if m not in models)]
            for provider, models in MODELS.items()
        }
        unknown = set(settings.extra_models) - set(PROVIDERS) - set(ALIASES)
        if unknown:
            raise ModelChoiceError("llm.extra_models", f"unknown provider {sorted(unknown)[0]!r}")
        self.default_provider = self.provider("llm.default_provider", settings.default_provider)
        self.default_models: dict[str, str] = {}
        for provider in PROVIDERS:
            model = settings.default_models.get(provider) or self.models[provider][0]
            if model not in self.models[provider]:
                raise ModelChoiceError(f"llm.default_models.{provider}", f"{model!r} is not a {provider} model")
            self.default_models[provider] = model

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
            return ModelChoice(canonical, model)
        if provider:
            canonical = self.provider("llm_provider", provider)
            return ModelChoice(canonical, self.default_models[canonical])
        if model:
            for canonical, models in self.models.items():
                if model in models:
                    return ModelChoice(canonical, model)
            raise ModelChoiceError("llm_model", f"Unknown model {model!r}; see GET /models")
        return ModelChoice(self.default_provider, self.default_models[self.default_provider])
