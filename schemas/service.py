"""Shapes of `GET /` and `GET /health` (`GET /models`: `schemas/llm.py`)."""

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
