"""The Timeline, Cost and Rules pages against real jobs in the sandbox, and in a real browser.

- Timeline: a timeline plan of the demo epic with the demo team shows its chart, every task in
  the text table, capacity per skill (the team's days for each sprint's working days) and a link
  to its preview; a sprint plan without a team shows its warnings; a job of another type is a
  404 page; a plan still being made says so and asks again.
- Cost: the page's sums are the sums of the job records' usage.
- Rules: a rule that fired once, was refused once at its hourly limit, and an event by the bot's
  own account show as 1, 1 and 1, also to an app started afresh on the same NATS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml
from playwright.async_api import Browser

from bot.jobs.rule_counts import RuleCounts
from bot.scheduling.timeline import working_days
from bot.services import SERVICES
from bot.teams.capacity import capacity_per_skill
from handlers.ui import usd
from schemas.teams import Team
from tests.fixtures.browser import open_page, screenshot
from tests.fixtures.service import SandboxedService, eventually, finished, start_sandboxed, wait_for_job
from tests.fixtures.workers import jira_faults
from tests.test_sprint_planning import BOARD, new_epic, new_issue
from tests.test_triggers import settle

DEMO_TEAMS = Path(__file__).resolve().parent.parent / "sandbox" / "data" / "teams.yaml"
EVERY_UPDATE = {
    "name": "describe-on-update",
    "on": "issue_updated",
    "projects": ["DEMO"],
    "action": {"job_type": "single", "update_jira": False, "reply": "none"},
}


class Tables(HTMLParser):
    """Every table row of a page as the texts of its cells."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def row(self, first: str) -> list[str]:
        found = [row for row in self.rows if row and row[0] == first]
        assert len(found) == 1, f"{len(found)} rows start with {first!r}: {self.rows}"
        return found[0]


async def html(service: SandboxedService, path: str, status: int = 200) -> str:
    response = await service.client.get(path)
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == "text/html"
    return text


async def demo_team(service: SandboxedService) -> Team:
    team = yaml.safe_load(DEMO_TEAMS.read_text())["teams"][0]
    response = await service.client.post("/teams", json=team)
    assert response.status == 201, await response.text()
    return Team.model_validate(team)


async def timeline_plan(service: SandboxedService, **extra: Any) -> dict[str, Any]:
    """A finished timeline preview of the demo epic with the demo team: its job record."""
    body = {"epic_key": "DEMO-11", "board_id": BOARD, "team_id": "demo", "async_mode": True} | extra
    response = await service.client.post("/sprint/timeline", json=body)
    assert response.status == 202, await response.text()
    job_id = (await response.json())["job_id"]
    return await wait_for_job(service.client, job_id, finished, timeout=60)


def days(value: float) -> str:
    return f"{value:g}"


async def test_a_timeline_plan_shows_its_chart_its_tasks_and_each_skills_capacity(
    sandboxed: SandboxedService,
) -> None:
    team = await demo_team(sandboxed)
    job = await timeline_plan(sandboxed)
    assert job["status"] == "completed", job
    job_id, result = job["job_id"], job["result"]

    listing = await html(sandboxed, "/ui/timeline")
    assert f'href="/ui/timeline/{job_id}"' in listing and "Timeline of DEMO-11" in listing

    page = await html(sandboxed, f"/ui/timeline/{job_id}")
    assert f'<img src="/jobs/{job_id}/timeline.svg" alt="Gantt chart of the plan for DEMO-11' in page
    assert f'href="/ui/jobs/{job_id}"' in page and f'href="/ui/previews/{job_id}"' in page  # a preview
    assert (await sandboxed.client.get(f"/jobs/{job_id}/timeline.svg")).status == 200
    tables = Tables(page)
    for sprint in result["sprints"]:
        for task in sprint["tasks"]:
            assert tables.row(task["key"]) == [
                task["key"],
                task["summary"],
                task["skill"],
                task["start"],
                task["end"],
                days(task["estimate"]),
                sprint["sprint_name"],
            ]
    # Per sprint: the total from the result, then each skill's planned days against the team's.
    sprint = next(sprint for sprint in result["sprints"] if sprint["tasks"])
    start, end = date.fromisoformat(sprint["start_date"]), date.fromisoformat(sprint["end_date"])
    capacity = capacity_per_skill(team, len(working_days(start, (end - start).days + 1)))
    section = page[page.index(f">{sprint['sprint_name']} <") :]
    bars = Tables(section[: section.index("</table>")]).rows[1:]
    assert bars[0][:3] == ["All skills", days(sprint["total_estimated_days"]), days(sprint["capacity_days"])]
    planned = {skill: 0.0 for skill in capacity}
    for task in sprint["tasks"]:
        planned[task["skill"]] += task["estimate"]
    assert [row[:3] for row in bars[1:]] == [
        [skill, days(round(planned[skill], 2)), days(capacity[skill])] for skill in sorted(capacity)
    ]
    assert 'class="bar-fill"' in section


