"""`/augment apply`: writing the plan a preview job stored, without generating again."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from schemas.jobs import AppliedOperation
from schemas.keys import JobId, TicketKey


class ApplyRequest(BaseModel):
    job_id: JobId = Field(description="The preview job whose plan is written.")
    ticket_key: TicketKey


class ApplyResult(BaseModel):
    source_job_id: str
    ticket_key: str
    outcome: Literal["applied", "already_applied", "conflict"]
    applied_by: str | None = Field(default=None, description="already_applied: the apply job that wrote it.")
    operations: list[AppliedOperation] = Field(default_factory=list)
    message: str


class PreviewClaim(BaseModel):
    """The section of a preview's job record that `apply` claims before writing its plan."""

    applied_by: str | None = Field(default=None, description="The apply job that wrote this preview's plan.")
