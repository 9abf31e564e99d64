"""The LLM choice every generating request may carry, and the shape of `GET /models`."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from schemas.base import RequestModel


class LlmChoice(RequestModel):
    """Mix into a request model; the route layer resolves and validates the pair (see GET /models)."""

    llm_provider: str | None = Field(
        default=None, description="openai, claude (anthropic), gemini (google) or kimi (moonshot)."
    )
    llm_model: str | None = Field(default=None, description="A model of that provider; see GET /models.")


class ModelInfo(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    name: str
    """The model's name."""
    deprecated: bool = Field(description="The provider has announced this model's end.")
    end_of_life: date | None = Field(description="The provider's end-of-life (shutdown) date, when announced.")
    retired: bool = Field(description="On or past its end of life; listed only because the configuration names it.")


class ModelsResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "providers": ["openai", "claude"],
                    "models": {"openai": ["gpt-5.4-mini"], "claude": ["claude-sonnet-5"]},
                    "details": {
                        "openai": [
                            {"name": "gpt-5.4-mini", "deprecated": False, "end_of_life": None, "retired": False}
                        ],
                        "claude": [
                            {"name": "claude-sonnet-5", "deprecated": False, "end_of_life": None, "retired": False}
                        ],
                    },
                    "default_provider": "openai",
                    "default_models": {"openai": "gpt-5.4-mini", "claude": "claude-sonnet-5"},
                    "aliases": {"anthropic": "claude"},
                    "warnings": [],
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    providers: list[str]
    """The LLM providers configured."""
    models: dict[str, list[str]] = Field(description="Per provider, the models a request may name today.")
    details: dict[str, list[ModelInfo]] = Field(description="The same models, with their deprecation state.")
    default_provider: str
    """The provider used when a request names none."""
    default_models: dict[str, str]
    """Each provider's default model."""
    aliases: dict[str, str] = Field(description="Other accepted provider names → the provider they mean.")
    warnings: list[str] = Field(
        description="Configured models (llm.default_models, llm.extra_models) that are deprecated or past their date."
    )
