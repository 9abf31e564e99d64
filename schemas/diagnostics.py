"""The diagnostic `ping` job: it exercises the queue, a worker and the job store."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from schemas.base import RequestModel
from schemas.keys import TicketKey


class PingRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"steps": 2, "async_mode": False}]}, use_attribute_docstrings=True
    )

    ticket_key: TicketKey | None = Field(
        default=None, description="Optional ticket to lock while the job runs, as real jobs do."
    )
    steps: int = Field(default=1, ge=1, le=10_000, strict=True, description="Progress steps to report.")
    step_seconds: float = Field(default=0.0, ge=0, le=60, strict=True, description="Pause per step.")
    fail_attempts: int = Field(
        default=0, ge=0, le=100, strict=True, description="Fail this many attempts before succeeding."
    )
    stall_seconds: float = Field(
        default=0.0,
        ge=0,
        le=60,
        strict=True,
        description="Block the worker process this long before the first step of the job's first delivery, "
        "as a stalled process does (its heartbeat stops too). Refused (422) unless worker.allow_stall is on.",
    )
    async_mode: bool = Field(default=False, strict=True)
    """true: answer 202 and run as a job; false: wait for the answer."""


class PingResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"steps": 2, "attempts": 1, "worker": "augment-worker-1:4242"}]},
        use_attribute_docstrings=True,
    )

    steps: int
    """The steps run."""
    attempts: int
    """How many deliveries the job took."""
    worker: str = Field(description="Which worker process ran the job.")
