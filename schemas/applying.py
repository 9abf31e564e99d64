"""Applying a preview: writing the plan a preview job stored, without generating again.

Started by `POST /jobs/{job_id}/apply` (`ApplyBody`) or the `/augment apply` comment command.
A preview is a finished job that did not write (`update_jira` false) and kept a plan: in its
record (a single ticket) or per ticket in the results bucket (a batch).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from schemas.base import RequestModel
from schemas.jobs import AppliedOperation, PlanOperation
from schemas.keys import JobId, TicketKey

Outcome = Literal["applied", "already_applied", "conflict"]


class ApplyBody(RequestModel):
    """`POST /jobs/{job_id}/apply`; the body may be left out."""

    async_mode: bool = Field(
        default=False, strict=True, description="Answer 202 with a job id at once instead of waiting."
    )


class ApplyRequest(BaseModel):
    job_id: JobId = Field(description="The preview job whose plan is written.")
    ticket_keys: list[TicketKey] = Field(min_length=1, description="The preview's tickets that have a plan.")


class TicketApplied(BaseModel):
    """What applying one ticket's plan did."""

    ticket_key: str
    outcome: Outcome = Field(
        description="`applied`: written; `already_applied`: Jira held it already; "
        "`conflict`: the ticket changed in Jira since the preview and was not overwritten."
    )
    changed_fields: list[str] = Field(default_factory=list, description="conflict: the fields somebody changed.")


class ApplyResult(BaseModel):
    source_job_id: str
    ticket_key: str | None = Field(default=None, description="The preview's ticket, for a single-ticket preview.")
    outcome: Outcome = Field(
        description="`conflict` if any ticket was in conflict, `already_applied` if Jira held every plan "
        "already (or another apply job claimed the preview first: `applied_by`), else `applied`."
    )
    applied_by: str | None = Field(default=None, description="The apply job that claimed the preview.")
    tickets: list[TicketApplied] = Field(
        default_factory=list, description="One line per ticket, in the preview's order."
    )
    applied_tickets: int = 0
    already_applied_tickets: int = 0
    conflict_tickets: int = 0
    operations: list[AppliedOperation] = Field(default_factory=list)
    message: str


class StoredPlan(BaseModel):
    """The plan of one ticket of a multi-ticket preview, as its pipeline kept it in the results bucket."""

    plan: list[PlanOperation]


class PreviewClaim(BaseModel):
    """The section of a preview's job record that `apply` claims before writing its plan."""

    applied_by: str | None = Field(default=None, description="The apply job that wrote this preview's plan.")
