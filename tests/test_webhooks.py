"""`POST /webhooks/jira`: who may send, what is accepted, that each delivery is published once, and
that a replayed body is acted on once."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
import pytest
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from bot.app import create_app
from bot.config import ConfigError, Settings
from bot.jetstream import layout
from bot.webhooks.signature import signature
from tests.fixtures.clock import ManualClock
from tests.fixtures.consumers import CONSUMERS, recording_consumers
from tests.fixtures.nats import NatsServer, make_settings

SECRET = "It's a Secret to Everybody"
TOKEN = "url-token-123"


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def issue_created(key: str = "DEMO-2", at: datetime | None = None) -> bytes:
    """A Jira `issue_created` body made `at` (default: now), as Jira stamps it in epoch milliseconds."""
    issue = {"id": "10002", "key": key, "self": "http://127.0.0.1/rest/api/2/issue/10002", "fields": {}}
    millis = int((at or datetime.now(UTC)).timestamp() * 1000)
    event = {"webhookEvent": "jira:issue_created", "timestamp": millis, "issue": issue}
    return json.dumps(event).encode()


async def deliver(client: TestClient, body: bytes, identifier: str = "7c5f1a", **headers: str):
    headers = {"X-Atlassian-Webhook-Identifier": identifier, "Content-Type": "application/json", **headers}
    return await client.post("/webhooks/jira", data=body, headers=headers)


async def events_in_stream(nats_url: str) -> int:
    connection = await nats.connect(nats_url)
    try:
        info = await connection.jetstream().stream_info(layout.EVENTS_STREAM)
        return info.state.messages
    finally:
        await connection.close()


@pytest.fixture
def settings(nats_url: str) -> Settings:
    return make_settings(nats_url, webhooks={"secret": SECRET, "url_token": TOKEN})


@pytest.fixture
async def intake(aiohttp_client, settings: Settings) -> TestClient:
    """The API alone (no workers), so the stream shows exactly what the intake published."""
    return await aiohttp_client(create_app(settings, with_worker=False))


def test_signatures_match_atlassians_test_vector() -> None:
    expected = "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9"
    assert signature(SECRET, b"Hello World!") == expected


async def test_a_signed_delivery_is_accepted_and_published(intake: TestClient, nats_url: str) -> None:
    body = issue_created()
    response = await deliver(intake, body, **{"X-Hub-Signature": signed(body)})
    assert response.status == 202, await response.text()
    assert await response.json() == {
        "status": "accepted",
        "identifier": "7c5f1a",
        "webhook_event": "jira:issue_created",
        "ticket_key": "DEMO-2",
    }
    assert await events_in_stream(nats_url) == 1


@pytest.mark.parametrize("identifier", ["", "not a key: spaces"])
async def test_without_a_usable_identifier_the_answer_names_the_bodys_hash(intake: TestClient, identifier: str) -> None:
    body = issue_created()
    response = await deliver(intake, body, identifier, **{"X-Hub-Signature": signed(body)})
    assert response.status == 202
    assert (await response.json())["identifier"] == "sha256-" + hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize(
    ("headers", "query", "reason"),
    [
        ({"X-Hub-Signature": "sha256=" + "0" * 64}, "", "X-Hub-Signature does not match the body"),
        ({"X-Hub-Signature": signed(b"another body")}, "", "X-Hub-Signature does not match the body"),
        ({}, "?token=wrong", "the URL token is wrong"),
        ({}, "", "neither X-Hub-Signature nor a URL token was given"),
    ],
)
async def test_unauthentic_deliveries_are_401_and_logged_without_secrets(
    intake: TestClient, nats_url: str, headers: dict, query: str, reason: str
) -> None:
    body = issue_created()
    with capture_logs() as logs:
        response = await intake.post(f"/webhooks/jira{query}", data=body, headers=headers)
    assert response.status == 401
    assert (await response.json())["detail"] == f"Webhook refused: {reason}"
    assert [entry["reason"] for entry in logs if entry["event"] == "webhook refused"] == [reason]
    assert SECRET not in json.dumps(logs, default=str) and TOKEN not in json.dumps(logs, default=str)
    assert await events_in_stream(nats_url) == 0


async def test_the_url_token_admits_unsigned_deliveries(intake: TestClient) -> None:
    response = await intake.post(
        f"/webhooks/jira?token={TOKEN}", data=issue_created(), headers={"Content-Type": "application/json"}
    )
    assert response.status == 202, await response.text()


async def test_without_a_secret_or_token_configured_nothing_is_accepted(aiohttp_client, nats_url: str) -> None:
    client = await aiohttp_client(create_app(make_settings(nats_url), with_worker=False))
    response = await deliver(client, issue_created())
    assert response.status == 401
    assert "set webhooks.secret or webhooks.url_token" in (await response.json())["detail"]


@pytest.mark.parametrize(
    ("body", "status", "loc"),
    [
        (b'{"webhookEvent": "jira:issue_created",', 400, None),
        (b'{"webhookEvent": "board_created", "timestamp": 1}', 422, ["body", "webhookEvent"]),
        (b'{"timestamp": 1}', 422, ["body", "webhookEvent"]),
        (b'{"webhookEvent": "jira:issue_created", "timestamp": 1}', 422, ["body", "jira:issue_created", "issue"]),
        (
            b'{"webhookEvent": "comment_created", "timestamp": 1, "issue": {"id": "1", "key": "DEMO-1"}}',
            422,
            ["body", "comment_created", "comment"],
        ),
        (
            b'{"webhookEvent": "jira:issue_created", "timestamp": 99999999999999999999, '
            b'"issue": {"id": "1", "key": "DEMO-1"}}',
            422,
            ["body", "jira:issue_created", "timestamp"],
        ),
    ],
)
async def test_bad_bodies_are_4xx_and_publish_nothing(
    intake: TestClient, nats_url: str, body: bytes, status: int, loc: list | None
) -> None:
    response = await deliver(intake, body, **{"X-Hub-Signature": signed(body)})
    assert response.status == status, await response.text()
    detail = (await response.json())["detail"]
    if loc is not None:
        assert loc in [error["loc"] for error in detail]
    assert await events_in_stream(nats_url) == 0


async def test_five_deliveries_two_of_them_concurrent_are_published_once(intake: TestClient, nats_url: str) -> None:
    body = issue_created()
    sign = {"X-Hub-Signature": signed(body)}
    together = await asyncio.gather(deliver(intake, body, **sign), deliver(intake, body, **sign))
    after = [await deliver(intake, body, **sign, **{"X-Atlassian-Webhook-Retry": str(n)}) for n in (1, 2, 3)]
    statuses = sorted(response.status for response in [*together, *after])
    assert statuses == [200, 200, 200, 200, 202]
    duplicates = [await response.json() for response in [*together, *after] if response.status == 200]
    assert {answer["status"] for answer in duplicates} == {"duplicate"}
    assert await events_in_stream(nats_url) == 1


async def test_fifty_identical_deliveries_at_once_are_published_once(intake: TestClient, nats_url: str) -> None:
    """One create wins; the others find its entry untaken and publish again under the same message
    id, which the stream's duplicate window drops: exactly one of them is answered 202."""
    body = issue_created()
    sign = {"X-Hub-Signature": signed(body)}
    responses = await asyncio.gather(*(deliver(intake, body, **sign) for _ in range(50)))
    answers = [(response.status, (await response.json())["status"]) for response in responses]
    assert sorted(answers) == [(200, "duplicate")] * 49 + [(202, "accepted")]
    assert {(await response.json())["identifier"] for response in responses} == {"7c5f1a"}
    assert await events_in_stream(nats_url) == 1


