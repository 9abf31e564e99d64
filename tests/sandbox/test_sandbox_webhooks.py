"""Admin webhooks: registration, Jira-format events, signatures, retries, duplicates."""

from __future__ import annotations

import hashlib
import hmac
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from sandbox import Sandbox
from sandbox.jira import sign_body
from tests.fixtures.sandbox import WebhookReceiver

ALL_EVENTS = [
    "jira:issue_created",
    "jira:issue_updated",
    "comment_created",
    "comment_updated",
    "issuelink_created",
    "sprint_created",
    "sprint_updated",
    "sprint_started",
    "sprint_closed",
]


@pytest.fixture
async def admin_http(sandbox: Sandbox) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"Authorization": aiohttp.encode_basic_auth(sandbox.admin.email, sandbox.admin.api_token)}
    async with aiohttp.ClientSession(base_url=sandbox.jira_url, headers=headers) as session:
        yield session


async def _register(
    admin_http: aiohttp.ClientSession, url: str, events: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    body = {"name": "augment", "url": url, "events": events or ALL_EVENTS, **extra}
    async with admin_http.post("/rest/webhooks/1.0/webhook", json=body) as response:
        assert response.status == 201, await response.text()
        return await response.json()


async def _send(session: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> Any:
    async with session.request(method, path, json=body) as response:
        assert response.status < 300, await response.text()
        return await response.json() if response.status != 204 and await response.read() else None


def test_signature_matches_atlassians_test_vector() -> None:
    assert (
        sign_body("It's a Secret to Everybody", b"Hello World!")
        == "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9"
    )


async def test_registration_round_trip(admin_http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    created = await _register(
        admin_http,
        "https://example.com/hook",
        ["jira:issue_created"],
        filters={"issue-related-events-section": "project = DEMO"},
        secret="s3cret",
    )
    webhook_path = created["self"].removeprefix(sandbox.jira_url)
    listed = await _send(admin_http, "GET", "/rest/webhooks/1.0/webhook")
    updated = await _send(
        admin_http,
        "PUT",
        webhook_path,
        {"name": "renamed", "url": "https://example.com/h2", "events": ["comment_created"]},
    )
    await _send(admin_http, "DELETE", webhook_path)

    assert created["filters"] == {"issue-related-events-section": "project = DEMO"}
    assert "secret" not in created and created["enabled"] is True
    assert [w["name"] for w in listed] == ["augment"]
    assert updated["events"] == ["comment_created"] and updated["filters"] == {}
    assert await _send(admin_http, "GET", "/rest/webhooks/1.0/webhook") == []
    async with admin_http.post(
        "/rest/webhooks/1.0/webhook", json={"name": "x", "url": "https://e.com", "events": ["nope"]}
    ) as response:
        assert response.status == 400
    async with admin_http.post(
        "/rest/webhooks/1.0/webhook",
        json={
            "name": "x",
            "url": "https://e.com",
            "events": ["jira:issue_created"],
            "filters": {"issue-related-events-section": "project = "},
        },
    ) as response:
        assert response.status == 400


async def test_issue_events_carry_jira_payloads(
    admin_http: aiohttp.ClientSession,
    jira_http: aiohttp.ClientSession,
    webhook_receiver: WebhookReceiver,
    sandbox: Sandbox,
) -> None:
    webhook = await _register(admin_http, webhook_receiver.url)
    created = await _send(
        jira_http,
        "POST",
        "/rest/api/2/issue",
        {
            "fields": {
                "project": {"key": "DEMO"},
                "issuetype": {"name": "Story"},
                "summary": "Draft",
                "parent": {"key": "DEMO-1"},
                "labels": ["one", "keep"],
            }
        },
    )
    await _send(
        jira_http,
        "PUT",
        f"/rest/api/2/issue/{created['key']}",
        {
            "fields": {"summary": "Final", "customfield_10053": 3},
            "update": {"labels": [{"add": "two"}, {"remove": "one"}, {"add": "three"}]},
        },
    )
    assert await sandbox.wait_for_webhooks(10)

    [issue_created] = webhook_receiver.events("jira:issue_created")
    [issue_updated] = webhook_receiver.events("jira:issue_updated")
    assert issue_created["issue_event_type_name"] == "issue_created"
    assert issue_created["issue"]["key"] == created["key"]
    assert issue_created["issue"]["self"] == f"{sandbox.jira_url}/rest/api/2/issue/{created['id']}"
    assert issue_created["issue"]["fields"]["parent"]["key"] == "DEMO-1"
    assert issue_created["user"]["accountId"] == sandbox.bot.account_id and "emailAddress" not in issue_created["user"]
    assert issue_created["matchedWebhookIds"] == [int(webhook["self"].rsplit("/", 1)[1])]
    assert isinstance(issue_created["timestamp"], int)

    items = {item["field"]: item for item in issue_updated["changelog"]["items"]}
    assert items["labels"] == {
        "field": "labels",
        "fieldtype": "jira",
        "fieldId": "labels",
        "from": None,
        "fromString": "one keep",
        "to": None,
        "toString": "keep two three",
    }
    assert items["summary"]["fromString"] == "Draft" and items["summary"]["toString"] == "Final"
    assert items["Mandays"] == {
        "field": "Mandays",
        "fieldtype": "custom",
        "fieldId": "customfield_10053",
        "from": None,
        "fromString": None,
        "to": None,
        "toString": "3",
    }
    assert issue_updated["issue"]["fields"]["summary"] == "Final"


async def test_comment_events(
    admin_http: aiohttp.ClientSession,
    jira_http: aiohttp.ClientSession,
    webhook_receiver: WebhookReceiver,
    sandbox: Sandbox,
) -> None:
    await _register(admin_http, webhook_receiver.url)
    comment = await _send(admin_http, "POST", "/rest/api/2/issue/DEMO-4/comment", {"body": "/augment describe"})
    await _send(
        admin_http, "PUT", f"/rest/api/2/issue/DEMO-4/comment/{comment['id']}", {"body": "/augment describe --update"}
    )
    assert await sandbox.wait_for_webhooks(10)

    [created] = webhook_receiver.events("comment_created")
    [updated] = webhook_receiver.events("comment_updated")
    assert created["comment"]["body"] == "/augment describe"
    assert created["comment"]["author"]["accountId"] == sandbox.admin.account_id
    assert created["issue"]["key"] == "DEMO-4" and set(created["issue"]["fields"]) == {
        "summary",
        "issuetype",
        "project",
        "assignee",
        "priority",
        "status",
    }
    assert updated["comment"]["body"] == "/augment describe --update"
    kinds = [event["issue_event_type_name"] for event in webhook_receiver.events("jira:issue_updated")]
    assert sorted(kinds) == ["issue_comment_edited", "issue_commented"]


async def test_link_and_sprint_events(
    admin_http: aiohttp.ClientSession,
    jira_http: aiohttp.ClientSession,
    webhook_receiver: WebhookReceiver,
    sandbox: Sandbox,
) -> None:
    await _register(admin_http, webhook_receiver.url)
    await _send(
        jira_http,
        "POST",
        "/rest/api/2/issueLink",
        {"type": {"name": "Blocks"}, "inwardIssue": {"key": "DEMO-5"}, "outwardIssue": {"key": "DEMO-6"}},
    )
    sprint = await _send(jira_http, "POST", "/rest/agile/1.0/sprint", {"name": "Next", "originBoardId": 1})
    await _send(jira_http, "POST", "/rest/agile/1.0/sprint/2", {"state": "closed"})
    await _send(
        jira_http,
        "POST",
        f"/rest/agile/1.0/sprint/{sprint['id']}",
        {"state": "active", "startDate": "2030-01-01T09:00:00.000+00:00", "endDate": "2030-01-15T09:00:00.000+00:00"},
    )
    await _send(jira_http, "POST", f"/rest/agile/1.0/sprint/{sprint['id']}/issue", {"issues": ["DEMO-6"]})
    assert await sandbox.wait_for_webhooks(10)

    [link] = webhook_receiver.events("issuelink_created")
    assert link["issueLink"]["sourceIssueId"] == 10004 and link["issueLink"]["destinationIssueId"] == 10005
    assert link["issueLink"]["issueLinkType"]["outwardName"] == "blocks"
    assert [e["sprint"]["id"] for e in webhook_receiver.events("sprint_created")] == [sprint["id"]]
    assert [e["sprint"]["id"] for e in webhook_receiver.events("sprint_closed")] == [2]
    [started] = webhook_receiver.events("sprint_started")
    assert started["sprint"]["state"] == "active"
    updates = webhook_receiver.events("sprint_updated")
    assert {e["oldValue"]["state"] for e in updates} == {"active", "future"}
    linked, linked_back, moved = webhook_receiver.events("jira:issue_updated")
    assert [e["changelog"]["items"][0]["toString"] for e in (linked, linked_back)] == [
        "This issue blocks DEMO-6",
        "This issue is blocked by DEMO-5",
    ]
    [item] = moved["changelog"]["items"]
    assert item["field"] == "Sprint" and item["fieldId"] == "customfield_10020"
    assert item["toString"] == "Next" and item["to"] == str(sprint["id"])


async def test_jql_filter_selects_issue_events(
    admin_http: aiohttp.ClientSession,
    jira_http: aiohttp.ClientSession,
    webhook_receiver: WebhookReceiver,
    sandbox: Sandbox,
) -> None:
    await _register(
        admin_http,
        webhook_receiver.url,
        ["jira:issue_updated"],
        filters={"issue-related-events-section": "issuetype = Bug"},
    )
    await _send(jira_http, "PUT", "/rest/api/2/issue/DEMO-4", {"fields": {"summary": "Story change"}})
    await _send(jira_http, "PUT", "/rest/api/2/issue/DEMO-10", {"fields": {"summary": "Bug change"}})
    assert await sandbox.wait_for_webhooks(10)
    assert [e["issue"]["key"] for e in webhook_receiver.events("jira:issue_updated")] == ["DEMO-10"]


async def test_deliveries_are_signed_when_a_secret_is_set(
    admin_http: aiohttp.ClientSession,
    jira_http: aiohttp.ClientSession,
    webhook_receiver: WebhookReceiver,
    sandbox: Sandbox,
) -> None:
    await _register(admin_http, webhook_receiver.url, ["jira:issue_updated"], secret="It's a Secret to Everybody")
    await _send(jira_http, "PUT", "/rest/api/2/issue/DEMO-4", {"fields": {"summary": "Signed"}})
    assert await sandbox.wait_for_webhooks(10)

    [delivery] = webhook_receiver.received
    expected = hmac.new(b"It's a Secret to Everybody", delivery.body, hashlib.sha256).hexdigest()
    assert delivery.headers["X-Hub-Signature"] == f"sha256={expected}"
    assert delivery.headers["X-Atlassian-Webhook-Flow"] == "Primary"
    assert "X-Atlassian-Webhook-Retry" not in delivery.headers


async def test_unsigned_without_a_secret(
    admin_http: aiohttp.ClientSession,
    jira_http: aiohttp.ClientSession,
    webhook_receiver: WebhookReceiver,
    sandbox: Sandbox,
) -> None:
    await _register(admin_http, webhook_receiver.url, ["jira:issue_updated"])
    await _send(jira_http, "PUT", "/rest/api/2/issue/DEMO-4", {"fields": {"summary": "Plain"}})
    assert await sandbox.wait_for_webhooks(10)
    assert "X-Hub-Signature" not in webhook_receiver.received[0].headers


async def test_retries_keep_the_identifier_and_count_up(
    admin_http: aiohttp.ClientSession,
    jira_http: aiohttp.ClientSession,
    webhook_receiver: WebhookReceiver,
    sandbox: Sandbox,
) -> None:
    await _register(admin_http, webhook_receiver.url, ["jira:issue_updated"])
    webhook_receiver.statuses = [503, 429, 408, 200]
    await _send(jira_http, "PUT", "/rest/api/2/issue/DEMO-4", {"fields": {"summary": "Retried"}})
    assert await sandbox.wait_for_webhooks(20)

    headers = [r.headers for r in webhook_receiver.received]
    assert len({h["X-Atlassian-Webhook-Identifier"] for h in headers}) == 1
    assert [h.get("X-Atlassian-Webhook-Retry") for h in headers] == [None, "1", "2", "3"]
    assert [a["outcome"] for a in sandbox.webhook_deliveries()] == ["retrying", "retrying", "retrying", "delivered"]


async def test_timeouts_are_retried(
    admin_http: aiohttp.ClientSession,
    jira_http: aiohttp.ClientSession,
    webhook_receiver: WebhookReceiver,
    sandbox: Sandbox,
) -> None:
    await _register(admin_http, webhook_receiver.url, ["jira:issue_updated"])
    sandbox.set_faults(webhook_timeout_seconds=1.0)
    webhook_receiver.delays = [3.0]
    await _send(jira_http, "PUT", "/rest/api/2/issue/DEMO-4", {"fields": {"summary": "Slow receiver"}})
    assert not webhook_receiver.received  # the API call did not wait for the delivery
    assert await sandbox.wait_for_webhooks(20)

    attempts = sandbox.webhook_deliveries()
    assert [(a["attempt"], a["error"], a["status"]) for a in attempts] == [(0, "timeout", None), (1, None, 200)]


async def test_other_client_errors_are_not_retried(
    admin_http: aiohttp.ClientSession,
    jira_http: aiohttp.ClientSession,
    webhook_receiver: WebhookReceiver,
    sandbox: Sandbox,
) -> None:
    await _register(admin_http, webhook_receiver.url, ["jira:issue_updated"])
    webhook_receiver.statuses = [404, 409]
    await _send(jira_http, "PUT", "/rest/api/2/issue/DEMO-4", {"fields": {"summary": "Gone"}})
    assert await sandbox.wait_for_webhooks(10)
    assert [(a["status"], a["outcome"]) for a in sandbox.webhook_deliveries()] == [(404, "rejected")]
    assert len(webhook_receiver.received) == 1


async def test_conflict_is_retried(
    admin_http: aiohttp.ClientSession,
    jira_http: aiohttp.ClientSession,
    webhook_receiver: WebhookReceiver,
    sandbox: Sandbox,
) -> None:
    await _register(admin_http, webhook_receiver.url, ["jira:issue_updated"])
    webhook_receiver.statuses = [409, 425]
    await _send(jira_http, "PUT", "/rest/api/2/issue/DEMO-4", {"fields": {"summary": "Busy"}})
    assert await sandbox.wait_for_webhooks(10)
    assert [a["status"] for a in sandbox.webhook_deliveries()] == [409, 425, 200]


async def test_gives_up_after_five_retries(
    admin_http: aiohttp.ClientSession,
    jira_http: aiohttp.ClientSession,
    webhook_receiver: WebhookReceiver,
    sandbox: Sandbox,
) -> None:
    await _register(admin_http, webhook_receiver.url, ["jira:issue_updated"])
    webhook_receiver.statuses = [500] * 10
    await _send(jira_http, "PUT", "/rest/api/2/issue/DEMO-4", {"fields": {"summary": "Broken receiver"}})
    assert await sandbox.wait_for_webhooks(20)

    attempts = sandbox.webhook_deliveries()
    assert [a["attempt"] for a in attempts] == [0, 1, 2, 3, 4, 5]
    assert attempts[-1]["outcome"] == "gave_up"
    assert len(webhook_receiver.received) == 6


async def test_connection_failures_are_retried(
    admin_http: aiohttp.ClientSession, jira_http: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    await _register(admin_http, f"http://127.0.0.1:{closed_port}/hook", ["jira:issue_updated"])
    await _send(jira_http, "PUT", "/rest/api/2/issue/DEMO-4", {"fields": {"summary": "Nobody home"}})
    assert await sandbox.wait_for_webhooks(20)

    attempts = sandbox.webhook_deliveries()
    assert len(attempts) == 6 and all(a["error"].startswith("connection failed") for a in attempts)


async def test_duplicate_delivery_fault(
    admin_http: aiohttp.ClientSession,
    jira_http: aiohttp.ClientSession,
    webhook_receiver: WebhookReceiver,
    sandbox: Sandbox,
) -> None:
    await _register(admin_http, webhook_receiver.url, ["jira:issue_updated"])
    sandbox.set_faults(duplicate_delivery_rate=1.0)
    await _send(jira_http, "PUT", "/rest/api/2/issue/DEMO-4", {"fields": {"summary": "Twice"}})
    assert await sandbox.wait_for_webhooks(10)

    identifiers = [r.headers["X-Atlassian-Webhook-Identifier"] for r in webhook_receiver.received]
    assert len(identifiers) == 2 and len(set(identifiers)) == 1
    assert webhook_receiver.received[0].body == webhook_receiver.received[1].body
    assert sorted(a["duplicate"] for a in sandbox.webhook_deliveries()) == [False, True]


async def test_delivery_log_over_http(
    admin_http: aiohttp.ClientSession, jira_http: aiohttp.ClientSession, webhook_receiver: WebhookReceiver
) -> None:
    await _register(admin_http, webhook_receiver.url, ["jira:issue_updated", "comment_created"])
    await _send(jira_http, "PUT", "/rest/api/2/issue/DEMO-4", {"fields": {"summary": "Logged"}})
    async with jira_http.post("/_sandbox/webhooks/wait?timeout=10") as response:
        assert (await response.json())["idle"] is True
    async with jira_http.get("/_sandbox/webhooks/deliveries?event=jira:issue_updated") as response:
        log = await response.json()
    assert [(a["event"], a["status"]) for a in log] == [("jira:issue_updated", 200)]
