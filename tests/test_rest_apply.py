"""`POST /jobs/{job_id}/apply`: approving a stored preview, single or batch, over REST, once."""

from __future__ import annotations

import asyncio

from tests.fixtures.service import SandboxedService, finished, wait_for_job

ZERO_JOB = "00000000-0000-0000-0000-000000000000"


def issue_writes(requests: dict) -> int:
    return sum(
        count for route, count in requests["by_route"].items() if route.startswith("PUT ") and "/issue/" in route
    )


async def preview(sandboxed: SandboxedService, key: str) -> dict:
    response = await sandboxed.client.post("/generate/single", json={"ticket_key": key})
    assert response.status == 200, await response.text()
    return await (await sandboxed.client.get(f"/jobs/ticket/{key}")).json()


async def test_a_single_preview_is_written_as_previewed_exactly_once(sandboxed: SandboxedService) -> None:
    before = await sandboxed.description("DEMO-3")
    source = await preview(sandboxed, "DEMO-3")
    assert await sandboxed.description("DEMO-3") == before
    writes_before = issue_writes(await sandboxed.jira_requests())

    response = await sandboxed.client.post(f"/jobs/{source['job_id']}/apply")  # the body may be left out
    assert response.status == 200, await response.text()
    result = await response.json()
    assert (result["outcome"], result["ticket_key"]) == ("applied", "DEMO-3")
    assert result["tickets"] == [{"ticket_key": "DEMO-3", "outcome": "applied", "changed_fields": []}]
    assert await sandboxed.description("DEMO-3") == source["result"]["description_wiki"]

    # The apply job's record shows the operation; the preview names its apply job.
    apply_job = await (await sandboxed.client.get("/jobs/ticket/DEMO-3")).json()
    assert apply_job["job_type"] == "apply"
    assert [(entry["op_id"], entry["outcome"]["status"]) for entry in apply_job["applied"]] == [
        ("describe:DEMO-3", "applied")
    ]
    assert (await (await sandboxed.client.get(f"/jobs/{source['job_id']}")).json())["applied_by"] == apply_job["job_id"]

    again = await sandboxed.client.post(f"/jobs/{source['job_id']}/apply", json={})
    assert again.status == 409
    assert again.headers["X-Applied-By"] == apply_job["job_id"]
    assert (await again.json())["detail"] == (
        f"The plan of job {source['job_id']} is already applied by job {apply_job['job_id']}"
    )
    assert issue_writes(await sandboxed.jira_requests()) - writes_before == 1


async def test_a_batch_preview_is_written_once_per_ticket_and_a_changed_ticket_is_kept(
    sandboxed: SandboxedService,
) -> None:
    response = await sandboxed.client.post("/generate/batch", json={"jql": "key in (DEMO-2, DEMO-3, DEMO-4)"})
    batch = await wait_for_job(sandboxed.client, (await response.json())["job_id"], finished, timeout=60)
    assert batch["status"] == "completed" and batch["successful_tickets"] == 3
    batch_id = batch["job_id"]
    await sandboxed.jira("PUT", "/rest/api/2/issue/DEMO-4", json={"fields": {"description": "Edited by a person"}})
    writes_before = issue_writes(await sandboxed.jira_requests())

    response = await sandboxed.client.post(f"/jobs/{batch_id}/apply", json={})
    assert response.status == 200, await response.text()
    result = await response.json()
    assert result["outcome"] == "conflict"
    assert result["ticket_key"] is None
    assert {line["ticket_key"]: line["outcome"] for line in result["tickets"]} == {
        "DEMO-2": "applied",
        "DEMO-3": "applied",
        "DEMO-4": "conflict",
    }
    assert (result["applied_tickets"], result["already_applied_tickets"], result["conflict_tickets"]) == (2, 0, 1)
    assert "(DEMO-4)" in result["message"]
    for key in ("DEMO-2", "DEMO-3"):
        work = await (await sandboxed.client.get(f"/jobs/{batch_id}/tickets/{key}")).json()
        assert await sandboxed.description(key) == work["draft"]["description_wiki"]
    assert await sandboxed.description("DEMO-4") == "Edited by a person"
    assert issue_writes(await sandboxed.jira_requests()) - writes_before == 2

    apply_job = await (await sandboxed.client.get("/jobs?job_type=apply")).json()
    record = await (await sandboxed.client.get(f"/jobs/{apply_job['jobs'][0]['job_id']}")).json()
    assert (record["progress"]["processed"], record["progress"]["total"]) == (3, 3)
    assert record["ticket_keys"] == ["DEMO-2", "DEMO-3", "DEMO-4"]

    again = await sandboxed.client.post(f"/jobs/{batch_id}/apply", json={})
    assert again.status == 409
    assert again.headers["X-Applied-By"] == record["job_id"]
    assert issue_writes(await sandboxed.jira_requests()) - writes_before == 2