async def test_a_retry_30_minutes_later_is_still_a_duplicate(aiohttp_client, nats_url: str) -> None:
    clock = ManualClock()
    settings = make_settings(nats_url, webhooks={"secret": SECRET, "dedupe_hours": 24})
    client = await aiohttp_client(create_app(settings, with_worker=False, clock=clock))
    body = issue_created()
    sign = {"X-Hub-Signature": signed(body)}
    assert (await deliver(client, body, **sign)).status == 202
    clock.advance(timedelta(minutes=30))
    assert (await deliver(client, body, **sign, **{"X-Atlassian-Webhook-Retry": "1"})).status == 200
    clock.advance(timedelta(minutes=60))
    assert (await deliver(client, body, **sign, **{"X-Atlassian-Webhook-Retry": "5"})).status == 200
    assert await events_in_stream(nats_url) == 1


async def test_the_same_signed_body_under_fresh_identifiers_is_acted_on_once(
    intake: TestClient, settings: Settings, nats_url: str
) -> None:
    """Issue 9: the identifier is not signed, so a captured delivery can be replayed under new
    identifiers (or one event sent by two webhooks with the same body). A replay never acts twice:
    the intake, which dedupes by Jira's identifier, accepts it, and every event consumer drops it,
    as the same body as one it handled already."""
    body = issue_created()
    sign = {"X-Hub-Signature": signed(body)}
    async with recording_consumers(settings) as consumers:
        await consumers.start()
        assert (await deliver(intake, body, "first-1", **sign)).status == 202
        await consumers.idle()
        replays = await asyncio.gather(*(deliver(intake, body, f"replay-{n}", **sign) for n in range(4)))
        assert [response.status for response in replays] == [202] * 4
        retry = await deliver(intake, body, "first-1", **sign, **{"X-Atlassian-Webhook-Retry": "1"})
        assert (retry.status, (await retry.json())["status"]) == (200, "duplicate")
        await consumers.idle()
    assert await events_in_stream(nats_url) == 5
    assert sorted(consumers.calls) == [(name, "first-1") for name in CONSUMERS]


