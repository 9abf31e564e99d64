"""Scoped API tokens and service accounts: the APIs sit behind the gateway
`https://api.atlassian.com/ex/{jira,confluence}/<cloudId>`, while PRD links stay on
`https://<site>.atlassian.net/wiki/...`; such links are read through the configured base URL."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from bot.config import ConfluenceSettings, JiraSettings, Settings
from bot.documents import DocumentError, DocumentReader
from bot.documents.reader import confluence_api_url
from sandbox import Sandbox

CLOUD_ID = "35273b54-3f06-40d2-880f-dd28cf8daafa"
PRD_ON_SITE = "https://acme.atlassian.net/wiki/spaces/AUG/pages/98305/PRD"


@pytest.mark.parametrize(
    ("confluence_url", "jira_url", "expected"),
    [
        ("", f"https://api.atlassian.com/ex/jira/{CLOUD_ID}", f"https://api.atlassian.com/ex/confluence/{CLOUD_ID}"),
        ("", f"https://api.atlassian.com/ex/jira/{CLOUD_ID}/", f"https://api.atlassian.com/ex/confluence/{CLOUD_ID}"),
        (
            f"https://api.atlassian.com/ex/confluence/{CLOUD_ID}/wiki",
            "",
            f"https://api.atlassian.com/ex/confluence/{CLOUD_ID}",
        ),
        ("", "https://acme.atlassian.net", "https://acme.atlassian.net"),
        ("https://acme.atlassian.net/wiki", "https://api.atlassian.com/ex/jira/x", "https://acme.atlassian.net"),
    ],
)
def test_the_confluence_api_follows_jiras_gateway(confluence_url: str, jira_url: str, expected: str) -> None:
    assert confluence_api_url(confluence_url, jira_url) == expected


async def test_a_site_link_is_read_through_the_configured_base_url(sandbox: Sandbox) -> None:
    # The sandbox stands in for the gateway: links name the site, reads go to the base URL.
    settings = Settings(
        jira=JiraSettings(url=sandbox.jira_url, email=sandbox.bot.email, token=SecretStr(sandbox.bot.api_token)),
        confluence=ConfluenceSettings(url=sandbox.confluence_url, site_url="https://acme.atlassian.net"),
    )
    reader = DocumentReader.from_settings(settings)
    document = await reader.read(PRD_ON_SITE)
    assert (document.url, document.page_id, document.title) == (PRD_ON_SITE, "98305", "PRD: Self-serve data export")

    with pytest.raises(DocumentError) as raised:
        await reader.read("https://other.atlassian.net/wiki/spaces/AUG/pages/98305/PRD")
    assert raised.value.reason == "other_site" and "https://acme.atlassian.net only" in str(raised.value)


async def test_behind_a_gateway_only_atlassian_cloud_links_are_read() -> None:
    reader = DocumentReader(f"https://api.atlassian.com/ex/confluence/{CLOUD_ID}", "bot@example.com", "token")
    with pytest.raises(DocumentError) as raised:
        await reader.read("https://wiki.example.com/wiki/spaces/AUG/pages/98305/PRD")
    assert raised.value.reason == "other_site" and "*.atlassian.net" in str(raised.value)
