"""Prometheus metrics: the registry and every metric object, in one place.

The names and label sets are the contract of `deploy/README.md` (the Grafana dashboard and the
alert rules use nothing else). Each process has its own registry contents and serves them on its
own `/metrics` (`augment api` and `augment serve` on the API port, `augment worker` on
`worker.health_port`): Prometheus scrapes every process.

The hot paths (webhook intake at thousands a second, Jira and LLM calls) only increment: a
label child is looked up once and kept (`_Children`: a plain dict read, no lock of ours), and
children whose label set is fixed are bound here at import.

Which process counts what:
- webhooks, the intake time: the process that answers `POST /webhooks/jira` (api, serve);
- jobs by final status, durations, redeliveries, dead letters, LLM and Jira calls, rule firings
  and loop-guard refusals: the process that runs the pipelines (worker, serve); a job cancelled
  through the API is counted by the process that answered `DELETE /jobs/{id}`;
- the queue depth and the NATS connection: every process, read when `/metrics` is scraped.
"""

from __future__ import annotations

import asyncio
import hmac
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

from nats.aio.client import Client
from nats.js import JetStreamContext
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from bot.http.auth import BasicAuthenticator

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_LATEST
# Time to read the queue depth at a scrape; past it the last value is served.
QUEUE_DEPTH_TIMEOUT_SECONDS = 2.0

WEBHOOKS = Counter(
    "augment_webhooks",
    "Jira webhooks received, by event and outcome (accepted, duplicate, refused)",
    ["event", "outcome"],
    registry=REGISTRY,
)
WEBHOOK_INTAKE = Histogram(
    "augment_webhook_intake_seconds",
    "Time to check and queue a webhook",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)
JOBS = Counter(
    "augment_jobs",
    "Jobs that reached a final status (completed, failed, cancelled)",
    ["job_type", "status"],
    registry=REGISTRY,
)
JOB_DURATION = Histogram(
    "augment_job_duration_seconds",
    "Job run time: the run that ended the job, in the worker that ran it",
    ["job_type"],
    buckets=(0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0),
    registry=REGISTRY,
)
JOB_QUEUE_DEPTH = Gauge("augment_job_queue_depth", "Jobs waiting for a worker (not yet delivered)", registry=REGISTRY)
JOB_REDELIVERIES = Counter("augment_job_redeliveries", "Job messages delivered again", registry=REGISTRY)
DEAD_LETTERS = Counter("augment_dead_letters", "Jobs moved to the dead-letter stream", registry=REGISTRY)
LLM_CALLS = Counter(
    "augment_llm_calls",
    "LLM calls, by provider, model and outcome (ok, error)",
    ["provider", "model", "outcome"],
    registry=REGISTRY,
)
LLM_TOKENS = Counter(
    "augment_llm_tokens",
    "LLM tokens, by provider, model and kind (input, output)",
    ["provider", "model", "kind"],
    registry=REGISTRY,
)
LLM_COST = Counter(
    "augment_llm_cost_usd", "LLM cost in US dollars (configured prices)", ["provider", "model"], registry=REGISTRY
)
JIRA_CALLS = Counter(
    "augment_jira_calls",
    "Jira REST call attempts by outcome: ok, rate_limited (429), retried (another failure, tried again), error",
    ["outcome"],
    registry=REGISTRY,
)
RULE_FIRINGS = Counter("augment_rule_firings", "Trigger rules that fired", ["rule"], registry=REGISTRY)
LOOP_GUARD_REFUSALS = Counter(
    "augment_loop_guard_refusals",
    "Runs the loop guard refused: an event caused by the bot's own account, or a rule at its hourly limit",
    registry=REGISTRY,
)
NATS_CONNECTED = Gauge("augment_nats_connected", "1 while connected to NATS, 0 otherwise", registry=REGISTRY)

# Fixed label sets, bound once.
JIRA_OK = JIRA_CALLS.labels("ok")
JIRA_RATE_LIMITED = JIRA_CALLS.labels("rate_limited")
JIRA_RETRIED = JIRA_CALLS.labels("retried")
JIRA_ERROR = JIRA_CALLS.labels("error")

C = TypeVar("C")


class _Children(Generic[C]):
    """A metric's label children by label values, each looked up in the library once."""

    def __init__(self, make: Callable[..., C]) -> None:
        self._make = make
        self._children: dict[tuple[str, ...], C] = {}

    def __call__(self, *values: str) -> C:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._make(*values)
        return child


webhook = _Children(WEBHOOKS.labels)
job_end = _Children(JOBS.labels)
job_duration = _Children(JOB_DURATION.labels)
llm_call = _Children(LLM_CALLS.labels)
llm_tokens = _Children(LLM_TOKENS.labels)
llm_cost = _Children(LLM_COST.labels)
rule_firing = _Children(RULE_FIRINGS.labels)

# Webhook events Jira sends that Augment handles: their children exist before the first one.
for _event in ("jira:issue_created", "jira:issue_updated", "comment_created", "comment_updated"):
    for _outcome in ("accepted", "duplicate", "refused"):
        webhook(_event, _outcome)
webhook("unknown", "refused")


def count_llm(
    provider: str, model: str, *, ok: bool, input_tokens: int = 0, output_tokens: int = 0, cost_usd: float = 0.0
) -> None:
    llm_call(provider, model, "ok" if ok else "error").inc()
    if input_tokens:
        llm_tokens(provider, model, "input").inc(input_tokens)
    if output_tokens:
        llm_tokens(provider, model, "output").inc(output_tokens)
    if cost_usd:
        llm_cost(provider, model).inc(cost_usd)


# -- NATS connection state, read at scrape time ---------------------------------------------

_clients: weakref.WeakSet[Client] = weakref.WeakSet()


def watch_nats(client: Client) -> None:
    """Report this client's connection in `augment_nats_connected` (until it is closed)."""
    _clients.add(client)


def _nats_connected() -> float:
    """1 when every open client of this process is connected; 0 when one is not, or there is none."""
    open_clients = [client for client in list(_clients) if not client.is_closed]
    return 1.0 if open_clients and all(client.is_connected for client in open_clients) else 0.0


NATS_CONNECTED.set_function(_nats_connected)


# -- the scrape -----------------------------------------------------------------------------


async def refresh_queue_depth(js: JetStreamContext, stream: str) -> None:
    """Jobs not yet delivered to a worker: the sum of the job consumers' pending counts.
    Bounded: NATS slow or away leaves the last value."""
    try:
        async with asyncio.timeout(QUEUE_DEPTH_TIMEOUT_SECONDS):
            consumers = await js.consumers_info(stream)
    except Exception:
        return
    JOB_QUEUE_DEPTH.set(sum(info.num_pending or 0 for info in consumers))


def exposition() -> bytes:
    return generate_latest(REGISTRY)


def bearer_matches(authorization: str | None, token: str) -> bool:
    """`Authorization: Bearer <token>` with the metrics token (compared in constant time)."""
    if not token or not authorization or not authorization.startswith("Bearer "):
        return False
    return hmac.compare_digest(authorization[len("Bearer ") :].strip().encode(), token.encode())


async def scrape_allowed(authorization: str | None, token: str, authenticator: BasicAuthenticator | None) -> bool:
    """Who may read `/metrics`: anyone when neither `auth.enabled` nor `metrics.token` is set;
    otherwise `Bearer <metrics.token>`, or the API's Basic credentials when auth is on."""
    if authenticator is None and not token:
        return True
    if bearer_matches(authorization, token):
        return True
    return authenticator is not None and await authenticator.verify(authorization)
