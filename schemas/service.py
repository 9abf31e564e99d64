"""Shapes of `GET /` and `GET /health` (`GET /models`: `schemas/llm.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RootResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"message": "Augment API", "status": "healthy", "version": "0.1.0"}]},
        use_attribute_docstrings=True,
    )

    message: str = "Augment API"
    """The service's name."""
    status: Literal["healthy"] = "healthy"
    """Always healthy: the process answers."""
    version: str
    """The service's version."""


class HealthResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "healthy",
                    "timestamp": "2027-01-04T09:30:00Z",
                    "services": {
                        "nats": "connected",
                        "jira": "connected",
                        "confluence": "connected",
                        "llm": "connected",
                    },
                    "last_ok": {
                        "jira": "2027-01-04T09:29:45Z",
                        "confluence": "2027-01-04T09:29:45Z",
                        "llm": "2027-01-04T09:29:45Z",
                    },
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    status: Literal["healthy", "degraded"]
    """healthy, or degraded when a dependency is not usable."""
    timestamp: datetime
    """The server's time (UTC)."""
    services: dict[str, str] = Field(
        description='Each dependency: "connected" / "ready" when usable, otherwise what is wrong.'
    )
    last_ok: dict[str, datetime | None] = Field(
        default_factory=dict,
        description=(
            "`GET /health`: when each dependency checked in the background last answered as usable "
            "(null: not since this process started)."
        ),
    )