async def test_async_mode_answers_202_then_the_job_completes(sandboxed: SandboxedService) -> None:
    source = await preview(sandboxed, "DEMO-5")
    response = await sandboxed.client.post(f"/jobs/{source['job_id']}/apply", json={"async_mode": True})
    assert response.status == 202, await response.text()
    accepted = await response.json()
    assert response.headers["Location"] == accepted["status_url"] == f"/jobs/{accepted['job_id']}"
    job = await wait_for_job(sandboxed.client, accepted["job_id"], finished)
    assert job["status"] == "completed"
    assert job["result"]["outcome"] == "applied"
    assert await sandboxed.description("DEMO-5") == source["result"]["description_wiki"]


async def test_only_a_finished_preview_can_be_applied(sandboxed: SandboxedService) -> None:
    running = await sandboxed.client.post(
        "/diagnostics/ping", json={"steps": 200, "step_seconds": 0.1, "async_mode": True}
    )
    running_id = (await running.json())["job_id"]
    response = await sandboxed.client.post(f"/jobs/{running_id}/apply", json={})
    assert response.status == 409
    assert (await response.json())["detail"].startswith(f"Job {running_id} is still ")
    assert (await sandboxed.client.delete(f"/jobs/{running_id}")).status == 200

    failed = await sandboxed.client.post("/generate/single", json={"ticket_key": "DEMO-999"})
    assert failed.status == 404
    failed_id = failed.headers["X-Job-Id"]
    response = await sandboxed.client.post(f"/jobs/{failed_id}/apply", json={})
    assert response.status == 409
    assert await response.json() == {"detail": f"Job {failed_id} failed; it has no plan to apply"}

    written = await sandboxed.client.post("/generate/single", json={"ticket_key": "DEMO-6", "update_jira": True})
    assert written.status == 200
    written_id = (await (await sandboxed.client.get("/jobs/ticket/DEMO-6")).json())["job_id"]
    response = await sandboxed.client.post(f"/jobs/{written_id}/apply", json={})
    assert response.status == 409
    assert "update_jira was true" in (await response.json())["detail"]
    assert [job["job_type"] for job in await sandboxed.jobs()].count("apply") == 0


async def test_a_ticket_held_by_another_job_is_409_naming_it(sandboxed: SandboxedService) -> None:
    source = await preview(sandboxed, "DEMO-7")
    holder = await sandboxed.client.post(
        "/diagnostics/ping", json={"ticket_key": "DEMO-7", "steps": 200, "step_seconds": 0.1, "async_mode": True}
    )
    holder_id = (await holder.json())["job_id"]
    response = await sandboxed.client.post(f"/jobs/{source['job_id']}/apply", json={})
    assert response.status == 409
    assert response.headers["X-Active-Job-Id"] == holder_id
    assert (await sandboxed.client.delete(f"/jobs/{holder_id}")).status == 200

    # Nothing was claimed: once the ticket is free the preview applies.
    await wait_for_job(sandboxed.client, holder_id, finished)
    response = await sandboxed.client.post(f"/jobs/{source['job_id']}/apply", json={})
    assert response.status == 200, await response.text()


