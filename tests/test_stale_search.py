"""A batch while Jira's search lags: a ticket a person described after the search saw it
empty is left alone, the others are written."""

from __future__ import annotations

from tests.fixtures.service import SandboxedService, finished, wait_for_job

PERSONS_TEXT = "h2. Purpose\nWritten by a person a moment ago."


async def create_stories(sandboxed: SandboxedService, count: int) -> list[str]:
    keys = []
    for number in range(count):
        fields = {
            "project": {"key": "DEMO"},
            "issuetype": {"name": "Story"},
            "summary": f"Lagging story {number}",
            "labels": ["stale"],
            "parent": {"key": "DEMO-1"},
        }
        keys.append((await sandboxed.jira("POST", "/rest/api/2/issue", json={"fields": fields}))["key"])
    return keys


async def test_a_ticket_described_after_the_search_saw_it_is_left_alone(sandboxed: SandboxedService) -> None:
    keys = await create_stories(sandboxed, 3)
    sandboxed.sandbox.set_faults(search_lag_ms=60_000)
    # A second later a person describes the middle one; the search still shows it empty.
    await sandboxed.jira("PUT", "/_sandbox/clock", json={"offset_seconds": 1})
    await sandboxed.jira("PUT", f"/rest/api/2/issue/{keys[1]}", json={"fields": {"description": PERSONS_TEXT}})
    query = "labels = stale AND description is EMPTY ORDER BY key"
    found = await sandboxed.jira("GET", "/rest/api/2/search/jql", params={"jql": query, "fields": "key"})
    assert [issue["key"] for issue in found["issues"]] == keys  # the index lags

    response = await sandboxed.client.post("/generate/batch", json={"jql": query, "update_jira": True})
    assert response.status == 202, await response.text()
    job = await wait_for_job(sandboxed.client, (await response.json())["job_id"], finished, timeout=60)

    assert job["status"] == "completed", job["error"]
    outcomes = {outcome["ticket_key"]: outcome for outcome in job["result"]}
    left = outcomes[keys[1]]
    assert left["skipped"] is True and left["updated_in_jira"] is False
    assert left["error"] == (
        f"{keys[1]} was changed after the search found it (Jira's search lags) and now has a description; "
        "it was left alone"
    )
    assert await sandboxed.description(keys[1]) == PERSONS_TEXT
    for key in (keys[0], keys[2]):
        assert outcomes[key]["updated_in_jira"] is True, outcomes[key]
        assert (await sandboxed.description(key) or "").strip()
    assert (job["successful_tickets"], job["skipped_tickets"]) == (2, 1)
    drafted = await sandboxed.client.get(f"/jobs/{job['job_id']}/tickets/{keys[1]}")
    assert drafted.status == 404  # not drafted: no LLM call was spent on it
