"""The cost page: LLM tokens and cost by day, provider, model and job type, from the job records.

- Read: the records of the jobs created in the last `days` (1–366, default 30), newest first
  in pages of `PAGE` (the job index's creation order), at most `MAX_RECORDS`. The page says
  when it stopped at that bound.
- A job's provider and model are the ones its request recorded (the API, a comment command and
  a rule all resolve them before queuing). A job that spent tokens without recording them is
  counted under `default`: it ran on the configured default of its time. Jobs that neither
  recorded a choice nor spent a token made no LLM call and are left out of those two tables,
  which changes no sum.
- Days are UTC days of the job's creation.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from aiohttp import web
from pydantic import BaseModel, Field

from bot.http.routes import RouteTable
from bot.jobs.service import JobService
from bot.services import services
from handlers.ui import page
from schemas.jobs import JobRecord

routes = RouteTable("ui")

MAX_RECORDS = 5000
PAGE = 100  # records read at once
DEFAULT = "default"


class CostQuery(BaseModel):
    days: int = Field(default=30, ge=1, le=366, description="Jobs created in this many last days.")


@dataclass
class Spend:
    """What a group of jobs spent."""

    jobs: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, record: JobRecord) -> None:
        self.jobs += 1
        self.input_tokens += record.usage.input_tokens
        self.output_tokens += record.usage.output_tokens
        self.cost_usd = round(self.cost_usd + record.usage.cost_usd, 6)


@dataclass
class Report:
    total: Spend = field(default_factory=Spend)
    with_llm: Spend = field(default_factory=Spend)  # the jobs of the provider and model tables
    by_day: dict[date, Spend] = field(default_factory=lambda: defaultdict(Spend))
    by_provider: dict[str, Spend] = field(default_factory=lambda: defaultdict(Spend))
    by_model: dict[tuple[str, str], Spend] = field(default_factory=lambda: defaultdict(Spend))
    by_job_type: dict[str, Spend] = field(default_factory=lambda: defaultdict(Spend))
    without_llm: int = 0

    def add(self, record: JobRecord) -> None:
        self.total.add(record)
        self.by_day[record.created_at.astimezone(UTC).date()].add(record)
        self.by_job_type[record.job_type.value].add(record)
        provider, model = record.request.get("llm_provider"), record.request.get("llm_model")
        if not (provider or model or record.usage.total_tokens):
            self.without_llm += 1
            return
        self.with_llm.add(record)
        provider = str(provider or DEFAULT)
        self.by_provider[provider].add(record)
        self.by_model[provider, str(model or DEFAULT)].add(record)

    @property
    def most_per_day(self) -> float:
        return max((spend.cost_usd for spend in self.by_day.values()), default=0.0)


@routes.get("/ui/cost", query=CostQuery, in_schema=False)
async def cost_page(request: web.Request, query: CostQuery) -> web.Response:
    since = datetime.now(UTC) - timedelta(days=query.days)
    report, cut = await _report(services(request).jobs, since)
    llm = services(request).settings.llm
    return page(
        request,
        "cost/page.html",
        days=query.days,
        since=since,
        report=report,
        cut=cut,
        max_records=MAX_RECORDS,
        default_provider=llm.default_provider,
        default_model=llm.default_models.get(llm.default_provider, ""),
    )


async def _report(jobs: JobService, since: datetime) -> tuple[Report, bool]:
    """What the jobs created since `since` spent, and whether `MAX_RECORDS` cut the reading
    (records are added up as they are read, not kept)."""
    report = Report()
    cursor: str | None = None
    while True:
        batch = await jobs.records(limit=PAGE, cursor=cursor)
        for record in batch.records:
            if record.created_at < since:
                return report, False
            if report.total.jobs == MAX_RECORDS:
                return report, True
            report.add(record)
        if batch.next_cursor is None:
            return report, False
        cursor = batch.next_cursor