async def test_unknown_job_is_404_and_a_bad_id_422(sandboxed: SandboxedService) -> None:
    response = await sandboxed.client.post(f"/jobs/{ZERO_JOB}/apply", json={})
    assert response.status == 404
    assert await response.json() == {"detail": f"Job {ZERO_JOB} not found"}

    response = await sandboxed.client.post("/jobs/not-a-job/apply", json={})
    assert response.status == 422
    assert (await response.json())["detail"][0]["loc"] == ["path", "job_id"]

    response = await sandboxed.client.post(f"/jobs/{ZERO_JOB}/apply", json={"async_mode": 1, "ticket_keys": []})
    assert response.status == 422
    assert sorted(error["loc"][1] for error in (await response.json())["detail"]) == ["async_mode", "ticket_keys"]


async def test_chosen_operations_of_a_preview_are_written_and_the_approval_is_recorded(
    sandboxed: SandboxedService,
) -> None:
    response = await sandboxed.client.post("/plan/stories/sync-from-prd", json={"epic_key": "DEMO-1"})
    assert response.status == 200, await response.text()
    source = await (await sandboxed.client.get("/jobs/ticket/DEMO-1")).json()
    creates = [op for op in source["plan"] if op["kind"] == "create_issue"]
    assert len(creates) >= 3
    chosen = [creates[0]["op_id"], creates[2]["op_id"]]

    unknown = await sandboxed.client.post(f"/jobs/{source['job_id']}/apply", json={"operations": ["nope"]})
    assert unknown.status == 422
    assert (await unknown.json())["detail"][0]["loc"] == ["body", "operations"]

    response = await sandboxed.client.post(f"/jobs/{source['job_id']}/apply", json={"operations": chosen})
    assert response.status == 200, await response.text()
    result = await response.json()
    assert result["approved_by"] == "api"
    assert [entry["op_id"] for entry in result["operations"]] == chosen
    stories = await sandboxed.jira("GET", "/rest/api/2/search/jql?jql=parent%20%3D%20DEMO-1&fields=summary")
    summaries = {issue["fields"]["summary"] for issue in stories["issues"]}
    assert {op["payload"]["fields"]["summary"] for op in creates} & summaries == {
        creates[0]["payload"]["fields"]["summary"],
        creates[2]["payload"]["fields"]["summary"],
    }
    claimed = await (await sandboxed.client.get(f"/jobs/{source['job_id']}")).json()
    assert (claimed["approved_by"], claimed["approved_operations"]) == ("api", chosen)


async def test_an_operation_on_an_issue_the_plan_creates_needs_that_create(sandboxed: SandboxedService) -> None:
    response = await sandboxed.client.post(
        "/jira/create-ticket",
        json={
            "parent_key": "DEMO-1",
            "story_key": "DEMO-2",
            "summary": "Chosen task",
            "description": "A task.",
            "blocks": ["DEMO-3"],
        },
    )
    assert response.status == 200, await response.text()
    source = await (await sandboxed.client.get("/jobs/ticket/DEMO-2")).json()
    link = next(op["op_id"] for op in source["plan"] if op["kind"] == "link_issues")
    response = await sandboxed.client.post(f"/jobs/{source['job_id']}/apply", json={"operations": [link]})
    assert response.status == 422
    error = (await response.json())["detail"][0]
    assert error["loc"] == ["body", "operations"] and "select create too" in error["msg"]


async def test_chosen_tickets_of_a_batch_preview_are_written(sandboxed: SandboxedService) -> None:
    response = await sandboxed.client.post("/generate/batch", json={"jql": "key in (DEMO-8, DEMO-9)"})
    batch = await wait_for_job(sandboxed.client, (await response.json())["job_id"], finished, timeout=60)
    assert batch["status"] == "completed"
    before = await sandboxed.description("DEMO-9")
    wrong = await sandboxed.client.post(f"/jobs/{batch['job_id']}/apply", json={"ticket_keys": ["DEMO-3"]})
    assert wrong.status == 422
    assert (await wrong.json())["detail"][0]["loc"] == ["body", "ticket_keys"]

    response = await sandboxed.client.post(f"/jobs/{batch['job_id']}/apply", json={"ticket_keys": ["DEMO-8"]})
    assert response.status == 200, await response.text()
    assert [line["ticket_key"] for line in (await response.json())["tickets"]] == ["DEMO-8"]
    work = await (await sandboxed.client.get(f"/jobs/{batch['job_id']}/tickets/DEMO-8")).json()
    assert await sandboxed.description("DEMO-8") == work["draft"]["description_wiki"]
    assert await sandboxed.description("DEMO-9") == before


