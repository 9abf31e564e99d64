"""Job records (the `augment_jobs` bucket) and the job API's shapes.

Nothing here knows a job type's own shapes. A job type's request and result are its
own models (`schemas/<area>.py`), kept in the record's `request` and `result`. What a
job type adds to its record beyond that (a batch's ticket counts, the claim an `apply`
job puts on a preview) is its *section*: a model of its own, written with
`record.keep(section)`, read with `record.section(Model)`, and shown at the top level
of the record's JSON beside the fields below (pydantic extra fields).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, computed_field


def utc_now() -> datetime:
    return datetime.now(UTC)


class JobStatus(StrEnum):
    started = "started"
    processing = "processing"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


Section = TypeVar("Section", bound=BaseModel)

FINAL_STATUSES = frozenset({JobStatus.completed, JobStatus.failed, JobStatus.cancelled})


class JobType(StrEnum):
    single = "single"
    batch = "batch"
    story_generation = "story_generation"
    prd_story_sync = "prd_story_sync"
    task_generation = "task_generation"
    test_generation = "test_generation"
    sprint_planning = "sprint_planning"
    sprint_assign = "sprint_assign"
    timeline_planning = "timeline_planning"
    update_ticket = "update_ticket"
    update_story_ticket = "update_story_ticket"
    create_ticket = "create_ticket"
    apply = "apply"
    ping = "ping"


class Progress(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    message: str = ""
    """What the job is doing now."""
    processed: int | None = Field(default=None, ge=0)
    """Units of work done."""
    total: int | None = Field(default=None, ge=0)
    """Units of work in all, once known."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def percent(self) -> float | None:
        """processed over total, in percent, once the total is known."""
        if not self.total or self.processed is None:
            return None
        return round(100.0 * min(self.processed, self.total) / self.total, 1)


class SpentTokens(Protocol):
    """Anything that counts tokens: a TokenUsage, or an LLM answer's usage."""

    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def cost_usd(self) -> float: ...


