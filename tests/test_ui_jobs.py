"""The jobs pages: the list and its filters, one job whole, cancel, and the live stream."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser

from bot.jobs.watch import MAX_LISTENERS, JobWatch, ListenerEnd, TooManyListenersError
from bot.services import SERVICES
from schemas.jobs import JobRecord, JobType
from tests.fixtures.browser import open_page, screenshot
from tests.fixtures.service import SandboxedService, finished, start_sandboxed, wait_for_job

HX = {"HX-Request": "true"}


async def html_of(client: TestClient, path: str, status: int = 200) -> str:
    response = await client.get(path)
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == "text/html"
    return html.unescape(text)


def row_of(page: str, job_id: str) -> str | None:
    found = re.search(rf'<tr id="job-{job_id}".*?</tr>', page, re.DOTALL)
    return found.group(0) if found else None


async def single(sandboxed: SandboxedService, ticket_key: str, *, wait: bool = True) -> tuple[str, str]:
    """A one-ticket preview job: its id, and its status once finished (`wait`) or as queued."""
    response = await sandboxed.client.post("/generate/single", json={"ticket_key": ticket_key, "async_mode": True})
    assert response.status == 202, await response.text()
    job_id = (await response.json())["job_id"]
    if not wait:
        return "started", job_id
    return (await wait_for_job(sandboxed.client, job_id, finished))["status"], job_id


async def next_event(response: aiohttp.ClientResponse, wanted: Callable[[str, str], bool]) -> tuple[str, str]:
    """The first server-sent event `wanted(name, data)` accepts; the test's timeout bounds it."""
    name, data = "", []
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data.append(line.removeprefix("data: "))
        elif not line:
            if name and wanted(name, "\n".join(data)):
                return name, "\n".join(data)
            name, data = "", []
    raise AssertionError("the stream ended before the event came")


async def test_the_list_shows_each_jobs_row_and_every_filter_narrows_it(sandboxed: SandboxedService) -> None:
    status, drafted = await single(sandboxed, "DEMO-3")
    assert status == "completed"
    status, missing = await single(sandboxed, "DEMO-999")
    assert status == "failed"
    record = await (await sandboxed.client.get(f"/jobs/{drafted}")).json()

    everything = await html_of(sandboxed.client, "/ui/jobs")
    row = row_of(everything, drafted)
    assert row is not None and row_of(everything, missing) is not None
    assert ">single<" in row and ">completed<" in row and "DEMO-3" in row
    assert f">{record['usage']['total_tokens']:,}<" in row and record["usage"]["total_tokens"] > 0
    assert f'href="/ui/jobs/{drafted}"' in row and "<progress" in row

    failed = await html_of(sandboxed.client, "/ui/jobs?status=failed&job_type=&ticket=")
    assert row_of(failed, missing) is not None and row_of(failed, drafted) is None
    batches = await html_of(sandboxed.client, "/ui/jobs?job_type=batch")
    assert row_of(batches, missing) is None and row_of(batches, drafted) is None
    assert "No job matches these filters yet." in batches
    on_ticket = await html_of(sandboxed.client, "/ui/jobs?ticket=demo-3")
    assert row_of(on_ticket, drafted) is not None and row_of(on_ticket, missing) is None
    assert 'value="demo-3"' in on_ticket  # the form keeps what was asked

    bad_ticket = await html_of(sandboxed.client, "/ui/jobs?ticket=not+a+key", status=422)
    assert "Ticket: give a Jira key such as DEMO-3" in bad_ticket and row_of(bad_ticket, drafted) is None
    assert 'value="not a key"' in bad_ticket
    bad_status = await html_of(sandboxed.client, "/ui/jobs?status=sleeping", status=422)
    assert "Status: choose one from the list" in bad_status
    bad_cursor = await html_of(sandboxed.client, "/ui/jobs?cursor=nonsense", status=422)
    assert "start again from the newest jobs" in bad_cursor


async def test_older_jobs_are_a_link_away_and_a_tickets_jobs_page_too(sandboxed: SandboxedService) -> None:
    runtime = sandboxed.client.app[SERVICES].runtime
    ids = [str(uuid.uuid4()) for _ in range(55)]
    for job_id in ids:
        await runtime.store.create(JobRecord(job_id=job_id, job_type=JobType.ping, ticket_keys=["DEMO-1"]))
    jobs = sandboxed.client.app[SERVICES].jobs
    await asyncio.wait_for(_indexed(jobs, len(ids)), 20)

    for query in ("", "?ticket=DEMO-1"):
        first = await html_of(sandboxed.client, f"/ui/jobs{query}")
        assert "55 jobs" in first and first.count('<tr id="job-') == 50
        older = re.search(r'href="(/ui/jobs\?[^"]*cursor=[^"]+)" rel="next">Older jobs', first)
        assert older is not None, first
        second = await html_of(sandboxed.client, older.group(1))
        assert second.count('<tr id="job-') == 5 and "Older jobs" not in second and "Newest jobs" in second
        assert set(re.findall(r'<tr id="job-([0-9a-f-]+)"', first + second)) == set(ids)


