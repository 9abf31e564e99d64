"""Each webhook body reaches every event consumer once: the intake publishes each delivery (Jira's
identifier) once, and the consumers handle one copy of each body (`bot.webhooks.deliveries`)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from bot.app import create_app
from bot.config import Settings
from bot.jetstream import layout
from bot.jetstream.provision import provision
from bot.webhooks import deliveries
from tests.fixtures.consumers import CONSUMERS, SUBJECT, Consumers, recording_consumers
from tests.fixtures.nats import make_settings
from tests.fixtures.service import POLL_SECONDS, eventually
from tests.test_webhooks import SECRET, deliver, events_in_stream, issue_created, signed

DROPPED = "second copy of a webhook body dropped"


@pytest.fixture
def settings(nats_url: str) -> Settings:
    return make_settings(nats_url, webhooks={"secret": SECRET})


@pytest.fixture
async def intake(aiohttp_client, settings: Settings) -> TestClient:
    return await aiohttp_client(create_app(settings, with_worker=False))


@pytest.fixture
async def consumers(intake: TestClient, settings: Settings) -> AsyncIterator[Consumers]:
    async with recording_consumers(settings) as pair:
        yield pair


async def forget_message_ids(consumers: Consumers, settings: Settings) -> None:
    """What hours do to the stream's duplicate window: the events stream no longer knows any id
    (here: it is made again, empty, as provisioning does)."""
    await consumers.stop()
    await consumers.runtime.js.delete_stream(layout.EVENTS_STREAM)
    await provision(consumers.runtime.js, settings)


def handled_once(identifier: str) -> list[tuple[str, str]]:
    """What the consumers recorded when each handled the delivery `identifier` and nothing else."""
    return [(name, identifier) for name in CONSUMERS]


async def test_a_retry_after_the_delivery_was_taken_is_a_duplicate(
    intake: TestClient, consumers: Consumers, settings: Settings, nats_url: str
) -> None:
    await consumers.start()
    body = issue_created()
    sign = {"X-Hub-Signature": signed(body)}
    assert (await deliver(intake, body, "first-1", **sign)).status == 202
    await consumers.idle()
    retry = await deliver(intake, body, "first-1", **sign, **{"X-Atlassian-Webhook-Retry": "1"})
    assert (retry.status, (await retry.json())["status"]) == (200, "duplicate")
    assert await events_in_stream(nats_url) == 1

    # Hours later the stream's window has forgotten the id: the delivery's entry still says a consumer took it.
    await forget_message_ids(consumers, settings)
    late = await deliver(intake, body, "first-1", **sign, **{"X-Atlassian-Webhook-Retry": "5"})
    assert (late.status, (await late.json())["status"]) == (200, "duplicate")
    assert await events_in_stream(nats_url) == 0  # nothing published again
    assert sorted(consumers.calls) == handled_once("first-1")


async def test_a_replay_under_a_new_identifier_is_accepted_but_never_acted_on(
    intake: TestClient, consumers: Consumers, settings: Settings, nats_url: str
) -> None:
    await consumers.start()
    body = issue_created()
    sign = {"X-Hub-Signature": signed(body)}
    assert (await deliver(intake, body, "first-1", **sign)).status == 202
    await consumers.idle()
    with capture_logs() as logs:
        replay = await deliver(intake, body, "replay-1", **sign)
        assert (replay.status, (await replay.json())["status"]) == (202, "accepted")
        await consumers.idle()
    assert await events_in_stream(nats_url) == 2
    assert sorted(consumers.calls) == handled_once("first-1")
    dropped = [(entry["delivery"], entry["stream_sequence"]) for entry in logs if entry["event"] == DROPPED]
    assert dropped == [(layout.delivery_key("replay-1"), 2)] * len(CONSUMERS)

    # Hours later (the stream forgot every id), the body is still known by its hash.
    await forget_message_ids(consumers, settings)
    await consumers.start()
    assert (await deliver(intake, body, "replay-2", **sign)).status == 202
    await consumers.idle()
    assert sorted(consumers.calls) == handled_once("first-1")


async def test_a_delivery_whose_first_try_died_before_publishing_is_published_by_its_retry(
    intake: TestClient, consumers: Consumers, nats_url: str
) -> None:
    body = issue_created()
    # What the dead process left: the delivery's entry, and nothing in the stream.
    key = layout.delivery_key("first-1")
    await consumers.runtime.buckets.seen.create(key, deliveries.first_seen(consumers.runtime.clock.now()))
    sign = {"X-Hub-Signature": signed(body)}
    retry = await deliver(intake, body, "first-1", **sign, **{"X-Atlassian-Webhook-Retry": "1"})
    assert (retry.status, (await retry.json())["status"]) == (202, "accepted")
    assert await events_in_stream(nats_url) == 1
    await consumers.start()
    await consumers.idle()
    assert sorted(consumers.calls) == handled_once("first-1")
    again = await deliver(intake, body, "first-1", **sign, **{"X-Atlassian-Webhook-Retry": "2"})
    assert (again.status, (await again.json())["status"]) == (200, "duplicate")
    assert await events_in_stream(nats_url) == 1


async def test_copies_of_one_body_in_the_stream_are_handled_once_by_every_consumer_all_on_the_same(
    intake: TestClient, consumers: Consumers, nats_url: str
) -> None:
    """As the intake's republish after the duplicate window makes them (the same delivery twice under
    its message id), and a replay under another identifier: three copies of one body."""
    js = consumers.runtime.js
    events = await js.stream_info(layout.EVENTS_STREAM)
    await js.update_stream(events.config.evolve(duplicate_window=0.5))
    body = issue_created()

    async def publish(identifier: str) -> bool:
        key = layout.delivery_key(identifier)
        headers = {layout.MESSAGE_ID_HEADER: key, layout.WEBHOOK_IDENTIFIER_HEADER: identifier}
        ack = await js.publish(SUBJECT, body, headers=headers, stream=layout.EVENTS_STREAM)
        return not ack.duplicate

    assert await publish("first-1")

    async def second_copy() -> bool:
        await asyncio.sleep(POLL_SECONDS)
        return await publish("first-1")

    await eventually(second_copy, "the stream forgot the message id and took a second copy")
    assert await publish("replay-1")
    plain = await js.publish(SUBJECT, issue_created("DEMO-9"), stream=layout.EVENTS_STREAM)  # no delivery key
    assert await events_in_stream(nats_url) == 4
    copies = {plain.seq - 3: "first-1", plain.seq - 2: "first-1", plain.seq - 1: "replay-1"}

    with capture_logs() as logs:
        await consumers.start()
        await consumers.idle()
    # Each consumer handles its events concurrently with the other, so any copy may be the taken
    # one, but every consumer handles that one, and the event without a delivery key as always.
    entry = await consumers.runtime.buckets.seen.get(layout.body_key(hashlib.sha256(body).hexdigest()))
    taken = json.loads(entry.value or b"")["taken_seq"]
    for name in CONSUMERS:
        assert sorted(consumers.by(name)) == sorted([copies[taken], f"seq-{plain.seq}"])
    dropped = sorted(entry["stream_sequence"] for entry in logs if entry["event"] == DROPPED)
    assert dropped == sorted([seq for seq in copies if seq != taken] * len(CONSUMERS))


async def test_one_body_under_two_identifiers_at_once_is_handled_once(
    intake: TestClient, consumers: Consumers, nats_url: str
) -> None:
    await consumers.start()
    body = issue_created()
    sign = {"X-Hub-Signature": signed(body)}
    both = await asyncio.gather(deliver(intake, body, "first-1", **sign), deliver(intake, body, "other-1", **sign))
    assert [response.status for response in both] == [202, 202]
    await consumers.idle()
    assert await events_in_stream(nats_url) == 2
    [identifier] = set(consumers.by(CONSUMERS[0]))
    assert sorted(consumers.calls) == handled_once(identifier)
