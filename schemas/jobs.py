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
    message: str = ""
    processed: int | None = Field(default=None, ge=0)
    total: int | None = Field(default=None, ge=0)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def percent(self) -> float | None:
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
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def plus(self, spent: SpentTokens) -> TokenUsage:
        return TokenUsage(
            input_tokens=self.input_tokens + spent.input_tokens,
            output_tokens=self.output_tokens + spent.output_tokens,
            cost_usd=round(self.cost_usd + spent.cost_usd, 6),
        )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class PlanOperation(BaseModel):
    """One Jira change of a plan; `op_id` is stable so an applier can resume after a crash."""

    op_id: str
    kind: Literal[
        "update_fields", "create_issue", "link_issues", "set_parent", "add_comment", "move_to_sprint", "create_sprint"
    ]
    ticket_key: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class AppliedOperation(BaseModel):
    op_id: str
    outcome: dict[str, Any] = Field(default_factory=dict)
    applied_at: datetime = Field(default_factory=utc_now)


class TicketReply(BaseModel):
    """Where a job started from Jira answers: a comment on the ticket when it ends."""

    ticket_key: str
    requested_by: str | None = Field(default=None, description="accountId of the person who asked, if one did.")
    trigger: str = Field(description="`/augment <command>` as typed, or `rule <name>`.")


class JobRecord(BaseModel):
    """What `GET /jobs/{job_id}` returns, and what the job store keeps."""

    # A job type's section is kept as extra fields (see the module docstring).
    model_config = ConfigDict(extra="allow")

    job_id: str
    job_type: JobType
    status: JobStatus = JobStatus.started
    ticket_keys: list[str] = Field(default_factory=list)
    request: dict[str, Any] = Field(default_factory=dict, description="The validated request, as submitted.")
    progress: Progress = Field(default_factory=Progress)
    plan: list[PlanOperation] | None = None
    applied: list[AppliedOperation] = Field(default_factory=list)
    result: Any = None
    error: str | None = None
    error_status: int | None = Field(
        default=None, description="The HTTP status a synchronous call answered the error with."
    )
    usage: TokenUsage = Field(default_factory=TokenUsage)
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
    started_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utc_now)
    completed_at: datetime | None = None

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
        return self.ticket_keys[0] if self.ticket_keys else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status_url(self) -> str:
        return job_status_url(self.job_id)


def job_status_url(job_id: str) -> str:
    return f"/jobs/{job_id}"


class JobSummary(BaseModel):
    """One row of `GET /jobs`."""

    job_id: str
    job_type: JobType
    status: JobStatus
    ticket_keys: list[str]
    progress: Progress
    error: str | None = None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None

    @classmethod
    def of(cls, record: JobRecord) -> JobSummary:
        return cls.model_validate(record.model_dump(include=set(cls.model_fields)))


class JobList(BaseModel):
    jobs: list[JobSummary]
    total: int = Field(description="Jobs matching the filters.")
    limit: int
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; absent on the last page."
    )


class JobListQuery(BaseModel):
    status: JobStatus | None = None
    job_type: JobType | None = None
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(default=None, description="`next_cursor` of the previous page.")


class JobAccepted(BaseModel):
    """The answer when work was queued (async mode, or a sync call past its timeout)."""

    job_id: str
    status: JobStatus = JobStatus.started
    message: str
    status_url: str
    update_jira: bool = False
    safety_note: str | None = None


class JobCancelled(BaseModel):
    message: str
    status: JobStatus = JobStatus.cancelled