async def _indexed(jobs: Any, count: int) -> None:
    while (await jobs.records(limit=1)).total < count:
        await asyncio.sleep(0.05)


async def test_a_job_page_shows_the_plan_the_request_and_the_error(sandboxed: SandboxedService) -> None:
    _, drafted = await single(sandboxed, "DEMO-3")
    _, missing = await single(sandboxed, "DEMO-999")

    page = await html_of(sandboxed.client, f"/ui/jobs/{drafted}")
    assert '<h2 id="job-plan-heading">Plan</h2>' in page
    assert re.search(r"<code>describe:DEMO-3</code></th><td>update_fields</td><td>DEMO-3</td><td>set description", page)
    assert '"ticket_key": "DEMO-3"' in page  # the request, as formatted JSON
    assert f'href="/ui/previews/{drafted}">Review preview' in page
    assert "Cancel this job" not in page  # finished

    failed = await html_of(sandboxed.client, f"/ui/jobs/{missing}")
    error = (await (await sandboxed.client.get(f"/jobs/{missing}")).json())["error"]
    assert "DEMO-999" in error and error in failed and ">failed<" in failed
    assert "Review preview" not in failed

    unknown = await html_of(sandboxed.client, f"/ui/jobs/{uuid.uuid4()}", status=404)
    assert "No such job" in unknown
    assert "No such job" in await html_of(sandboxed.client, "/ui/jobs/not-a-job", status=404)


async def test_cancel_comes_only_from_the_dashboard_and_cancels_once(sandboxed: SandboxedService) -> None:
    await sandboxed.llm_faults(latency_ms=3000)
    _, job_id = await single(sandboxed, "DEMO-4", wait=False)
    assert "Cancel this job" in await html_of(sandboxed.client, f"/ui/jobs/{job_id}")

    refused = await sandboxed.client.post(f"/ui/jobs/{job_id}/cancel")
    assert refused.status == 403
    assert (await (await sandboxed.client.get(f"/jobs/{job_id}")).json())["status"] != "cancelled"

    cancelled = await sandboxed.client.post(f"/ui/jobs/{job_id}/cancel", headers=HX)
    body = await cancelled.text()
    assert cancelled.status == 200, body
    assert ">cancelled<" in body and "Cancel this job" not in body and "<html" not in body
    assert (await (await sandboxed.client.get(f"/jobs/{job_id}")).json())["status"] == "cancelled"
    again = await sandboxed.client.post(f"/ui/jobs/{job_id}/cancel", headers=HX)
    assert again.status == 409
    assert (await again.json())["detail"] == "This job already cancelled; there is nothing to cancel"
    await sandboxed.llm_faults(latency_ms=0)


async def test_the_stream_sends_the_row_of_each_job_that_changes(sandboxed: SandboxedService) -> None:
    client = sandboxed.client
    async with client.get("/ui/jobs/stream?job_type=single") as rows:
        assert rows.status == 200 and rows.content_type == "text/event-stream"
        _, job_id = await single(sandboxed, "DEMO-3", wait=False)
        async with client.get(f"/ui/jobs/stream?job={job_id}") as one:
            _, row = await next_event(rows, lambda name, data: f"job-{job_id}" in data and ">completed<" in data)
            assert row.startswith(f'<tr id="job-{job_id}"') and "DEMO-3" in row
            _, body = await next_event(one, lambda name, data: ">completed<" in data)
            assert "Plan" in body and "describe:DEMO-3" in body
    assert (await client.get("/ui/jobs/stream?ticket=nope")).status == 422


async def test_a_stream_opened_after_a_change_starts_with_what_the_page_missed(sandboxed: SandboxedService) -> None:
    """A job can end between a page's rendering and its stream's start: the stream begins with it."""
    client = sandboxed.client
    rendered = datetime.now(UTC).isoformat()
    _, job_id = await single(sandboxed, "DEMO-3")  # completed before any stream is open
    async with client.get(f"/ui/jobs/stream?job={job_id}") as one:
        _, body = await next_event(one, lambda name, data: ">completed<" in data)
        assert "describe:DEMO-3" in body
    async with client.get("/ui/jobs/stream", params={"job_type": "single", "since": rendered}) as rows:
        _, row = await next_event(rows, lambda name, data: f"job-{job_id}" in data)
        assert ">completed<" in row