@pytest.mark.parametrize(
    ("moved", "reason"),
    [
        (timedelta(minutes=-121), "minutes old; deliveries older than 120 minutes (webhooks.max_age_minutes)"),
        (timedelta(days=-400), "minutes old; deliveries older than 120 minutes (webhooks.max_age_minutes)"),
        (timedelta(minutes=6), "minutes in the future; more than 5 minutes (webhooks.max_future_minutes)"),
    ],
)
async def test_a_stale_or_future_timestamp_is_422_naming_it_and_publishes_nothing(
    intake: TestClient, nats_url: str, moved: timedelta, reason: str
) -> None:
    body = issue_created(at=datetime.now(UTC) + moved)
    with capture_logs() as logs:
        response = await deliver(intake, body, **{"X-Hub-Signature": signed(body)})
    assert response.status == 422, await response.text()
    [error] = (await response.json())["detail"]
    assert error["loc"] == ["body", "jira:issue_created", "timestamp"]
    assert reason in error["msg"]
    assert [entry["reason"] for entry in logs if entry["event"] == "webhook refused"] == [error["msg"]]
    assert await events_in_stream(nats_url) == 0


@pytest.mark.parametrize("moved", [timedelta(minutes=-119), timedelta(minutes=4)])
async def test_a_timestamp_inside_the_window_is_accepted(intake: TestClient, moved: timedelta) -> None:
    body = issue_created(at=datetime.now(UTC) + moved)
    assert (await deliver(intake, body, **{"X-Hub-Signature": signed(body)})).status == 202


async def test_a_body_replayed_after_the_window_is_refused_as_stale(aiohttp_client, nats_url: str) -> None:
    clock = ManualClock()
    settings = make_settings(nats_url, webhooks={"secret": SECRET, "dedupe_hours": 3, "max_age_minutes": 90})
    client = await aiohttp_client(create_app(settings, with_worker=False, clock=clock))
    body = issue_created()
    sign = {"X-Hub-Signature": signed(body)}
    assert (await deliver(client, body, "original", **sign)).status == 202
    clock.advance(timedelta(minutes=91))
    assert (await deliver(client, body, "replayed", **sign)).status == 422
    clock.advance(timedelta(hours=3))  # the bucket forgot the body: the timestamp still refuses it
    assert (await deliver(client, body, "replayed-later", **sign)).status == 422
    assert await events_in_stream(nats_url) == 1


async def test_with_the_timestamp_check_off_an_old_delivery_is_accepted_once(aiohttp_client, nats_url: str) -> None:
    settings = make_settings(nats_url, webhooks={"secret": SECRET, "check_timestamp": False})
    client = await aiohttp_client(create_app(settings, with_worker=False))
    body = issue_created(at=datetime.now(UTC) - timedelta(days=400))
    sign = {"X-Hub-Signature": signed(body)}
    assert (await deliver(client, body, "from-last-year", **sign)).status == 202
    assert (await deliver(client, body, "from-last-year", **sign)).status == 200  # remembered by its identifier
    assert await events_in_stream(nats_url) == 1


def test_the_timestamp_window_must_fit_in_the_dedupe_time(nats_url: str) -> None:
    with pytest.raises(ConfigError) as refused:
        make_settings(nats_url, webhooks={"dedupe_hours": 2, "max_age_minutes": 150})
    assert str(refused.value) == (
        "webhooks.max_age_minutes (env WEBHOOKS_MAX_AGE_MINUTES): "
        "must be at most webhooks.dedupe_hours in minutes (120)"
    )


async def test_nats_down_is_503_so_jira_retries(aiohttp_client, tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats")
    server.start()
    try:
        settings = make_settings(server.url, webhooks={"secret": SECRET}, nats={"startup_timeout_seconds": 5})
        client = await aiohttp_client(create_app(settings, with_worker=False))
        server.stop()
        body = issue_created()
        response = await deliver(client, body, **{"X-Hub-Signature": signed(body)})
        assert response.status == 503
        assert "NATS is unreachable" in (await response.json())["detail"]
    finally:
        server.stop()
