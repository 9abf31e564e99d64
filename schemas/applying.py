"""Applying a preview: writing the plan a preview job stored, without generating again.

Started by `POST /jobs/{job_id}/apply` (`ApplyBody`), the dashboard's Approve, or the `/augment apply`
comment command. A preview is a finished job that did not write (`update_jira` false) and kept a
plan: in its record (a single ticket) or per ticket in the results bucket (a batch).

A preview is written once or discarded (`POST /jobs/{job_id}/discard`, the dashboard's Discard),
never both: each marks the preview's record with compare-and-set (`PreviewClaim`,
`PreviewDiscard`) only while the other mark is absent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from schemas.base import RequestModel
from schemas.jobs import AppliedOperation, PlanOperation
from schemas.keys import JobId, TicketKey

Outcome = Literal["applied", "already_applied", "conflict"]
# An apply job's outcome: a ticket's, or `discarded` when the preview was discarded before it claimed it.
ApplyOutcome = Literal["applied", "already_applied", "conflict", "discarded"]
# An operation of a stored plan, as `plan[].op_id` of `GET /jobs/{job_id}` shows it.
OpId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
MAX_SELECTED = 1000


class ApplyBody(RequestModel):
    """`POST /jobs/{job_id}/apply`; the body may be left out."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"ticket_keys": ["DEMO-3"]}]})

    async_mode: bool = Field(
        default=False, strict=True, description="Answer 202 with a job id at once instead of waiting."
    )
    operations: list[OpId] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_SELECTED,
        description="Write only these operations of a one-plan preview (their `op_id`s, from `plan` in "
        "`GET /jobs/{job_id}`); default: all. An operation on an issue the plan creates needs that "
        "create selected too.",
    )
    ticket_keys: list[TicketKey] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_SELECTED,
        description="Write only these tickets of a batch preview; default: every ticket with a plan.",
    )


class ApplyRequest(BaseModel):
    job_id: JobId = Field(description="The preview job whose plan is written.")
    ticket_keys: list[TicketKey] = Field(min_length=1, description="The preview's tickets that have a plan.")
    operations: list[str] | None = Field(default=None, description="Only these operations (one-plan previews).")
    approved_by: str | None = Field(
        default=None,
        description="Who approved: `api` (or `api:<user>`), `ui` (or `ui:<user>`: the dashboard), or the "
        "Jira accountId that commented.",
    )


class TicketApplied(BaseModel):
    """What applying one ticket's plan did."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    ticket_key: str
    """The ticket the apply job wrote."""
    outcome: Outcome = Field(
        description="`applied`: written; `already_applied`: Jira held it already; "
        "`conflict`: the ticket changed in Jira since the preview and was not overwritten."
    )
    changed_fields: list[str] = Field(default_factory=list, description="conflict: the fields somebody changed.")


class ApplyResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "source_job_id": "0b7c5e2a-4f1d-4e8b-9a63-5d2f8c1e7a40",
                    "ticket_key": "DEMO-3",
                    "outcome": "applied",
                    "approved_by": None,
                    "applied_tickets": 1,
                    "already_applied_tickets": 0,
                    "conflict_tickets": 0,
                    "tickets": [{"ticket_key": "DEMO-3", "outcome": "applied", "changed_fields": []}],
                    "operations": [
                        {
                            "op_id": "description",
                            "outcome": {"ticket_key": "DEMO-3"},
                            "applied_at": "2027-01-04T09:35:00Z",
                        }
                    ],
                    "message": "Applied the plan of 1 ticket",
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    source_job_id: str
    """The preview job whose plan was applied."""
    ticket_key: str | None = Field(default=None, description="The preview's ticket, for a single-ticket preview.")
    outcome: ApplyOutcome = Field(
        description="`conflict` if any ticket was in conflict, `already_applied` if Jira held every plan "
        "already (or another apply job claimed the preview first: `applied_by`), `discarded` if the preview "
        "was discarded before this job claimed it (`discarded_by`; nothing was written), else `applied`."
    )
    applied_by: str | None = Field(default=None, description="The apply job that claimed the preview.")
    discarded_by: str | None = Field(default=None, description="Who discarded the preview, when it was.")
    approved_by: str | None = Field(default=None, description="Who approved the apply.")
    tickets: list[TicketApplied] = Field(
        default_factory=list, description="One line per ticket, in the preview's order."
    )
    applied_tickets: int = 0
    """Tickets whose changes were written now."""
    already_applied_tickets: int = 0
    """Tickets another apply had already written (skipped)."""
    conflict_tickets: int = 0
    """Tickets changed in Jira since the preview (skipped)."""
    operations: list[AppliedOperation] = Field(default_factory=list)
    """The operations written, with Jira's outcomes."""
    message: str
    """A sentence on the outcome, for people."""


class StoredPlan(BaseModel):
    """The plan of one ticket of a multi-ticket preview, as its pipeline kept it in the results bucket."""

    plan: list[PlanOperation]


class PreviewClaim(BaseModel):
    """The section of a preview's job record that `apply` claims before writing its plan."""

    applied_by: str | None = Field(default=None, description="The apply job that wrote this preview's plan.")
    approved_by: str | None = Field(default=None, description="Who approved the apply (see `ApplyRequest`).")
    approved_operations: list[str] | None = Field(
        default=None, description="The operations approved, when not all of the plan was."
    )


class PreviewDiscard(BaseModel):
    """The section of a preview's job record that `discard` writes: its plan is never applied after."""

    discarded_by: str | None = Field(
        default=None, description="Who discarded the preview: `api` (or `api:<user>`), `ui` (or `ui:<user>`)."
    )
    discarded_at: datetime | None = Field(default=None, description="When it was discarded (UTC).")


class DiscardResult(BaseModel):
    """`POST /jobs/{job_id}/discard`: the preview is discarded."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "job_id": "0b7c5e2a-4f1d-4e8b-9a63-5d2f8c1e7a40",
                    "discarded_by": "api",
                    "discarded_at": "2027-01-04T09:40:00Z",
                    "message": "Discarded the preview of job 0b7c5e2a-4f1d-4e8b-9a63-5d2f8c1e7a40",
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    job_id: str
    """The preview job discarded."""
    discarded_by: str
    """Who discarded it."""
    discarded_at: datetime
    """When (UTC)."""
    message: str
    """A sentence on the outcome, for people."""
