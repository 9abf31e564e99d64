"""The dashboard's frame: its pages load in a real browser, offline, behind the API's auth."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
from playwright.async_api import Browser

from bot.http.auth import hash_password
from tests.fixtures.browser import open_page, screenshot
from tests.fixtures.service import SandboxedService, start_sandboxed

PASSWORD = "a long and careful passphrase"


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


async def test_with_authentication_on_the_pages_ask_and_an_approval_names_the_user(
    aiohttp_client: Callable[..., Any], nats_url: str, browser: Browser
) -> None:
    auth = {"enabled": True, "username": "manager", "password_hash": hash_password(PASSWORD)}
    service = await start_sandboxed(aiohttp_client, nats_url, auth=auth)
    signed = aiohttp.BasicAuth("manager", PASSWORD)
    response = await service.client.post("/generate/single", json={"ticket_key": "DEMO-3"}, auth=signed)
    assert response.status == 200, await response.text()
    preview = await (await service.client.get("/jobs/ticket/DEMO-3", auth=signed)).json()
    base = str(service.client.make_url("/"))

    asked = await service.client.get(f"/ui/previews/{preview['job_id']}")  # what makes a browser ask
    assert asked.status == 401 and asked.headers["WWW-Authenticate"] == 'Basic realm="Augment"'

    page = await open_page(browser, base, credentials=("manager", PASSWORD))
    await page.goto(f"/ui/previews/{preview['job_id']}")
    await page.get_by_text("Signed in as manager").wait_for()
    await page.get_by_role("button", name="Approve selected").click()
    await page.locator("#applying .status-completed").wait_for()
    record = await (await service.client.get(f"/jobs/{preview['job_id']}", auth=signed)).json()
    assert record["approved_by"] == "ui:manager"
    assert await service.description("DEMO-3") == record["result"]["description_wiki"]
