"""`GET /metrics`: scraped from a real service after real work, parsed with Prometheus' own parser.

The registry is the process' own (tests in one pytest worker share it), so every check compares
a scrape after the work with one before it.
"""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.app import create_app
from bot.http.auth import hash_password
from bot.services import SERVICES
from bot.worker_health import WorkerHealthServer
from tests.fixtures.nats import make_settings
from tests.fixtures.service import eventually, finished, free_port, start_sandboxed, wait_for_job
from tests.fixtures.workers import jira_faults

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

CONTRACT = Path(__file__).parent.parent / "deploy" / "README.md"
PASSWORD = "metrics-test-password"


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(found for (sample, have), found in samples.items() if sample == name and wanted <= have)


async def scrape(client, headers: dict[str, str] | None = None) -> Samples:
    response = await client.get("/metrics", headers=headers or {})
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/plain")
    return parse(await response.text())


def contract() -> dict[str, str]:
    """The metric names and types of deploy/README.md."""
    rows = re.findall(r"^\| `(augment_[a-z_]+)` \| (counter|gauge|histogram) \|", CONTRACT.read_text(), re.MULTILINE)
    return dict(rows)


async def test_every_contract_name_is_exposed_with_its_type(client) -> None:
    response = await client.get("/metrics")
    exposed = {family.name: family.type for family in text_string_to_metric_families(await response.text())}
    for name, kind in contract().items():
        family = name.removesuffix("_total")
        assert exposed.get(family) == kind, (name, exposed.get(family))
    assert parse(await response.text())[("augment_nats_connected", frozenset())] == 1.0


async def test_real_work_is_counted(aiohttp_client, nats_url: str) -> None:
    service = await start_sandboxed(aiohttp_client, nats_url, jira={"max_retries": 2})
    await service.subscribe()
    before = await scrape(service.client)

    # A job through the queue and a worker.
    ping = await service.client.post("/diagnostics/ping", json={"ticket_key": "DEMO-2", "steps": 2})
    assert ping.status == 200, await ping.text()
    # A comment command: a webhook from the sandbox Jira, a rule-less command job, an LLM call.
    await service.comment("DEMO-3", "/augment describe")
    await service.wait_for_comment("DEMO-3", "Preview: a description for DEMO-3")
    single = next(job for job in await service.jobs() if job["job_type"] == "single")
    await wait_for_job(service.client, single["job_id"], finished)
    # A 429 storm from the sandbox Jira: the client retries, then gives up.
    await jira_faults(service.sandbox, rate_limit_rate=1.0, retry_after_seconds=0)
    try:
        await service.client.app[SERVICES].runtime.jira.ticket("DEMO-1")
    except Exception as err:
        assert "429" in str(err) or "rate" in str(err).lower(), err
    finally:
        await jira_faults(service.sandbox, rate_limit_rate=0.0)

    async def counted() -> Samples | None:
        after = await scrape(service.client)
        done = value(after, "augment_jobs_total", job_type="single", status="completed") > value(
            before, "augment_jobs_total", job_type="single", status="completed"
        )
        return after if done else None

    after = await eventually(counted, "the describe job counted")

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("augment_webhooks_total", event="comment_created", outcome="accepted") >= 1
    assert grew("augment_webhook_intake_seconds_count") >= 1
    assert grew("augment_jobs_total", job_type="ping", status="completed") == 1
    assert grew("augment_job_duration_seconds_count", job_type="ping") == 1
    assert grew("augment_job_duration_seconds_count", job_type="single") == 1
    assert grew("augment_llm_calls_total", provider="openai", outcome="ok") >= 1
    assert grew("augment_llm_tokens_total", provider="openai", kind="input") > 0
    assert grew("augment_llm_tokens_total", provider="openai", kind="output") > 0
    assert grew("augment_jira_calls_total", outcome="ok") > 0
    assert grew("augment_jira_calls_total", outcome="rate_limited") == 3  # max_retries 2: three attempts
    # The bot's own preview comment comes back as a webhook: the loop guard ignores it.
    assert grew("augment_loop_guard_refusals_total") >= 1
    assert value(after, "augment_nats_connected") == 1
    assert ("augment_job_queue_depth", frozenset()) in after


async def test_a_refused_webhook_is_counted(aiohttp_client, nats_url: str) -> None:
    settings = make_settings(nats_url, webhooks={"url_token": "the-token"})
    client = await aiohttp_client(create_app(settings))
    before = await scrape(client)
    refused = await client.post("/webhooks/jira?token=wrong", json={"webhookEvent": "jira:issue_created"})
    assert refused.status == 401
    after = await scrape(client)
    refusals = ("augment_webhooks_total", frozenset({("event", "unknown"), ("outcome", "refused")}))
    assert after[refusals] - before[refusals] == 1


async def test_metrics_need_a_credential_when_auth_is_on(aiohttp_client, nats_url: str) -> None:
    settings = make_settings(
        nats_url,
        auth={"enabled": True, "username": "admin", "password_hash": hash_password(PASSWORD)},
        metrics={"token": "scrape-token"},
    )
    client = await aiohttp_client(create_app(settings))
    missing = await client.get("/metrics")
    assert missing.status == 401
    assert missing.headers["WWW-Authenticate"].startswith("Basic")
    assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status == 401
    await scrape(client, {"Authorization": "Bearer scrape-token"})
    await scrape(client, {"Authorization": aiohttp.encode_basic_auth("admin", PASSWORD)})
    assert (await client.get("/health/ready")).status == 200  # probes stay public


async def test_a_token_alone_guards_metrics(aiohttp_client, nats_url: str) -> None:
    client = await aiohttp_client(create_app(make_settings(nats_url, metrics={"token": "scrape-token"})))
    assert (await client.get("/metrics")).status == 401
    await scrape(client, {"Authorization": "Bearer scrape-token"})


async def test_the_worker_serves_its_metrics_on_its_health_port(aiohttp_client, nats_url: str) -> None:
    port = free_port()
    settings = make_settings(nats_url, worker={"health_port": port}, metrics={"token": "scrape-token"})
    client = await aiohttp_client(create_app(settings, with_worker=False))
    server = WorkerHealthServer(client.app[SERVICES].runtime, settings)
    await server.start()
    try:
        async with aiohttp.ClientSession(f"http://{settings.server.host}:{port}") as session:
            async with session.get("/metrics") as response:
                assert response.status == 401
            async with session.get("/metrics", headers={"Authorization": "Bearer scrape-token"}) as response:
                assert response.status == 200
                samples = parse(await response.text())
            async with session.get("/health/ready") as response:
                assert response.status == 200
                assert (await response.json())["services"] == {"nats": "connected"}
    finally:
        await server.stop()
    assert samples[("augment_nats_connected", frozenset())] == 1.0
