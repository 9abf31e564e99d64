"""The diagnostic `ping` job: it exercises the queue, a worker and the job store."""

from __future__ import annotations

from pydantic import BaseModel, Field

from schemas.base import RequestModel


class PingRequest(RequestModel):
    ticket_key: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z][A-Za-z0-9_]*-[0-9]+$",
        description="Optional ticket to lock while the job runs, as real jobs do.",
    )
    steps: int = Field(default=1, ge=1, le=10_000, description="Progress steps to report.")
    step_seconds: float = Field(default=0.0, ge=0, le=60, description="Pause per step.")
    fail_attempts: int = Field(default=0, ge=0, le=100, description="Fail this many attempts before succeeding.")
    async_mode: bool = False


class PingResult(BaseModel):
    steps: int
    attempts: int
    worker: str = Field(description="Which worker process ran the job.")
