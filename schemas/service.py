"""Shapes of `GET /`, `GET /health` and `GET /models`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class RootResponse(BaseModel):
    message: str = "Augment API"
    status: Literal["healthy"] = "healthy"
    version: str


class HealthResponse(BaseModel):
    status: Literal["healthy", "degraded"]
    timestamp: datetime
    services: dict[str, str] = Field(
        description='Each dependency: "connected" / "ready" when usable, otherwise what is wrong.'
    )


class ModelsResponse(BaseModel):
    providers: list[str]
    models: dict[str, list[str]]
    default_provider: str
    default_models: dict[str, str]
    aliases: dict[str, str] = Field(description="Other accepted provider names → the provider they mean.")