class TokenUsage(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    input_tokens: int = 0
    """Tokens sent to the LLM."""
    output_tokens: int = 0
    """Tokens the LLM wrote."""
    cost_usd: float = 0.0
    """Estimated cost in US dollars."""

    def plus(self, spent: SpentTokens) -> TokenUsage:
        return TokenUsage(
            input_tokens=self.input_tokens + spent.input_tokens,
            output_tokens=self.output_tokens + spent.output_tokens,
            cost_usd=round(self.cost_usd + spent.cost_usd, 6),
        )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_tokens(self) -> int:
        """Input and output tokens together."""
        return self.input_tokens + self.output_tokens


class PlanOperation(BaseModel):
    """One Jira change of a plan; `op_id` is stable so an applier can resume after a crash."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    op_id: str
    """The operation's stable identifier within its plan."""
    kind: Literal[
        "update_fields", "create_issue", "link_issues", "set_parent", "add_comment", "move_to_sprint", "create_sprint"
    ]
    """What the operation changes in Jira."""
    ticket_key: str | None = None
    """The issue it changes, when it changes one."""
    payload: dict[str, Any] = Field(default_factory=dict)
    """The operation's arguments (fields, link type, sprint, ...)."""


class AppliedOperation(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    op_id: str
    """The operation's stable identifier within its plan."""
    outcome: dict[str, Any] = Field(default_factory=dict)
    """What Jira answered (a created key, a sprint id, ...)."""
    applied_at: datetime = Field(default_factory=utc_now)
    """When the operation was written (UTC)."""


class TicketReply(BaseModel):
    """Where a job started from Jira answers: a comment on the ticket when it ends."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    ticket_key: str
    """The ticket the job's comment goes on."""
    requested_by: str | None = Field(default=None, description="accountId of the person who asked, if one did.")
    trigger: str = Field(description="`/augment <command>` as typed, or `rule <name>`.")


class JobRecord(BaseModel):
    """What `GET /jobs/{job_id}` returns, and what the job store keeps."""

    # A job type's section is kept as extra fields (see the module docstring).
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "job_id": "0b7c5e2a-4f1d-4e8b-9a63-5d2f8c1e7a40",
                    "job_type": "single",
                    "status": "completed",
                    "ticket_keys": ["DEMO-3"],
                    "request": {"ticket_key": "DEMO-3", "update_jira": False},
                    "progress": {"message": "Completed successfully", "processed": 1, "total": 1},
                    "plan": [
                        {
                            "op_id": "description",
                            "kind": "update_fields",
                            "ticket_key": "DEMO-3",
                            "payload": {
                                "fields": {
                                    "description": (
                                        "h2. Purpose\n\nLet workspace owners schedule CSV exports daily or weekly."
                                    )
                                }
                            },
                        }
                    ],
                    "applied": [],
                    "result": {"ticket_key": "DEMO-3", "success": True, "updated_in_jira": False},
                    "error": None,
                    "usage": {"input_tokens": 1575, "output_tokens": 412, "cost_usd": 0.001451},
                    "created_at": "2027-01-04T09:30:00Z",
                    "started_at": "2027-01-04T09:30:00Z",
                    "updated_at": "2027-01-04T09:30:04Z",
                    "completed_at": "2027-01-04T09:30:04Z",
                }
            ]
        },
        use_attribute_docstrings=True,
        extra="allow",
    )

    job_id: str
    """The job's identifier."""
    job_type: JobType
    """What kind of job it is."""
    status: JobStatus = JobStatus.started
    """The job's status."""
    ticket_keys: list[str] = Field(default_factory=list)
    """The Jira keys the job works on."""
    request: dict[str, Any] = Field(default_factory=dict, description="The validated request, as submitted.")
    progress: Progress = Field(default_factory=Progress)
    """How far the job has got."""
    plan: list[PlanOperation] | None = None
    """The Jira changes the job would make (a preview) or made, in order."""
    applied: list[AppliedOperation] = Field(default_factory=list)
    """The plan's operations already written to Jira, with their outcomes."""
    result: Any = None
    """The job type's result, once it has one."""
    error: str | None = None
    """Why the job failed, when it did."""
    error_status: int | None = Field(
        default=None, description="The HTTP status a synchronous call answered the error with."
    )
    usage: TokenUsage = Field(default_factory=TokenUsage)
    """Tokens and cost spent on LLM calls."""
    attempts: int = Field(
        default=0,
        description="Attempts begun: 1 on the first run, one more after each failed attempt. A hand-back "
        "(worker shutdown) or a crash after progress resumes the same attempt.",
    )
    failed_attempts: int = Field(
        default=0,
        description="Attempts that failed: the job raised an error, or its worker stopped responding "
        "with no progress since it took the job. The job fails at `limits.max_attempts`.",
    )
    deliveries: int = Field(default=0, description="Times a worker took the job: attempts, hand-backs, resumptions.")
    processed_at_delivery: int = Field(
        default=0, description="`progress.processed` when the latest delivery began: progress is measured from it."
    )
    worker: str | None = Field(default=None, description="host:pid of the worker on the latest attempt.")
    reply: TicketReply | None = Field(default=None, description="Set for jobs started from Jira.")
    created_at: datetime = Field(default_factory=utc_now)
    """When the job was accepted (UTC)."""
    started_at: datetime | None = None
    """When a worker started it (UTC)."""
    updated_at: datetime = Field(default_factory=utc_now)
    """When the record last changed (UTC)."""
    completed_at: datetime | None = None
    """When the job reached a final status (UTC)."""

    def model_post_init(self, context: Any, /) -> None:
        # Stored records carry `ticket_key` and `status_url` too; they are computed again. (After
        # validation, not a "before" validator: that would cost JSON parsing its fast path.)
        extra = self.__pydantic_extra__
        if extra:
            for name in type(self).model_computed_fields:
                extra.pop(name, None)

    def section(self, model: type[Section]) -> Section:
        """The job type's own section of the record, as `model` (its defaults where unset)."""
        return model.model_validate(self.model_extra or {})

    def keep(self, section: BaseModel) -> None:
        """Write the job type's section into the record."""
        for name, value in section.model_dump(mode="json").items():
            setattr(self, name, value)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ticket_key(self) -> str | None:
        """The first of `ticket_keys`: the ticket a single-ticket job works on."""
        return self.ticket_keys[0] if self.ticket_keys else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status_url(self) -> str:
        """Where to follow the job: GET it until its status is final."""
        return job_status_url(self.job_id)


