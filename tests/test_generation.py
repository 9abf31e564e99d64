"""Description generation end to end: the service, the sandbox Jira/Confluence/LLMs, real clients."""

from __future__ import annotations

import asyncio
import json
import re
from importlib.resources import files

import pytest

from bot.app import create_app
from bot.formatting.jira_wiki import markdown_to_wiki
from tests.fixtures.nats import make_settings
from tests.fixtures.service import SANDBOXED, SandboxedService, eventually, finished, start_sandboxed, wait_for_job

PROVIDERS = ["openai", "claude", "gemini", "kimi"]


def issue_reads(requests: dict) -> int:
    return sum(
        count for route, count in requests["by_route"].items() if route.startswith("GET ") and "/issue/" in route
    )


def issue_writes(requests: dict) -> int:
    return sum(
        count for route, count in requests["by_route"].items() if route.startswith("PUT ") and "/issue/" in route
    )


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_preview_generates_and_writes_nothing(sandboxed: SandboxedService, provider: str) -> None:
    before = await sandboxed.description("DEMO-3")
    response = await sandboxed.client.post("/generate/single", json={"ticket_key": "DEMO-3", "llm_provider": provider})
    assert response.status == 200, await response.text()
    body = await response.json()

    assert body["ticket_key"] == "DEMO-3"
    assert body["success"] is True
    assert body["updated_in_jira"] is False
    assert body["llm_provider"] == provider
    assert body["generated_description"].startswith("## ")
    assert "[sandbox]" in body["generated_description"]  # the sandbox labels every answer
    assert body["description_wiki"] == markdown_to_wiki(body["generated_description"])
    assert body["description_wiki"].startswith("h2. ")
    assert body["usage"]["input_tokens"] > 0 and body["usage"]["output_tokens"] > 0

    assert await sandboxed.description("DEMO-3") == before
    assert issue_writes(await sandboxed.jira_requests()) == 0


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_update_writes_wiki_markup(sandboxed: SandboxedService, provider: str) -> None:
    response = await sandboxed.client.post(
        "/generate/single", json={"ticket_key": "DEMO-4", "update_jira": True, "llm_provider": provider}
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["updated_in_jira"] is True

    written = await sandboxed.description("DEMO-4")
    assert written == body["description_wiki"]
    assert re.search(r"^h2\. ", written, re.MULTILINE)
    assert "## " not in written and "**" not in written


async def test_the_job_records_plan_applied_operations_and_cost(sandboxed: SandboxedService) -> None:
    response = await sandboxed.client.post(
        "/generate/single", json={"ticket_key": "DEMO-5", "update_jira": True, "async_mode": True}
    )
    assert response.status == 202
    accepted = await response.json()
    assert accepted["jql"] == "" and accepted["max_results"] == 1 and accepted["update_jira"] is True
    job = await wait_for_job(sandboxed.client, accepted["job_id"], finished)

    assert job["status"] == "completed"
    assert [op["kind"] for op in job["plan"]] == ["update_fields"]
    assert job["plan"][0]["ticket_key"] == "DEMO-5"
    assert [entry["outcome"]["status"] for entry in job["applied"]] == ["applied"]
    assert job["usage"]["total_tokens"] > 0
    assert job["usage"]["cost_usd"] > 0  # the default model has a price in the defaults
    work = await (await sandboxed.client.get(f"/jobs/{job['job_id']}/tickets/DEMO-5")).json()
    assert work["draft"]["description_wiki"] == await sandboxed.description("DEMO-5")


async def test_project_prompts_replace_the_built_in_ones_and_get_the_epics_prd(
    aiohttp_client, nats_url: str, tmp_path
) -> None:
    # The sandbox LLM answers with words of the prompt; a prompt of nothing but the PRD
    # (found through DEMO-2's epic) makes the PRD's words show up in the description.
    (tmp_path / "describe.system.md").write_text("Describe the ticket.")
    (tmp_path / "describe.user.md").write_text("$prd")
    settings = make_settings(nats_url, sandbox=SANDBOXED, prompts={"projects": {"DEMO": str(tmp_path)}})
    client = await aiohttp_client(create_app(settings))
    response = await client.post("/generate/single", json={"ticket_key": "DEMO-2"})
    assert response.status == 200, await response.text()
    words = set(re.findall(r"[a-z][a-z0-9_]{2,}", (await response.json())["generated_description"].lower()))
    prd = (files("sandbox") / "data" / "prd-data-export.xml").read_text().lower()
    assert len(words) > 5
    assert {word for word in words if word not in prd} <= {"sandbox", "describe"}


async def test_a_ticket_changed_meanwhile_is_not_overwritten(sandboxed: SandboxedService) -> None:
    await sandboxed.llm_faults(latency_ms=800)
    reads_before = issue_reads(await sandboxed.jira_requests())
    response = await sandboxed.client.post(
        "/generate/single", json={"ticket_key": "DEMO-6", "update_jira": True, "async_mode": True}
    )
    job_id = (await response.json())["job_id"]

    # The person edits once the job has read the ticket, while it waits for the LLM.
    async def ticket_read() -> bool:
        return issue_reads(await sandboxed.jira_requests()) > reads_before

    await eventually(ticket_read, "the job read DEMO-6")
    await sandboxed.jira("PUT", "/rest/api/2/issue/DEMO-6", json={"fields": {"description": "Written by a person"}})

    job = await wait_for_job(sandboxed.client, job_id, finished)
    assert job["result"]["updated_in_jira"] is False
    assert job["result"]["success"] is False
    assert "changed in Jira while its description was being generated" in job["result"]["message"]
    assert [entry["outcome"]["status"] for entry in job["applied"]] == ["conflict"]
    assert await sandboxed.description("DEMO-6") == "Written by a person"


async def test_the_job_record_keeps_a_fingerprint_of_the_old_description_not_the_text(
    sandboxed: SandboxedService,
) -> None:
    old = "Internal: the signing key for payroll lives in vault path secret/payroll, ask Dana."
    await sandboxed.jira("PUT", "/rest/api/2/issue/DEMO-6", json={"fields": {"description": old}})
    response = await sandboxed.client.post("/generate/single", json={"ticket_key": "DEMO-6"})
    assert response.status == 200, await response.text()

    job = await (await sandboxed.client.get("/jobs/ticket/DEMO-6")).json()
    work = await (await sandboxed.client.get(f"/jobs/{job['job_id']}/tickets/DEMO-6")).json()
    for shown in (job, work):
        assert "secret/payroll" not in json.dumps(shown["plan"])
    assert set(job["plan"][0]["payload"]) == {"fields", "expect_sha256"}


async def test_unknown_ticket_is_404(sandboxed: SandboxedService) -> None:
    response = await sandboxed.client.post("/generate/single", json={"ticket_key": "DEMO-999"})
    assert response.status == 404
    assert await response.json() == {"detail": "Ticket DEMO-999 not found in Jira"}


async def test_invalid_model_choice_is_422_naming_the_field(sandboxed: SandboxedService) -> None:
    response = await sandboxed.client.post(
        "/generate/single", json={"ticket_key": "DEMO-2", "llm_provider": "openai", "llm_model": "claude-opus-4-1"}
    )
    assert response.status == 422
    error = (await response.json())["detail"][0]
    assert error["loc"] == ["body", "llm_model"]
    assert "not available for provider 'openai'" in error["msg"]
    assert (await (await sandboxed.client.get("/jobs")).json())["total"] == 0


async def test_a_duplicate_request_for_a_ticket_at_work_is_409(sandboxed: SandboxedService) -> None:
    await sandboxed.llm_faults(latency_ms=1000)
    first = await sandboxed.client.post("/generate/single", json={"ticket_key": "DEMO-7", "async_mode": True})
    job_id = (await first.json())["job_id"]
    second = await sandboxed.client.post("/generate/single", json={"ticket_key": "DEMO-7"})
    assert second.status == 409
    assert second.headers["X-Active-Job-Id"] == job_id


async def test_malformed_llm_output_is_retried_then_fails_clearly(sandboxed: SandboxedService) -> None:
    await sandboxed.llm_faults(malformed_rate=1)
    response = await sandboxed.client.post("/generate/single", json={"ticket_key": "DEMO-3", "update_jira": True})
    assert response.status == 502
    detail = (await response.json())["detail"]
    assert detail.startswith(
        "LLM openai (gpt-5.4-mini): the answer did not match GeneratedDescription after 2 attempts"
    )
    assert (await sandboxed.llm_stats())["openai"]["requests"] == 2
    job = await (await sandboxed.client.get(f"/jobs/{response.headers['X-Job-Id']}")).json()
    assert job["status"] == "failed"
    assert job["usage"]["total_tokens"] > 0  # the spent tokens are still accounted for
    assert issue_writes(await sandboxed.jira_requests()) == 0


async def test_an_llm_that_keeps_failing_is_a_502_naming_it(aiohttp_client, nats_url: str) -> None:
    # Few retries, so the failure comes well inside the sync timeout.
    sandboxed = await start_sandboxed(aiohttp_client, nats_url, llm={"max_retries": 1})
    await sandboxed.llm_faults(error_rate=1)
    response = await sandboxed.client.post("/generate/single", json={"ticket_key": "DEMO-3", "llm_provider": "claude"})
    assert response.status == 502
    assert (await response.json())["detail"].startswith("LLM claude (claude-sonnet-5): HTTP 5")


async def create_tickets(sandboxed: SandboxedService, count: int, label: str) -> list[str]:
    keys = []
    for number in range(count):
        fields = {
            "project": {"key": "DEMO"},
            "issuetype": {"name": "Story"},
            "summary": f"Generated story {number}",
            "labels": [label],
            "parent": {"key": "DEMO-1"},
        }
        keys.append((await sandboxed.jira("POST", "/rest/api/2/issue", json={"fields": fields}))["key"])
    return keys


async def test_a_batch_of_200_completes_through_429s_and_5xx(sandboxed: SandboxedService) -> None:
    keys = await create_tickets(sandboxed, 200, "bulk")
    sandboxed.sandbox.set_faults(rate_limit_rate=0.1, server_error_rate=0.05, retry_after_seconds=0)
    await sandboxed.llm_faults(rate_limit_rate=0.1, error_rate=0.05, retry_after_s=0)
    response = await sandboxed.client.post(
        "/generate/batch", json={"jql": "labels = bulk ORDER BY key", "max_results": 500, "update_jira": True}
    )
    assert response.status == 202
    accepted = await response.json()
    assert accepted["message"] == "Batch processing started in UPDATE mode"
    job = await wait_for_job(sandboxed.client, accepted["job_id"], finished, timeout=120)

    assert job["status"] == "completed", job["error"]
    counts = [job[f"{count}_tickets"] for count in ("processed", "successful", "failed", "skipped")]
    assert counts == [200, 200, 0, 0], [outcome["error"] for outcome in job["result"] if not outcome["success"]]
    assert sorted(outcome["ticket_key"] for outcome in job["result"]) == sorted(keys)
    assert all(outcome["updated_in_jira"] for outcome in job["result"])
    assert job["progress"]["processed"] == job["progress"]["total"] == 200

    requests = await sandboxed.jira_requests()
    assert requests["by_status"].get("429", 0) > 0 and any(s.startswith("5") for s in requests["by_status"])
    llm = (await sandboxed.llm_stats())["openai"]["by_status"]
    assert llm.get("429", 0) > 0 and (llm.get("500", 0) + llm.get("503", 0)) > 0
    sandboxed.sandbox.set_faults(rate_limit_rate=0, server_error_rate=0)
    assert (
        await sandboxed.description(keys[0])
        == (await (await sandboxed.client.get(f"/jobs/{job['job_id']}/tickets/{keys[0]}")).json())["draft"][
            "description_wiki"
        ]
    )


async def test_a_batch_skips_tickets_another_job_holds(sandboxed: SandboxedService) -> None:
    await sandboxed.llm_faults(latency_ms=300)
    holder = await sandboxed.client.post("/generate/single", json={"ticket_key": "DEMO-2", "async_mode": True})
    holder_id = (await holder.json())["job_id"]
    response = await sandboxed.client.post("/generate/batch", json={"jql": "key in (DEMO-2, DEMO-3)"})
    job = await wait_for_job(sandboxed.client, (await response.json())["job_id"], finished, timeout=60)
    outcomes = {outcome["ticket_key"]: outcome for outcome in job["result"]}
    assert outcomes["DEMO-2"]["skipped"] is True
    assert outcomes["DEMO-2"]["error"] == f"Ticket DEMO-2 is already being processed in job {holder_id}"
    assert outcomes["DEMO-3"]["success"] is True
    assert (job["successful_tickets"], job["skipped_tickets"]) == (1, 1)


async def test_a_cancelled_batch_stops_between_tickets(sandboxed: SandboxedService) -> None:
    await create_tickets(sandboxed, 60, "slow")
    await sandboxed.llm_faults(latency_ms=200)
    response = await sandboxed.client.post("/generate/batch", json={"jql": "labels = slow", "max_results": 60})
    job_id = (await response.json())["job_id"]
    await wait_for_job(sandboxed.client, job_id, lambda job: (job["progress"]["processed"] or 0) >= 2)

    assert (await sandboxed.client.delete(f"/jobs/{job_id}")).status == 200
    job = await wait_for_job(sandboxed.client, job_id, finished)
    assert job["status"] == "cancelled"
    await asyncio.sleep(1.0)  # anything still under way would have finished by now
    settled = await (await sandboxed.client.get(f"/jobs/{job_id}")).json()
    processed = settled["processed_tickets"]
    assert 2 <= processed < 60 and len(settled["result"]) == processed
    assert settled["progress"]["processed"] == processed == settled["successful_tickets"]


async def test_invalid_jql_is_422_with_jiras_message(sandboxed: SandboxedService) -> None:
    response = await sandboxed.client.post("/generate/batch", json={"jql": "project = = DEMO"})
    assert response.status == 422
    error = (await response.json())["detail"][0]
    assert error["loc"] == ["body", "jql"]
    assert error["msg"].startswith("Error in the JQL Query:")
    unknown = await sandboxed.client.post("/generate/batch", json={"jql": "project = NOPE"})
    assert (await unknown.json())["detail"][0]["msg"] == "The value 'NOPE' does not exist for the field 'project'."
    assert (await (await sandboxed.client.get("/jobs")).json())["total"] == 0