async def test_streams_are_bounded_per_process(sandboxed: SandboxedService) -> None:
    jobs = sandboxed.client.app[SERVICES].jobs
    with ExitStack() as held:
        for _ in range(MAX_LISTENERS):
            held.enter_context(jobs.following())
        refused = await sandboxed.client.get("/ui/jobs/stream")
        assert refused.status == 503 and "Retry-After" in refused.headers
    async with sandboxed.client.get("/ui/jobs/stream") as accepted:
        assert accepted.status == 200


async def test_a_listener_that_falls_behind_is_ended_and_the_others_go_on(sandboxed: SandboxedService) -> None:
    runtime = sandboxed.client.app[SERVICES].runtime
    watch = JobWatch(runtime.buckets.jobs)
    await watch.start()
    try:
        with watch.listening(size=1) as slow, watch.listening() as reader:
            ids = [str(uuid.uuid4()) for _ in range(3)]
            for job_id in ids:
                await runtime.store.create(JobRecord(job_id=job_id, job_type=JobType.ping))
            told = [await asyncio.wait_for(reader.next(), 20) for _ in ids]
            assert [record.job_id for record in told if record] == ids
            assert slow.ended is ListenerEnd.behind and await slow.next() is None
        watch.close_listeners()
        try:
            with watch.listening():
                raise AssertionError("a closing watch takes no listener")
        except TooManyListenersError:
            pass
    finally:
        await watch.stop()


async def test_shutting_down_ends_open_streams_at_once(sandboxed: SandboxedService) -> None:
    async with sandboxed.client.get("/ui/jobs/stream") as stream:
        assert stream.status == 200
        # Bounded well below aiohttp's 60 s wait for open requests: a stream kept open would hit it.
        await asyncio.wait_for(sandboxed.client.server.close(), 20)
        await asyncio.wait_for(stream.content.read(), 5)  # to the end: the server ended it
        assert stream.content.at_eof()


async def test_a_batch_progresses_live_on_the_jobs_page(aiohttp_client, nats_url: str, browser: Browser) -> None:
    sandboxed = await start_sandboxed(aiohttp_client, nats_url, generation={"batch_concurrency": 1})
    await sandboxed.llm_faults(latency_ms=600)
    page = await open_page(browser, str(sandboxed.client.make_url("/")))
    await page.goto("/ui/jobs")
    await page.get_by_role("heading", name="Jobs").wait_for()
    # Every progress value the rows show, as the stream swaps them in; and a mark a reload would lose.
    await page.evaluate("""() => {
        window.stayed = true;
        window.seen = [];
        new MutationObserver(() => document.querySelectorAll("tbody progress[value]")
            .forEach((bar) => window.seen.push([bar.closest("tr").id, bar.value, bar.max])))
            .observe(document.querySelector("tbody"), {childList: true, subtree: true});
    }""")

    response = await sandboxed.client.post(
        "/generate/batch", json={"jql": "project = DEMO AND issuetype = Story ORDER BY key", "max_results": 4}
    )
    job_id = (await response.json())["job_id"]
    row = page.locator(f"#job-{job_id}")
    await row.locator(".status", has_text="completed").wait_for(timeout=60_000)

    values = [value for row_id, value, _ in await page.evaluate("window.seen") if row_id == f"job-{job_id}"]
    assert values == sorted(values) and values[-1] == 4 and any(0 < value < 4 for value in values), values
    assert await row.locator("td", has_text="4/4").count() == 1
    assert await page.evaluate("window.stayed === true")
    assert await page.evaluate("performance.getEntriesByType('navigation').length") == 1
    await screenshot(page, "jobs")

    await row.get_by_role("link").click()  # the batch's own page: a line per ticket
    await page.get_by_role("heading", name="Tickets").wait_for()
    lines = page.locator("#job-lines-heading + .table-wrap tbody tr")
    assert await lines.count() == 4 and await lines.filter(has_text="drafted").count() == 4
    assert await page.get_by_role("link", name="Review preview").count() == 1


async def test_cancel_from_a_running_jobs_page(sandboxed: SandboxedService, browser: Browser) -> None:
    await sandboxed.llm_faults(latency_ms=3000)
    _, running = await single(sandboxed, "DEMO-5", wait=False)
    page = await open_page(browser, str(sandboxed.client.make_url("/")))
    await page.goto(f"/ui/jobs/{running}")
    await page.get_by_role("button", name="Cancel this job").click()
    await page.locator(".job-state .status", has_text="cancelled").wait_for()
    assert await page.get_by_role("button", name="Cancel this job").count() == 0
    job = await wait_for_job(sandboxed.client, running, finished)
    assert job["status"] == "cancelled"

    await sandboxed.llm_faults(latency_ms=0)
    _, drafted = await single(sandboxed, "DEMO-3")
    await page.goto(f"/ui/jobs/{drafted}")
    await page.get_by_role("heading", name="Plan").wait_for()
    assert await page.get_by_role("link", name="Review preview").get_attribute("href") == f"/ui/previews/{drafted}"
    await screenshot(page, "job")
