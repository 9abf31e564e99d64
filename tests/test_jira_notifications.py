"""`jira.notify_users: false`: the bot's field writes send notifyUsers=false, which Jira
(and the sandbox) honour only for an admin account and ignore for anyone else."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from pydantic import SecretStr

from bot.config import JiraSettings
from bot.jira.client import JiraClient
from sandbox import Sandbox, SandboxCredentials

ClientFor = Callable[[SandboxCredentials, bool], JiraClient]


@pytest.fixture
async def client_for(sandbox: Sandbox) -> AsyncIterator[ClientFor]:
    made: list[JiraClient] = []

    def make(account: SandboxCredentials, notify_users: bool) -> JiraClient:
        settings = JiraSettings(
            url=sandbox.jira_url,
            email=account.email,
            token=SecretStr(account.api_token),
            notify_users=notify_users,
        )
        made.append(JiraClient(settings))
        return made[-1]

    yield make
    for client in made:
        await client.close()


async def test_an_admin_account_writes_without_notifying(sandbox: Sandbox, client_for: ClientFor) -> None:
    jira = client_for(sandbox.admin, False)
    await jira.update_fields("DEMO-2", {"summary": "Quietly renamed"})
    await jira.set_parent("DEMO-9", "DEMO-1")
    assert sandbox.jira.edit_notifications == [("DEMO-2", False), ("DEMO-9", False)]
    assert (await jira.ticket("DEMO-2")).summary == "Quietly renamed"


async def test_a_member_account_asking_for_silence_still_notifies(sandbox: Sandbox, client_for: ClientFor) -> None:
    jira = client_for(sandbox.bot, False)
    await jira.update_fields("DEMO-2", {"summary": "Renamed by the bot"})
    assert sandbox.jira.edit_notifications == [("DEMO-2", True)]


async def test_notifications_are_sent_by_default(sandbox: Sandbox, client_for: ClientFor) -> None:
    jira = client_for(sandbox.admin, True)
    await jira.update_fields("DEMO-2", {"summary": "Loudly renamed"})
    assert sandbox.jira.edit_notifications == [("DEMO-2", True)]
