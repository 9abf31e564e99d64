"""The error model: which job errors are retried, and the HTTP status each answers."""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.jira.client import JiraError, JiraNotFoundError, JiraQueryError
from bot.jobs.errors import (
    ConfigurationJobError,
    InvalidInputJobError,
    JobError,
    NotFoundJobError,
    PermanentJobError,
    TransientJobError,
    http_status,
    jira_failure,
    llm_failure,
)
from bot.llm.catalogue import ModelChoice
from bot.llm.client import Llm
from bot.llm.types import LlmConfigError, LlmOutputError, Prompt, Usage, http_failure
from schemas.generation import GeneratedDescription
from tests.fixtures.service import SandboxedService, finished, start_sandboxed, wait_for_job

CLAUDE = ModelChoice("claude", "claude-sonnet-5")


def test_one_table_gives_each_kind_its_status() -> None:
    assert http_status(NotFoundJobError) == 404
    assert http_status(InvalidInputJobError) == 422
    assert http_status(ConfigurationJobError) == 500
    assert http_status(PermanentJobError) == 502
    assert http_status(TransientJobError) == 502
    assert http_status(RuntimeError) == 502  # an unforeseen error, retried like a transient one


def test_jira_errors_are_transient_only_when_jira_kept_failing() -> None:
    assert type(jira_failure(JiraNotFoundError("Jira: not found (read DEMO-9)", 404))) is NotFoundJobError
    rejected = jira_failure(JiraQueryError("Error in the JQL Query: ...", 400))
    assert type(rejected) is InvalidInputJobError
    assert str(rejected) == "Jira rejected the JQL: Error in the JQL Query: ..."
    for status in (None, 429, 503):
        assert type(jira_failure(JiraError("Jira kept failing", status))) is TransientJobError
    refused = jira_failure(JiraError("Jira refused the bot account", 403), ticket_key="DEMO-2")
    assert type(refused) is PermanentJobError
    assert (refused.ticket_key, refused.provider) == ("DEMO-2", "jira")


def test_llm_errors_that_outlived_the_retries_are_transient_the_others_permanent() -> None:
    overloaded = llm_failure(http_failure("claude", "claude-sonnet-5", 529, "Overloaded", 2), ticket_key="DEMO-3")
    assert type(overloaded) is TransientJobError
    assert str(overloaded) == "LLM claude (claude-sonnet-5): HTTP 529 after 2 retries: Overloaded"
    assert overloaded.concerns() == {"ticket_key": "DEMO-3", "provider": "claude"}
    refused = llm_failure(http_failure("openai", "gpt-5.4-mini", 401, "Incorrect API key", 0))
    assert type(refused) is PermanentJobError and refused.concerns() == {"provider": "openai"}
    invalid = LlmOutputError("openai", "gpt-5.4-mini", "the answer did not match", usage=Usage(1, 1, 0.0), attempts=2)
    assert type(llm_failure(invalid)) is PermanentJobError


async def test_a_missing_api_key_is_a_configuration_error() -> None:
    llm = Llm(load_settings(None))
    with pytest.raises(LlmConfigError) as raised:
        await llm.structured(CLAUDE, Prompt("system", "user"), GeneratedDescription)
    failure = llm_failure(raised.value)
    assert isinstance(failure, ConfigurationJobError) and http_status(type(failure)) == 500
    assert str(failure) == "LLM claude (claude-sonnet-5): ANTHROPIC_API_KEY is not set"


async def broken_template_service(aiohttp_client, nats_url: str, tmp_path) -> SandboxedService:
    (tmp_path / "describe.system.md").write_text("Describe the ticket.")
    (tmp_path / "describe.user.md").write_text("$ticket_key for $customer")  # no such placeholder
    return await start_sandboxed(aiohttp_client, nats_url, prompts={"projects": {"DEMO": str(tmp_path)}})


async def test_a_broken_prompt_template_fails_on_the_first_attempt_naming_it(
    aiohttp_client, nats_url: str, tmp_path
) -> None:
    sandboxed = await broken_template_service(aiohttp_client, nats_url, tmp_path)
    response = await sandboxed.client.post("/generate/single", json={"ticket_key": "DEMO-2"})
    assert response.status == 500
    reason = f"prompt template {tmp_path / 'describe.user.md'}: unknown placeholder $customer"
    assert await response.json() == {"detail": reason}
    job = await (await sandboxed.client.get(f"/jobs/{response.headers['X-Job-Id']}")).json()
    assert (job["status"], job["error"], job["error_status"]) == ("failed", reason, 500)
    assert (job["attempts"], job["failed_attempts"], job["deliveries"]) == (1, 0, 1)
    assert all(provider["requests"] == 0 for provider in (await sandboxed.llm_stats()).values())


async def test_a_broken_prompt_template_fails_a_batch_at_once(aiohttp_client, nats_url: str, tmp_path) -> None:
    sandboxed = await broken_template_service(aiohttp_client, nats_url, tmp_path)
    response = await sandboxed.client.post("/generate/batch", json={"jql": "project = DEMO ORDER BY key"})
    assert response.status == 202
    job = await wait_for_job(sandboxed.client, (await response.json())["job_id"], finished)
    assert job["status"] == "failed" and job["attempts"] == 1
    assert job["error"] == f"prompt template {tmp_path / 'describe.user.md'}: unknown placeholder $customer"


async def test_an_llm_that_keeps_failing_is_retried_then_fails_naming_it(aiohttp_client, nats_url: str) -> None:
    sandboxed = await start_sandboxed(aiohttp_client, nats_url, llm={"max_retries": 0})
    await sandboxed.llm_faults(error_rate=1)
    response = await sandboxed.client.post("/generate/single", json={"ticket_key": "DEMO-3", "llm_provider": "claude"})
    assert response.status == 502
    detail = (await response.json())["detail"]
    assert detail.startswith("LLM claude (claude-sonnet-5): HTTP 5")
    assert detail.endswith("(gave up after 3 attempts)")
    job = await (await sandboxed.client.get(f"/jobs/{response.headers['X-Job-Id']}")).json()
    assert (job["attempts"], job["failed_attempts"]) == (3, 3)
    assert (await sandboxed.llm_stats())["anthropic"]["requests"] == 3  # one call per attempt


async def test_an_llm_that_recovers_completes_on_the_next_attempt(aiohttp_client, nats_url: str) -> None:
    sandboxed = await start_sandboxed(
        aiohttp_client, nats_url, llm={"max_retries": 0}, limits={"retry_backoff_seconds": [2.0]}
    )
    await sandboxed.llm_faults(error_rate=1)
    response = await sandboxed.client.post(
        "/generate/single", json={"ticket_key": "DEMO-3", "llm_provider": "claude", "async_mode": True}
    )
    job_id = (await response.json())["job_id"]
    waiting = await wait_for_job(sandboxed.client, job_id, lambda job: job["failed_attempts"] == 1)
    assert waiting["status"] == "started" and waiting["error"].startswith("LLM claude (claude-sonnet-5): HTTP 5")
    await sandboxed.llm_faults(error_rate=0)
    job = await wait_for_job(sandboxed.client, job_id, finished)
    assert (job["status"], job["attempts"]) == ("completed", 2)


def test_a_job_error_reads_as_its_reason() -> None:
    error = JobError("Ticket DEMO-999 not found in Jira", ticket_key="DEMO-999", provider="jira")
    assert str(error) == error.reason == "Ticket DEMO-999 not found in Jira"
