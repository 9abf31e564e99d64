"""The previews pages: what waits for review, a plan as people read it, and approving part of it
(or discarding it) from the dashboard, through the same checks as the JSON API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from playwright.async_api import Browser

from tests.fixtures.browser import open_page, screenshot
from tests.fixtures.service import SandboxedService, eventually, finished, wait_for_job

HTMX = {"HX-Request": "true"}
STORIES = ["DEMO-3", "DEMO-5"]  # the sandbox LLM plans 3 to 6 tasks a story: 6 or more in all
STORIES_OF_DEMO_1 = ["DEMO-2", "DEMO-3", "DEMO-4", "DEMO-5", "DEMO-6", "DEMO-7"]
TEAMS_FILE = Path(__file__).parents[1] / "sandbox" / "data" / "teams.yaml"


async def preview(sandboxed: SandboxedService, key: str) -> dict[str, Any]:
    response = await sandboxed.client.post("/generate/single", json={"ticket_key": key})
    assert response.status == 200, await response.text()
    return await (await sandboxed.client.get(f"/jobs/ticket/{key}")).json()


async def html(sandboxed: SandboxedService, path: str) -> str:
    response = await sandboxed.client.get(path)
    assert response.status == 200, await response.text()
    assert response.content_type == "text/html"
    return await response.text()


async def record(sandboxed: SandboxedService, job_id: str) -> dict[str, Any]:
    return await (await sandboxed.client.get(f"/jobs/{job_id}")).json()


async def test_the_list_shows_previews_waiting_and_hides_applied_and_discarded_ones(
    sandboxed: SandboxedService,
) -> None:
    waiting, applied, discarded = [await preview(sandboxed, key) for key in ("DEMO-3", "DEMO-4", "DEMO-5")]
    assert (await sandboxed.client.post(f"/jobs/{applied['job_id']}/apply")).status == 200
    assert (await sandboxed.client.post(f"/jobs/{discarded['job_id']}/discard")).status == 200
    written = await sandboxed.client.post("/generate/single", json={"ticket_key": "DEMO-6", "update_jira": True})
    assert written.status == 200

    page = await html(sandboxed, "/ui/previews")
    assert f'href="/ui/previews/{waiting["job_id"]}"' in page
    assert "1 field update" in page
    for hidden in (applied, discarded):
        assert hidden["job_id"] not in page
    assert "DEMO-6" not in page  # it wrote to Jira: not a preview

    page = await html(sandboxed, "/ui/previews?done=true")
    for shown in (waiting, applied, discarded):
        assert f'href="/ui/previews/{shown["job_id"]}"' in page
    assert ">applied<" in page and ">discarded<" in page and ">waiting<" in page
    assert "DEMO-6" not in page


async def test_a_description_preview_shows_the_current_and_planned_text_as_jira_renders_them_and_a_diff(
    sandboxed: SandboxedService,
) -> None:
    current = "h2. Today\n\nExports run *by hand*. <script>alert('x')</script>"
    await sandboxed.jira("PUT", "/rest/api/2/issue/DEMO-7", json={"fields": {"description": current}})
    source = await preview(sandboxed, "DEMO-7")
    planned = source["plan"][0]["payload"]["fields"]["description"]
    heading = next(line for line in planned.splitlines() if line.startswith("h2. "))
    shown = heading.removeprefix("h2. ").replace("\\", "")  # Jira shows a backslash-escaped bracket as the bracket

    page = await html(sandboxed, f"/ui/previews/{source['job_id']}")
    assert "<h2>Today</h2>" in page and "<strong>by hand</strong>" in page
    assert f"<h2>{shown}</h2>" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert '<del><span class="visually-hidden">[removed: </span>' in page
    assert '<ins><span class="visually-hidden">[added: </span>' in page
    # A single operation is ticked already; the buttons are there.
    assert 'name="op" value="describe:DEMO-7"' in page and "Approve selected" in page

    # Changed in Jira since: the page warns that applying it keeps the ticket as it is.
    await sandboxed.jira("PUT", "/rest/api/2/issue/DEMO-7", json={"fields": {"description": "Edited meanwhile"}})
    assert "changed in Jira since this preview" in await html(sandboxed, f"/ui/previews/{source['job_id']}")


async def test_approve_and_discard_from_anywhere_but_the_dashboard_are_403(sandboxed: SandboxedService) -> None:
    source = await preview(sandboxed, "DEMO-8")
    for action in ("apply", "discard"):
        response = await sandboxed.client.post(f"/ui/previews/{source['job_id']}/{action}", data={"op": "x"})
        assert response.status == 403, action
    job = await record(sandboxed, source["job_id"])
    assert "applied_by" not in job and "discarded_by" not in job


async def test_discarded_from_the_dashboard_it_cannot_be_applied(sandboxed: SandboxedService) -> None:
    source = await preview(sandboxed, "DEMO-9")
    response = await sandboxed.client.post(f"/ui/previews/{source['job_id']}/discard", headers=HTMX)
    assert response.status == 200, await response.text()
    assert "Discarded by <strong>ui</strong>" in await response.text()
    assert (await record(sandboxed, source["job_id"]))["discarded_by"] == "ui"

    response = await sandboxed.client.post(f"/jobs/{source['job_id']}/apply", json={})
    assert response.status == 409
    assert "was discarded by ui" in (await response.json())["detail"]
    page = await html(sandboxed, f"/ui/previews/{source['job_id']}")
    assert "Discarded by <strong>ui</strong>" in page and "Approve selected" not in page

    # Approving it from the page now answers why not, beside the buttons.
    response = await sandboxed.client.post(
        f"/ui/previews/{source['job_id']}/apply", data={"op": f"describe:{source['ticket_key']}"}, headers=HTMX
    )
    assert response.status == 409
    assert response.headers["HX-Retarget"] == "#review-message"
    assert "was discarded by ui" in await response.text()


async def test_approved_from_the_dashboard_it_cannot_be_discarded(sandboxed: SandboxedService) -> None:
    source = await preview(sandboxed, "DEMO-2")
    op_id = source["plan"][0]["op_id"]
    unknown = await sandboxed.client.post(f"/ui/previews/{source['job_id']}/apply", data={"op": "nope"}, headers=HTMX)
    assert unknown.status == 422
    assert "not operations of this plan: nope" in await unknown.text()
    nothing = await sandboxed.client.post(f"/ui/previews/{source['job_id']}/apply", headers=HTMX)
    assert nothing.status == 422

    response = await sandboxed.client.post(f"/ui/previews/{source['job_id']}/apply", data={"op": op_id}, headers=HTMX)
    assert response.status == 200, await response.text()
    text = await response.text()
    assert "Approved by <strong>ui</strong>" in text
    apply_id = text.split('href="/ui/jobs/')[1].split('"')[0]
    job = await wait_for_job(sandboxed.client, apply_id, finished)
    assert (job["status"], job["result"]["outcome"], job["result"]["approved_by"]) == ("completed", "applied", "ui")
    status = await sandboxed.client.get(f"/ui/previews/apply-jobs/{apply_id}")
    assert status.status == 286  # htmx stops polling a finished job
    assert "completed" in await status.text()

    response = await sandboxed.client.post(f"/ui/previews/{source['job_id']}/discard", headers=HTMX)
    assert response.status == 409
    assert f"already applied by job {apply_id}" in await response.text()
    job = await record(sandboxed, source["job_id"])
    assert (job["applied_by"], job["approved_by"], job["approved_operations"]) == (apply_id, "ui", [op_id])
    assert "discarded_by" not in job


async def test_a_batch_preview_is_approved_ticket_by_ticket(sandboxed: SandboxedService) -> None:
    response = await sandboxed.client.post("/generate/batch", json={"jql": "key in (DEMO-8, DEMO-9)"})
    batch = await wait_for_job(sandboxed.client, (await response.json())["job_id"], finished, timeout=60)
    assert batch["status"] == "completed"
    before = await sandboxed.description("DEMO-9")
    page = await html(sandboxed, f"/ui/previews/{batch['job_id']}")
    for key in ("DEMO-8", "DEMO-9"):
        assert f'name="ticket" value="{key}"' in page
        assert f'">{key} · Description</h3>' in page  # its description beside Jira's
    assert "plans for 2 tickets" in await html(sandboxed, "/ui/previews")

    response = await sandboxed.client.post(
        f"/ui/previews/{batch['job_id']}/apply", data={"ticket": "DEMO-8"}, headers=HTMX
    )
    assert response.status == 200, await response.text()
    apply_id = (await response.text()).split('href="/ui/jobs/')[1].split('"')[0]
    job = await wait_for_job(sandboxed.client, apply_id, finished)
    assert [line["ticket_key"] for line in job["result"]["tickets"]] == ["DEMO-8"]
    work = await (await sandboxed.client.get(f"/jobs/{batch['job_id']}/tickets/DEMO-8")).json()
    assert await sandboxed.description("DEMO-8") == work["draft"]["description_wiki"]
    assert await sandboxed.description("DEMO-9") == before


async def test_a_manager_approves_two_of_the_teams_tasks_and_finds_exactly_those_in_jira(
    sandboxed: SandboxedService, browser: Browser
) -> None:
    team = yaml.safe_load(TEAMS_FILE.read_text())["teams"][0]
    response = await sandboxed.client.post("/teams", json=team)
    assert response.status == 201, await response.text()
    described = await preview(sandboxed, "DEMO-2")  # a description preview, for the "preview" picture
    page = await open_page(browser, str(sandboxed.client.make_url("/")))
    await page.goto(f"/ui/previews/{described['job_id']}")
    await page.get_by_role("heading", name="Descriptions").wait_for()
    await screenshot(page, "preview")

    # The manager starts the team-based task preview of the demo epic from the dashboard ...
    await page.goto("/ui/previews")
    await page.get_by_label("Epic", exact=True).fill("DEMO-1")
    await page.get_by_role("button", name="Plan tasks per team").click()
    await page.wait_for_url("**/ui/jobs/*")
    job_id = page.url.rsplit("/", 1)[1]
    # ... follows the job's page until it offers the review ...
    await page.get_by_role("link", name="Review preview").wait_for(timeout=60_000)
    source = await record(sandboxed, job_id)
    assert (source["job_type"], source["request"]["team_based"], source["request"]["dry_run"]) == (
        "task_generation",
        True,
        True,
    )
    assert source["request"]["story_keys"] == STORIES_OF_DEMO_1
    creates = [op for op in source["plan"] if op["kind"] == "create_issue"]
    assert len(creates) >= 5
    chosen = creates[:2]
    titles = [op["payload"]["fields"]["summary"] for op in chosen]
    # A link between the two chosen tasks goes with them; none that reaches another task does.
    ends = {op["op_id"] for op in chosen}
    expected = [
        op["op_id"]
        for op in source["plan"]
        if op["op_id"] in ends
        or (
            op["kind"] == "link_issues"
            and {op["payload"][end]["created_by"] for end in ("inward_key", "outward_key")} <= ends
        )
    ]

    # ... finds it among the previews, and reviews it.
    await page.goto("/ui/previews")
    await page.get_by_role("link", name=f"preview {source['job_id']}").wait_for()
    await screenshot(page, "previews")
    await page.get_by_role("link", name=f"preview {source['job_id']}").click()
    await page.get_by_role("heading", name="Issues to create").wait_for()
    for title in titles:
        await page.get_by_label(title, exact=True).check()
    await page.get_by_role("button", name="Approve selected").click()
    await page.get_by_role("heading", name="Approved").wait_for()
    await page.locator("#applying .status-completed").wait_for()
    assert await page.locator("#preview-state").inner_text() == "approved"
    link = page.locator("#review a[href^='/ui/jobs/']").first
    apply_id = (await link.get_attribute("href") or "").removeprefix("/ui/jobs/")
    await link.click()
    await page.wait_for_url(f"**/ui/jobs/{apply_id}")
    await page.get_by_text("completed").first.wait_for()

    job = await record(sandboxed, source["job_id"])
    assert (job["applied_by"], job["approved_by"], job["approved_operations"]) == (apply_id, "ui", expected)
    marker = creates[0]["payload"]["marker"]

    async def two_found() -> set[str] | None:
        """The new issues' summaries once Jira's search (which lags writes) finds two of them."""
        issues = await sandboxed.jira("GET", f"/rest/api/2/search/jql?jql=labels%20%3D%20{marker}&fields=summary")
        summaries = {issue["fields"]["summary"] for issue in issues["issues"]}
        return summaries if len(summaries) >= 2 else None

    summaries = await eventually(two_found, "the approved tasks are found by JQL")
    assert summaries == set(titles)
    assert not summaries & {op["payload"]["fields"]["summary"] for op in creates[2:]}


async def test_a_preview_is_started_from_the_dashboard_only_and_for_an_epic_with_stories(
    sandboxed: SandboxedService,
) -> None:
    form = {"epic_key": "DEMO-1", "stories": "demo-3, DEMO-5"}
    refused = await sandboxed.client.post("/ui/previews/start", data=form)
    assert refused.status == 403
    assert (await sandboxed.client.get("/jobs")).status == 200
    assert (await (await sandboxed.client.get("/jobs")).json())["jobs"] == []

    started = await sandboxed.client.post("/ui/previews/start", data=form, headers=HTMX)
    assert started.status == 204, await started.text()
    job_id = started.headers["HX-Redirect"].removeprefix("/ui/jobs/")
    job = await record(sandboxed, job_id)
    assert (job["job_type"], job["request"]["story_keys"], job["request"]["team_based"]) == (
        "task_generation",
        STORIES,
        True,
    )
    assert job["request"]["dry_run"] is True and job["request"]["llm_provider"] == "openai"

    no_stories = await sandboxed.client.post("/ui/previews/start", data={"epic_key": "DEMO-11"}, headers=HTMX)
    assert no_stories.status == 422
    assert "DEMO-11 has no stories to plan tasks for." in await no_stories.text()
    bad_key = await sandboxed.client.post("/ui/previews/start", data={"epic_key": "not a key"}, headers=HTMX)
    assert bad_key.status == 422 and "epic_key" in await bad_key.text()


async def test_a_test_case_preview_shows_the_planned_table_as_jira_renders_it(sandboxed: SandboxedService) -> None:
    response = await sandboxed.client.post("/plan/tests/story", json={"story_key": "DEMO-3", "coverage_level": "basic"})
    assert response.status == 200, await response.text()
    [summary] = (await (await sandboxed.client.get("/jobs?job_type=test_generation")).json())["jobs"]
    source = await record(sandboxed, summary["job_id"])
    [(field, planned)] = source["plan"][0]["payload"]["fields"].items()
    assert planned.startswith("||")  # a wiki table: a header row, then a row per test case

    page = await html(sandboxed, f"/ui/previews/{source['job_id']}")
    assert "DEMO-3 · Test Cases" in page  # the field by the name Jira gives it, not its id
    planned_part = page.split('aria-label="Planned Test Cases of DEMO-3"', 1)[1]
    assert planned_part.index("<table>") < planned_part.index("</section>")
    assert f"{field}</h3>" not in page
