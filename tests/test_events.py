"""Webhook event models: real deliveries from the sandbox, Jira Cloud-shaped bodies, and errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from jira import JIRA
from pydantic import ValidationError

from sandbox import Sandbox
from schemas.events import (
    SUPPORTED_EVENTS,
    CommentEvent,
    IssueCreatedEvent,
    IssueLinkCreatedEvent,
    IssueUpdatedEvent,
    JiraEvent,
    SprintEvent,
    parse_event,
)
from tests.fixtures.sandbox import WebhookReceiver

# --- real deliveries from the sandbox ------------------------------------------------------


@pytest.fixture
async def admin_http(sandbox: Sandbox) -> AsyncIterator[aiohttp.ClientSession]:
    """A human administrator: registers webhooks and makes changes the bot did not make."""
    headers = {"Authorization": aiohttp.encode_basic_auth(sandbox.admin.email, sandbox.admin.api_token)}
    async with aiohttp.ClientSession(base_url=sandbox.jira_url, headers=headers) as session:
        yield session


async def _call(session: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> Any:
    async with session.request(method, path, json=body) as response:
        assert response.status < 300, await response.text()
        return await response.json() if response.status != 204 and await response.read() else None


async def _deliveries(
    sandbox: Sandbox, receiver: WebhookReceiver, admin_http: aiohttp.ClientSession, changes: Any
) -> list[JiraEvent]:
    """Register a webhook for every supported event, make `changes`, parse everything delivered."""
    await _call(
        admin_http,
        "POST",
        "/rest/webhooks/1.0/webhook",
        {"name": "augment", "url": receiver.url, "events": sorted(SUPPORTED_EVENTS)},
    )
    await changes()
    assert await sandbox.wait_for_webhooks(10)
    assert receiver.received, "the sandbox delivered nothing"
    return [parse_event(delivery.json()) for delivery in receiver.received]


def _only(events: list[JiraEvent], kind: type, name: str, **where: Any) -> Any:
    found = [
        e
        for e in events
        if isinstance(e, kind)
        and e.webhook_event == name
        and all(getattr(e, attr) == value for attr, value in where.items())
    ]
    assert len(found) == 1, [(e.webhook_event, e.issue_event_type_name) for e in events]
    return found[0]


async def test_issue_created_and_labels_changed(
    sandbox: Sandbox, jira_client: JIRA, admin_http: aiohttp.ClientSession, webhook_receiver: WebhookReceiver
) -> None:
    key = ""

    async def changes() -> None:
        nonlocal key
        fields = {"project": {"key": "DEMO"}, "issuetype": {"name": "Story"}, "summary": "Export to CSV"}
        issue = await asyncio.to_thread(jira_client.create_issue, fields=fields)
        key = issue.key
        await asyncio.to_thread(issue.add_field_value, "labels", "augment")  # the bot, through `jira`
        await _call(  # a person, through REST
            admin_http,
            "PUT",
            f"/rest/api/2/issue/{key}",
            {"update": {"labels": [{"add": "backend"}, {"remove": "augment"}, {"add": "ui"}]}},
        )

    events = await _deliveries(sandbox, webhook_receiver, admin_http, changes)

    created = _only(events, IssueCreatedEvent, "jira:issue_created")
    assert created.ticket_key == key and created.issue.key == key
    assert created.actor_account_id == sandbox.bot.account_id
    assert created.issue.project_key == "DEMO" and created.issue.issue_type == "Story"
    assert created.issue.summary == "Export to CSV"
    assert created.issue.description is None and created.issue.description_is_empty
    assert created.issue.labels == []
    assert created.issue_event_type_name == "issue_created"
    assert abs((datetime.now(UTC) - created.occurred_at).total_seconds()) < 60

    by_bot, by_admin = [e for e in events if isinstance(e, IssueUpdatedEvent)]
    assert by_bot.actor_account_id == sandbox.bot.account_id
    assert by_bot.labels_added() == ["augment"] and by_bot.labels_removed() == []  # fromString was null
    assert by_bot.changed_fields() == {"labels"} and by_bot.issue.labels == ["augment"]

    assert by_admin.actor_account_id == sandbox.admin.account_id
    assert by_admin.ticket_key == key
    assert by_admin.labels_added() == ["backend", "ui"]
    assert by_admin.labels_removed() == ["augment"]
    assert sorted(by_admin.issue.labels) == ["backend", "ui"]


async def test_description_and_custom_field_changes(
    sandbox: Sandbox,
    jira_http: aiohttp.ClientSession,
    admin_http: aiohttp.ClientSession,
    webhook_receiver: WebhookReceiver,
) -> None:
    async def changes() -> None:
        await _call(
            jira_http,
            "PUT",
            "/rest/api/2/issue/DEMO-4",
            {"fields": {"description": "h2. Purpose\nExport.", sandbox.custom_fields["mandays"]: 2}},
        )

    events = await _deliveries(sandbox, webhook_receiver, admin_http, changes)

    updated = _only(events, IssueUpdatedEvent, "jira:issue_updated")
    assert updated.issue.description == "h2. Purpose\nExport." and not updated.issue.description_is_empty
    assert "description" in updated.changed_fields()
    assert updated.changed_field_ids() == {"description", sandbox.custom_fields["mandays"]}
    assert updated.labels_added() == [] and updated.labels_removed() == []


async def test_comment_created_and_edited_by_someone_else(
    sandbox: Sandbox, jira_client: JIRA, admin_http: aiohttp.ClientSession, webhook_receiver: WebhookReceiver
) -> None:
    async def changes() -> None:
        comment = await asyncio.to_thread(jira_client.add_comment, "DEMO-5", "/augment describe")
        await _call(admin_http, "PUT", f"/rest/api/2/issue/DEMO-5/comment/{comment.id}", {"body": "/augment tasks"})

    events = await _deliveries(sandbox, webhook_receiver, admin_http, changes)

    created = _only(events, CommentEvent, "comment_created")
    assert created.user is None  # comment events carry no `user`: the author says who it was
    assert created.actor_account_id == sandbox.bot.account_id
    assert created.ticket_key == "DEMO-5" and created.issue.project_key == "DEMO"
    assert created.comment.body == "/augment describe"
    assert created.comment.created is not None and created.comment.created.tzinfo is not None

    edited = _only(events, CommentEvent, "comment_updated")
    assert edited.comment.author is not None and edited.comment.author.account_id == sandbox.bot.account_id
    assert edited.actor_account_id == sandbox.admin.account_id  # whoever edited, not who wrote it
    assert edited.comment.body == "/augment tasks" and edited.comment.id == created.comment.id

    # Jira also sends jira:issue_updated for comments: a comment and no changelog.
    commented = _only(events, IssueUpdatedEvent, "jira:issue_updated", issue_event_type_name="issue_commented")
    assert commented.changelog is None and commented.changed_fields() == set() and commented.labels_added() == []
    assert commented.comment is not None and commented.comment.body == "/augment describe"
    assert commented.actor_account_id == sandbox.bot.account_id


async def test_issue_link_and_sprint_events(
    sandbox: Sandbox,
    jira_client: JIRA,
    jira_http: aiohttp.ClientSession,
    admin_http: aiohttp.ClientSession,
    webhook_receiver: WebhookReceiver,
) -> None:
    sprint_id = 0

    async def changes() -> None:
        nonlocal sprint_id
        await _call(
            jira_http,
            "POST",
            "/rest/api/2/issueLink",
            {"type": {"name": "Blocks"}, "inwardIssue": {"key": "DEMO-5"}, "outwardIssue": {"key": "DEMO-6"}},
        )
        sprint = await asyncio.to_thread(jira_client.create_sprint, "Hardening", sandbox.board_id, goal="Fix bugs")
        sprint_id = sprint.id
        active = await _call(jira_http, "GET", f"/rest/agile/1.0/board/{sandbox.board_id}/sprint?state=active")
        for running in active["values"]:
            await _call(jira_http, "POST", f"/rest/agile/1.0/sprint/{running['id']}", {"state": "closed"})
        await _call(
            jira_http,
            "POST",
            f"/rest/agile/1.0/sprint/{sprint_id}",
            {"state": "active", "startDate": "2030-01-01T09:00:00.000Z", "endDate": "2030-01-15T09:00:00.000Z"},
        )

    events = await _deliveries(sandbox, webhook_receiver, admin_http, changes)
    ids = {key: (await _call(jira_http, "GET", f"/rest/api/2/issue/{key}"))["id"] for key in ("DEMO-5", "DEMO-6")}

    link = _only(events, IssueLinkCreatedEvent, "issuelink_created")
    assert {link.issue_link.source_issue_id, link.issue_link.destination_issue_id} == set(ids.values())
    assert link.issue_link.issue_link_type is not None and link.issue_link.issue_link_type.name == "Blocks"
    assert link.ticket_key is None and link.actor_account_id is None

    created = _only(events, SprintEvent, "sprint_created")
    assert created.sprint.id == sprint_id and created.sprint.state == "future"
    assert created.sprint.goal == "Fix bugs" and created.sprint.origin_board_id == sandbox.board_id
    assert created.ticket_key is None and created.actor_account_id is None

    started = _only(events, SprintEvent, "sprint_started")
    assert started.sprint.id == sprint_id and started.sprint.state == "active"
    assert started.sprint.start_date == datetime(2030, 1, 1, 9, tzinfo=UTC)
    assert started.sprint.end_date == datetime(2030, 1, 15, 9, tzinfo=UTC)

    start_update = _only(events, SprintEvent, "sprint_updated", sprint=started.sprint)
    assert start_update.old_value is not None and start_update.old_value.state == "future"
    closed = [e for e in events if e.webhook_event == "sprint_closed"]
    assert closed and all(e.sprint.state == "closed" and e.sprint.complete_date for e in closed)


# --- Jira Cloud-shaped bodies ---------------------------------------------------------------

ALEX = {"accountId": "557058:alex", "displayName": "Alex", "active": True, "timeZone": "Europe/Berlin"}
BOT = {"accountId": "712020:bot", "displayName": "Augment Bot"}
ADF_DESCRIPTION = {
    "type": "doc",
    "version": 1,
    "content": [
        {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Purpose"}]},
        {"type": "paragraph", "content": [{"type": "text", "text": "Export ", "marks": [{"type": "strong"}]}]},
    ],
}


def _issue(**fields: Any) -> dict[str, Any]:
    return {
        "id": "10042",
        "key": "PROJ-42",
        "self": "https://example.atlassian.net/rest/api/2/issue/10042",
        "fields": {
            "project": {"id": "10000", "key": "PROJ", "name": "Project"},
            "issuetype": {"id": "10001", "name": "Story", "subtask": False},
            "summary": "Export to CSV",
            **fields,
        },
    }


def _updated(*items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "timestamp": 1_717_171_717_171,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_updated",
        "user": ALEX,
        "issue": _issue(labels=["backend"]),
        "changelog": {"id": "20001", "items": list(items)},
        **extra,
    }


def _labels(from_string: str | None, to_string: str | None) -> dict[str, Any]:
    return {
        "field": "labels",
        "fieldtype": "jira",
        "fieldId": "labels",
        "from": None,
        "fromString": from_string,
        "to": None,
        "toString": to_string,
    }


def test_issue_created_with_an_adf_description_and_unknown_fields() -> None:
    event = parse_event(
        {
            "timestamp": 1_717_171_717_171,
            "webhookEvent": "jira:issue_created",
            "issue_event_type_name": "issue_created",
            "user": {**ALEX, "avatarUrls": {"48x48": "https://x"}, "somethingNew": [1, 2]},
            "issue": _issue(description=ADF_DESCRIPTION, labels=None, customfield_10053=3.5),
            "matchedWebhookIds": [7],
            "futureTopLevelField": {"nested": True},
        }
    )

    assert isinstance(event, IssueCreatedEvent)
    assert event.issue.description == ADF_DESCRIPTION and not event.issue.description_is_empty
    assert event.issue.labels == []  # null labels
    assert event.issue.fields["customfield_10053"] == 3.5
    assert event.ticket_key == "PROJ-42" and event.actor_account_id == "557058:alex"
    assert event.occurred_at == datetime(2024, 5, 31, 16, 8, 37, 171000, tzinfo=UTC)


def test_labels_added_and_removed_from_space_separated_lists() -> None:
    event = parse_event(
        _updated(
            {"field": "summary", "fieldtype": "jira", "fieldId": "summary", "fromString": "a", "toString": "b"},
            _labels("keep old old2", "keep new new old2 zeta"),
            {"field": "Mandays", "fieldtype": "custom", "fieldId": "customfield_10053", "toString": "3"},
        )
    )

    assert isinstance(event, IssueUpdatedEvent)
    assert event.labels_added() == ["new", "zeta"]  # order kept, duplicate "new" once
    assert event.labels_removed() == ["old"]
    assert event.changed_fields() == {"summary", "labels", "Mandays"}
    assert event.changed_field_ids() == {"summary", "labels", "customfield_10053"}


@pytest.mark.parametrize(
    ("from_string", "to_string", "added", "removed"),
    [
        (None, "augment", ["augment"], []),
        ("augment backend", None, [], ["augment", "backend"]),
        ("", "a", ["a"], []),
        (None, None, [], []),
        ("same", "same", [], []),
        ("a", " a  b", ["b"], []),  # stray spaces are not labels
    ],
)
def test_label_lists_may_be_null_or_empty(
    from_string: str | None, to_string: str | None, added: list[str], removed: list[str]
) -> None:
    event = parse_event(_updated(_labels(from_string, to_string)))
    assert isinstance(event, IssueUpdatedEvent)
    assert (event.labels_added(), event.labels_removed()) == (added, removed)


def test_only_the_system_labels_field_counts_as_labels() -> None:
    custom = {**_labels(None, "x"), "fieldtype": "custom", "fieldId": "customfield_10099"}
    event = parse_event(_updated(custom, {"field": "labels", "fromString": None, "toString": "y"}))
    assert isinstance(event, IssueUpdatedEvent)
    assert event.labels_added() == ["y"]


def test_labels_from_several_items_are_listed_once() -> None:
    event = parse_event(_updated(_labels(None, "a b"), _labels("x", "b c"), _labels("x y", None)))
    assert isinstance(event, IssueUpdatedEvent)
    assert event.labels_added() == ["a", "b", "c"]
    assert event.labels_removed() == ["x", "y"]


def test_changelog_items_tolerate_missing_and_null_values() -> None:
    event = parse_event(_updated({"field": None}, {}, {"field": "status", "from": 10000, "to": 10001}))
    assert isinstance(event, IssueUpdatedEvent)
    assert event.changed_fields() == {"status"}
    assert event.changelog is not None and event.changelog.items[2].from_value == "10000"

    without = parse_event({**_updated(), "changelog": None})
    assert isinstance(without, IssueUpdatedEvent) and without.labels_added() == [] and without.changed_fields() == set()
    null_items = parse_event({**_updated(), "changelog": {"id": "1", "items": None}})
    assert isinstance(null_items, IssueUpdatedEvent) and null_items.changed_fields() == set()


@pytest.mark.parametrize(
    ("description", "empty"),
    [
        (None, True),
        ("", True),
        ("  \n\t ", True),
        ("h2. Purpose", False),
        ({"type": "doc", "version": 1, "content": []}, True),
        ({"type": "doc", "version": 1, "content": [{"type": "paragraph"}]}, True),
        (
            {
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": " "}]}],
            },
            True,
        ),
        ({"type": "doc", "version": 1, "content": [{"type": "rule"}, {"type": "hardBreak"}]}, True),
        (ADF_DESCRIPTION, False),
        (
            {"type": "doc", "version": 1, "content": [{"type": "mediaSingle", "content": [{"type": "media"}]}]},
            False,  # a screenshot alone is still somebody's description
        ),
        (
            {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "mention"}]}]},
            False,
        ),
    ],
)
def test_description_is_empty(description: Any, empty: bool) -> None:
    event = parse_event(
        {"timestamp": 1, "webhookEvent": "jira:issue_created", "user": BOT, "issue": _issue(description=description)}
    )
    assert isinstance(event, IssueCreatedEvent)
    assert event.issue.description_is_empty is empty


def test_missing_fields_give_none_not_errors() -> None:
    event = parse_event(
        {"timestamp": 1, "webhookEvent": "jira:issue_created", "issue": {"id": 10042, "key": "PROJ-42", "fields": None}}
    )
    assert isinstance(event, IssueCreatedEvent)
    assert event.issue.id == "10042"  # Jira's string ids, even when a number arrives
    assert (event.issue.project_key, event.issue.issue_type, event.issue.summary) == (None, None, None)
    assert event.issue.labels == [] and event.issue.description_is_empty
    assert event.actor_account_id is None


def test_comment_with_an_adf_body() -> None:
    body = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hi"}]}],
    }
    event = parse_event(
        {
            "timestamp": 1,
            "webhookEvent": "comment_created",
            "comment": {
                "id": "10100",
                "self": "https://example.atlassian.net/rest/api/2/issue/10042/comment/10100",
                "author": ALEX,
                "body": body,
                "updateAuthor": ALEX,
                "created": "2024-05-31T18:08:37.171+0200",
                "updated": "2024-05-31T18:08:37.171+0200",
                "jsdPublic": True,
            },
            "issue": _issue(),
        }
    )

    assert isinstance(event, CommentEvent)
    assert event.comment.body == body and not event.comment.body_is_empty
    assert event.comment.created == datetime(2024, 5, 31, 16, 8, 37, 171000, tzinfo=UTC)
    assert event.actor_account_id == "557058:alex" and event.ticket_key == "PROJ-42"


@pytest.mark.parametrize(
    ("name", "comment", "user", "actor"),
    [
        ("comment_created", {"author": ALEX, "updateAuthor": ALEX}, BOT, "557058:alex"),
        ("comment_updated", {"author": BOT, "updateAuthor": ALEX}, None, "557058:alex"),
        ("comment_created", {}, BOT, "712020:bot"),
        ("comment_created", {"author": {"displayName": "Former user"}}, None, None),
    ],
)
def test_comment_actor_falls_back_to_user(
    name: str, comment: dict[str, Any], user: dict[str, Any] | None, actor: str | None
) -> None:
    payload = {"timestamp": 1, "webhookEvent": name, "comment": {"id": "1", "body": "x", **comment}, "issue": _issue()}
    if user is not None:
        payload["user"] = user
    assert parse_event(payload).actor_account_id == actor


def test_sprint_deleted_and_links() -> None:
    sprint = parse_event(
        {"timestamp": 1, "webhookEvent": "sprint_deleted", "sprint": {"id": "7", "state": "future", "name": "S7"}}
    )
    link = parse_event(
        {
            "timestamp": 1,
            "webhookEvent": "issuelink_created",
            "issueLink": {
                "id": 10300,
                "sourceIssueId": 10042,
                "destinationIssueId": 10043,
                "issueLinkType": {
                    "id": 10000,
                    "name": "Blocks",
                    "outwardName": "blocks",
                    "inwardName": "is blocked by",
                },
                "systemLink": False,
            },
        }
    )

    assert isinstance(sprint, SprintEvent) and sprint.sprint.id == 7 and sprint.sprint.start_date is None
    assert isinstance(link, IssueLinkCreatedEvent)
    assert (link.issue_link.source_issue_id, link.issue_link.destination_issue_id) == ("10042", "10043")
    assert (
        link.issue_link.issue_link_type is not None and link.issue_link.issue_link_type.inward_name == "is blocked by"
    )


def test_supported_events() -> None:
    assert sorted(SUPPORTED_EVENTS) == sorted(
        {
            "jira:issue_created",
            "jira:issue_updated",
            "comment_created",
            "comment_updated",
            "issuelink_created",
            "sprint_created",
            "sprint_updated",
            "sprint_started",
            "sprint_closed",
            "sprint_deleted",
        }
    )


# --- errors ---------------------------------------------------------------------------------


def _errors(payload: Any) -> list[tuple[tuple[int | str, ...], str]]:
    with pytest.raises(ValidationError) as caught:
        parse_event(payload)
    return [(error["loc"], error["type"]) for error in caught.value.errors()]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"timestamp": 1, "webhookEvent": "jira:issue_deleted"}, [(("webhookEvent",), "unsupported_event")]),
        ({"timestamp": 1, "issue": _issue()}, [(("webhookEvent",), "missing")]),
        ({"webhookEvent": None}, [(("webhookEvent",), "string_type")]),
        ({"timestamp": 1, "webhookEvent": "jira:issue_created"}, [(("jira:issue_created", "issue"), "missing")]),
        (
            {"timestamp": 1, "webhookEvent": "jira:issue_updated", "issue": {"id": "1", "fields": {}}},
            [(("jira:issue_updated", "issue", "key"), "missing")],
        ),
        (
            {"timestamp": 1, "webhookEvent": "comment_created", "issue": _issue()},
            [(("comment_created", "comment"), "missing")],
        ),
        (
            {"timestamp": 1, "webhookEvent": "comment_updated", "issue": _issue(), "comment": {"body": "x"}},
            [(("comment_updated", "comment", "id"), "missing")],
        ),
        (
            {"timestamp": "soon", "webhookEvent": "sprint_started", "sprint": {"id": 1, "state": "active"}},
            [
                (("sprint_started", "timestamp"), "int_parsing"),
                (("sprint_started", "sprint", "name"), "missing"),
            ],
        ),
        ({"timestamp": 1, "webhookEvent": "issuelink_created"}, [(("issuelink_created", "issueLink"), "missing")]),
        (
            {"timestamp": 1, "webhookEvent": "jira:issue_created", "issue": {"id": "1", "key": "not a key"}},
            [(("jira:issue_created", "issue", "key"), "string_pattern_mismatch")],
        ),
    ],
)
def test_errors_name_the_offending_field(payload: Any, expected: list[tuple[tuple[str, ...], str]]) -> None:
    assert _errors(payload) == expected


@pytest.mark.parametrize("payload", [None, "jira:issue_created", 42, [{"webhookEvent": "jira:issue_created"}], b"{}"])
def test_a_body_that_is_not_an_object_is_a_validation_error(payload: Any) -> None:
    assert _errors(payload) == [((), "dict_type")]


def test_error_messages_are_readable() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_event({"timestamp": 1, "webhookEvent": "jira:issue_deleted"})
    [error] = caught.value.errors()
    assert error["msg"].startswith("Unsupported webhookEvent 'jira:issue_deleted'; expected one of: ")
    assert "comment_created" in error["msg"] and "sprint_deleted" in error["msg"]
    assert caught.value.title == "JiraEvent"


def test_unknown_fields_are_ignored_everywhere() -> None:
    event = parse_event(
        {
            **_updated(_labels(None, "a") | {"newItemField": 1}),
            "changelog": {"id": "1", "items": [_labels(None, "a") | {"newItemField": 1}], "extra": True},
            "comment": {"id": "5", "body": "x", "visibility": {"type": "role", "value": "Developers"}},
        }
    )
    assert isinstance(event, IssueUpdatedEvent)
    assert event.labels_added() == ["a"] and event.comment is not None and event.comment.body == "x"