async def test_a_sprint_plan_without_a_team_shows_its_warnings_and_one_capacity(sandboxed: SandboxedService) -> None:
    epic, _ = await new_epic(sandboxed, [2, 3])
    guess = await new_issue(sandboxed, "No estimate", parent=epic, labels=("Backend",))
    response = await sandboxed.client.post(
        "/sprint/plan/epic", json={"epic_key": epic, "board_id": BOARD, "sprint_capacity_days": 10}
    )
    answer = await response.json()
    assert response.status == 200, answer
    warning = next(line for line in answer["warnings"] if guess in line)
    job = await (await sandboxed.client.get(f"/jobs/ticket/{epic}")).json()
    assert job["job_type"] == "sprint_planning"

    page = await html(sandboxed, f"/ui/timeline/{job['job_id']}")
    assert "<h2>Warnings</h2>" in page and f"<li>{warning}</li>" in page
    assert "Sprint plan" in page and "The plan had no team" in page
    tables = Tables(page)
    assert tables.row(guess)[:3] == [guess, "No estimate", "Backend"]
    skills = [row for row in tables.rows if row and row[0] == "Backend"]
    assert skills and all(row[2] == "—" for row in skills)  # no capacity per skill without a team


async def test_a_job_of_another_type_has_no_timeline_and_a_running_plan_says_so(sandboxed: SandboxedService) -> None:
    response = await sandboxed.client.post("/generate/single", json={"ticket_key": "DEMO-3"})
    assert response.status == 200, await response.text()
    [single] = await sandboxed.jobs()
    page = await html(sandboxed, f"/ui/timeline/{single['job_id']}", status=404)
    assert "is a <strong>single</strong> job: it has no timeline" in page
    unknown = "00000000-0000-4000-8000-000000000000"
    assert "There is no job" in await html(sandboxed, f"/ui/timeline/{unknown}", status=404)

    await demo_team(sandboxed)
    await jira_faults(sandboxed.sandbox, latency_ms=400)  # each of the plan's Jira reads takes that long
    body = {"epic_key": "DEMO-11", "board_id": BOARD, "team_id": "demo", "async_mode": True}
    response = await sandboxed.client.post("/sprint/timeline", json=body)
    job_id = (await response.json())["job_id"]
    page = await html(sandboxed, f"/ui/timeline/{job_id}")
    assert "The plan is still being made" in page and 'hx-trigger="every 3s"' in page and "<img" not in page
    await jira_faults(sandboxed.sandbox, latency_ms=0)
    await wait_for_job(sandboxed.client, job_id, finished, timeout=60)
    page = await html(sandboxed, f"/ui/timeline/{job_id}")
    assert "hx-trigger" not in page and f'<img src="/jobs/{job_id}/timeline.svg"' in page


async def test_the_cost_page_sums_the_job_records(sandboxed: SandboxedService) -> None:
    for body in ({"ticket_key": "DEMO-3"}, {"ticket_key": "DEMO-4", "llm_provider": "anthropic"}):
        response = await sandboxed.client.post("/generate/single", json=body)
        assert response.status == 200, await response.text()
    await demo_team(sandboxed)
    await timeline_plan(sandboxed)  # no LLM call: in the totals, under no provider
    records = [await (await sandboxed.client.get(f"/jobs/{job['job_id']}")).json() for job in await sandboxed.jobs()]
    assert len(records) == 3

    def spent(chosen: list[dict[str, Any]]) -> list[str]:
        return [
            f"{len(chosen):,}",
            f"{sum(r['usage']['input_tokens'] for r in chosen):,}",
            f"{sum(r['usage']['output_tokens'] for r in chosen):,}",
            usd(sum(r["usage"]["cost_usd"] for r in chosen)),
        ]

    page = await html(sandboxed, "/ui/cost")
    tables = Tables(page)
    totals = [row for row in tables.rows if row and row[0] == "Total"]
    llm = [r for r in records if r["job_type"] == "single"]
    assert totals[0][1:5] == spent(records)  # by day
    assert totals[1][1:] == spent(llm)  # by provider
    assert totals[2][1:] == spent(records)  # by job type
    assert totals[3][1:] == spent(llm)  # by model
    for record in llm:
        provider, model = record["request"]["llm_provider"], record["request"]["llm_model"]
        assert tables.row(provider)[1:] == spent([record])
        assert tables.row(model)[1:] == [provider, *spent([record])]
    assert tables.row("single")[1:] == spent(llm)
    assert tables.row("timeline_planning")[1:] == ["1", "0", "0", "$0"]
    assert tables.row(date.today().isoformat())[1:5] == spent(records)  # the server's day is UTC, as is CI's
    assert "Jobs that made no LLM call (sprint planning, applying a preview, …): 1." in page
    assert (await sandboxed.client.get("/ui/cost?days=0")).status == 422
    assert (await sandboxed.client.get("/ui/cost?days=367")).status == 422