def job_status_url(job_id: str) -> str:
    return f"/jobs/{job_id}"


class JobSummary(BaseModel):
    """One row of `GET /jobs`."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    job_id: str
    """The job's identifier."""
    job_type: JobType
    """What kind of job it is."""
    status: JobStatus
    """The job's status."""
    ticket_keys: list[str]
    """The Jira keys the job works on."""
    progress: Progress
    """How far the job has got."""
    error: str | None = None
    """Why the job failed, when it did."""
    created_at: datetime
    """When the job was accepted (UTC)."""
    updated_at: datetime
    """When the job last changed (UTC)."""
    completed_at: datetime | None = None
    """When the job reached a final status (UTC)."""

    @classmethod
    def of(cls, record: JobRecord) -> JobSummary:
        return cls.model_validate(record.model_dump(include=set(cls.model_fields)))


class JobList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "jobs": [
                        {
                            "job_id": "0b7c5e2a-4f1d-4e8b-9a63-5d2f8c1e7a40",
                            "job_type": "single",
                            "status": "completed",
                            "ticket_keys": ["DEMO-3"],
                            "progress": {"message": "Completed successfully", "processed": 1, "total": 1},
                            "error": None,
                            "created_at": "2027-01-04T09:30:00Z",
                            "updated_at": "2027-01-04T09:30:04Z",
                            "completed_at": "2027-01-04T09:30:04Z",
                        }
                    ],
                    "total": 1,
                    "limit": 50,
                    "next_cursor": None,
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    jobs: list[JobSummary]
    """The jobs, newest first."""
    total: int = Field(description="Jobs matching the filters.")
    limit: int
    """The most jobs one page holds."""
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; absent on the last page."
    )


class JobListQuery(BaseModel):
    status: JobStatus | None = Field(default=None, description="Only jobs in this status.")
    job_type: JobType | None = Field(default=None, description="Only jobs of this type.")
    limit: int = Field(default=50, ge=1, le=500, description="The most jobs on one page.")
    cursor: str | None = Field(default=None, description="`next_cursor` of the previous page.")


class JobAccepted(BaseModel):
    """The answer when work was queued (async mode, or a sync call past its timeout)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "job_id": "0b7c5e2a-4f1d-4e8b-9a63-5d2f8c1e7a40",
                    "status": "started",
                    "message": "Job started in PREVIEW mode; follow it at status_url",
                    "status_url": "/jobs/0b7c5e2a-4f1d-4e8b-9a63-5d2f8c1e7a40",
                    "update_jira": False,
                    "safety_note": "JIRA will only be updated if update_jira is explicitly set to true",
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    job_id: str
    """The job's identifier."""
    status: JobStatus = JobStatus.started
    """The job's status."""
    message: str
    """A sentence on the outcome, for people."""
    status_url: str
    """Where to follow the job: GET it until its status is final."""
    update_jira: bool = False
    """Whether the job writes to Jira (false: a preview, applied later with POST /jobs/{job_id}/apply)."""
    safety_note: str | None = None
    """What to do before the change reaches Jira, for a preview."""


class JobCancelled(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"message": "Job cancelled", "status": "cancelled"}]},
        use_attribute_docstrings=True,
    )

    message: str
    """A sentence on the outcome, for people."""
    status: JobStatus = JobStatus.cancelled
    """The job's status after the cancel."""
