"""The dashboard's frame: its pages load in a real browser, offline, behind the API's auth."""

from __future__ import annotations

from playwright.async_api import Browser

from tests.fixtures.browser import open_page, screenshot
from tests.fixtures.service import SandboxedService


async def test_the_dashboard_opens_on_the_jobs_page_with_every_script_served_locally(
    sandboxed: SandboxedService, browser: Browser
) -> None:
    response = await sandboxed.client.post("/generate/single", json={"ticket_key": "DEMO-3"})
    assert response.status == 200, await response.text()
    page = await open_page(browser, str(sandboxed.client.make_url("/")))
    outside: list[str] = []
    page.on("request", lambda request: None if "127.0.0.1" in request.url else outside.append(request.url))
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))

    await page.goto("/ui")
    assert page.url.endswith("/ui/jobs")
    await page.get_by_role("heading", name="Jobs").wait_for()
    assert await page.get_by_role("link", name="Jobs").get_attribute("aria-current") == "page"
    assert await page.evaluate("typeof htmx") == "object"
    await page.get_by_role("cell", name="DEMO-3").first.wait_for()
    assert outside == [] and failed == []
    await screenshot(page, "jobs")