async def test_a_discarded_preview_answers_409_to_apply_and_names_who_discarded_it(sandboxed: SandboxedService) -> None:
    source = await preview(sandboxed, "DEMO-3")
    before = await sandboxed.description("DEMO-3")
    response = await sandboxed.client.post(f"/jobs/{source['job_id']}/discard")
    assert response.status == 200, await response.text()
    discarded = await response.json()
    assert (discarded["job_id"], discarded["discarded_by"]) == (source["job_id"], "api")
    record = await (await sandboxed.client.get(f"/jobs/{source['job_id']}")).json()
    assert (record["discarded_by"], record["discarded_at"]) == ("api", discarded["discarded_at"])

    response = await sandboxed.client.post(f"/jobs/{source['job_id']}/apply", json={})
    assert response.status == 409
    assert (await response.json())["detail"].startswith(f"The preview of job {source['job_id']} was discarded by api")
    again = await sandboxed.client.post(f"/jobs/{source['job_id']}/discard")
    assert again.status == 409
    assert await sandboxed.description("DEMO-3") == before
    assert [job["job_type"] for job in await sandboxed.jobs()].count("apply") == 0


async def test_an_applied_preview_cannot_be_discarded_nor_a_job_that_is_no_preview(sandboxed: SandboxedService) -> None:
    source = await preview(sandboxed, "DEMO-4")
    assert (await sandboxed.client.post(f"/jobs/{source['job_id']}/apply")).status == 200
    response = await sandboxed.client.post(f"/jobs/{source['job_id']}/discard")
    assert response.status == 409
    assert "already applied by job" in (await response.json())["detail"]
    assert response.headers["X-Applied-By"]
    assert "discarded_by" not in await (await sandboxed.client.get(f"/jobs/{source['job_id']}")).json()

    response = await sandboxed.client.post(f"/jobs/{ZERO_JOB}/discard")
    assert response.status == 404
    ping = await sandboxed.client.post("/diagnostics/ping", json={})
    assert ping.status == 200, await ping.text()
    ping_id = (await sandboxed.jobs())[0]["job_id"]
    response = await sandboxed.client.post(f"/jobs/{ping_id}/discard")
    assert response.status == 409
    assert await response.json() == {"detail": f"Job {ping_id} has no plan to discard"}


async def test_apply_and_discard_racing_never_both_win(sandboxed: SandboxedService) -> None:
    source = await preview(sandboxed, "DEMO-5")
    applying, discarding = await asyncio.gather(
        sandboxed.client.post(f"/jobs/{source['job_id']}/apply", json={"async_mode": True}),
        sandboxed.client.post(f"/jobs/{source['job_id']}/discard"),
    )
    assert applying.status in (202, 409) and discarding.status in (200, 409)
    if applying.status == 202:
        job = await wait_for_job(sandboxed.client, (await applying.json())["job_id"], finished)
        applied = job["result"]["outcome"] == "applied"
        assert applied or job["result"]["outcome"] == "discarded"
    else:
        applied = False
    record = await (await sandboxed.client.get(f"/jobs/{source['job_id']}")).json()
    assert (record.get("applied_by") is not None) is applied
    assert (record.get("discarded_by") is not None) is (discarding.status == 200)
    assert applied is not (discarding.status == 200)  # exactly one of them won
    assert (await sandboxed.description("DEMO-5") == source["result"]["description_wiki"]) is applied