async def test_the_rules_page_counts_firings_refusals_and_the_bots_own_events_across_apps(
    aiohttp_client: Callable[..., Any], nats_url: str
) -> None:
    triggers = {"rules": [EVERY_UPDATE], "max_runs_per_ticket_per_hour": 1}
    service = await start_sandboxed(aiohttp_client, nats_url, triggers=triggers, commands={"users": ["*"]})
    await service.subscribe()
    for summary in ("First change", "Second change"):  # the second is refused: 1 run an hour
        await service.jira("PUT", "/rest/api/2/issue/DEMO-6", json={"fields": {"summary": summary}})
        await settle(service)
    bot = service.sandbox.bot.email
    await service.jira("PUT", "/rest/api/2/issue/DEMO-6", as_email=bot, json={"fields": {"summary": "By the bot"}})
    assert len(await settle(service)) == 1

    async def own_event_counted() -> bool:  # the bot's own events are written within a second
        return '<span id="own-events">1</span>' in await html(service, "/ui/rules")

    await eventually(own_event_counted, "the bot's own event was counted")
    for app in (service, await start_sandboxed(aiohttp_client, nats_url, triggers=triggers)):
        page = await html(app, "/ui/rules")
        row = Tables(page).row(EVERY_UPDATE["name"])
        assert row[1:4] == ["issue updated", "Projects: DEMO Issue types: any", "single, preview only, no comment"]
        assert row[4] == "1" and row[5] != "—" and row[6] == "1" and row[7] != "—"
        assert '<span id="own-events">1</span>' in page
    assert "<dt>Who may</dt><dd>anyone</dd>" in await html(service, "/ui/rules")


async def test_the_pages_in_a_browser(aiohttp_client: Callable[..., Any], nats_url: str, browser: Browser) -> None:
    service = await start_sandboxed(aiohttp_client, nats_url, triggers={"rules": [EVERY_UPDATE]})
    await service.subscribe()
    await service.jira("PUT", "/rest/api/2/issue/DEMO-6", json={"fields": {"summary": "Changed"}})  # fires the rule
    await settle(service)
    await demo_team(service)
    response = await service.client.post("/generate/single", json={"ticket_key": "DEMO-3"})
    assert response.status == 200, await response.text()
    await jira_faults(service.sandbox, latency_ms=400)  # the plan is still being made when its page opens
    body = {"epic_key": "DEMO-11", "board_id": BOARD, "team_id": "demo", "async_mode": True}
    job_id = (await (await service.client.post("/sprint/timeline", json=body)).json())["job_id"]
    page = await open_page(browser, str(service.client.make_url("/")))

    await page.goto("/ui/timeline")
    await page.get_by_role("link", name="Timeline of DEMO-11").click()
    await page.wait_for_url(f"**/ui/timeline/{job_id}")
    await page.get_by_text("The plan is still being made").wait_for()
    await jira_faults(service.sandbox, latency_ms=0)
    chart = page.get_by_role("img", name="Gantt chart of the plan for DEMO-11")
    await chart.wait_for()  # the section asked again by itself, and the plan was done
    assert await page.locator("#timeline .status").inner_text() == "completed"
    await page.wait_for_function("document.querySelector('figure.gantt img').complete")
    assert await chart.evaluate("image => image.naturalWidth") > 0
    job = await wait_for_job(service.client, job_id, finished)
    assert await page.locator(".sprint-load .bar-fill").count() >= len(job["result"]["sprints"])
    await page.get_by_role("row", name="DEMO-12").first.wait_for()
    await screenshot(page, "timeline")

    await page.get_by_role("link", name="Cost").click()
    await page.get_by_role("heading", name="Cost", exact=True).wait_for()
    await page.get_by_label("Jobs of the last … days").fill("7")
    await page.get_by_role("button", name="Show").click()
    await page.wait_for_url("**/ui/cost?days=7")
    assert await page.locator(".cost-bar-cell .bar-fill").count() == 1  # one day
    await screenshot(page, "cost")

    await page.get_by_role("link", name="Rules").click()
    row = page.get_by_role("row", name=EVERY_UPDATE["name"])
    assert await row.get_by_role("cell").nth(3).inner_text() == "1"  # fired once
    await screenshot(page, "rules")


async def test_a_burst_of_the_bots_own_events_is_counted_exactly_by_every_worker(sandboxed: SandboxedService) -> None:
    """Two workers' bursts, written one compare-and-set per worker, add up on the rules page."""
    runtime = sandboxed.client.app[SERVICES].runtime
    workers = [RuleCounts(runtime.buckets.counts, runtime.clock) for _ in range(2)]
    for _ in range(30):
        for counts in workers:
            counts.own_event()
    await asyncio.gather(*(counts.close() for counts in workers))
    assert '<span id="own-events">60</span>' in await html(sandboxed, "/ui/rules")
