"""Each webhook delivery reaches every event consumer once: the intake publishes it once, and
the consumers drop a second copy of it (`bot.webhooks.deliveries`)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from bot.app import create_app
from bot.commands.context import Registry
from bot.config import Settings
from bot.events import EventConsumer, EventContext, EventHandler
from bot.jetstream import layout
from bot.jetstream.provision import provision
from bot.runtime import Runtime
from bot.webhooks import deliveries
from tests.fixtures.nats import make_settings
from tests.fixtures.service import POLL_SECONDS, eventually
from tests.test_webhooks import SECRET, deliver, events_in_stream, issue_created, signed

CONSUMERS = ("alpha", "beta")  # two pipelines that both handle new issues
SUBJECT = layout.event_subject("jira:issue_created")


@dataclass
class Handled:
    """What each consumer handled: (consumer, identifier the event carried)."""

    calls: list[tuple[str, str]] = field(default_factory=list)

    def by(self, consumer: str) -> list[str]:
        return [identifier for name, identifier in self.calls if name == consumer]


@dataclass
class Consumers:
    runtime: Runtime
    handled: Handled
    running: list[EventConsumer] = field(default_factory=list)

    async def start(self) -> None:
        for name in CONSUMERS:
            consumer = EventConsumer(self.runtime, name, {SUBJECT: self._recorder(name)}, Registry({}, {}))
            await consumer.start()
            self.running.append(consumer)

    async def stop(self) -> None:
        for consumer in self.running:
            await consumer.stop(2.0)
        self.running.clear()

    async def idle(self) -> None:
        """Wait until every consumer has acked every event of the stream."""

        async def done() -> bool:
            for name in CONSUMERS:
                info = await self.runtime.js.consumer_info(layout.EVENTS_STREAM, layout.event_consumer_name(name))
                if info.num_pending or info.num_ack_pending:
                    return False
            return True

        await eventually(done, "every consumer acked every event")

    def _recorder(self, name: str) -> EventHandler:
        async def record(event: EventContext) -> None:
            self.handled.calls.append((name, event.identifier))

        return record


@pytest.fixture
def settings(nats_url: str) -> Settings:
    return make_settings(nats_url, webhooks={"secret": SECRET})


@pytest.fixture
async def intake(aiohttp_client, settings: Settings) -> TestClient:
    return await aiohttp_client(create_app(settings, with_worker=False))


@pytest.fixture
async def consumers(intake: TestClient, settings: Settings) -> AsyncIterator[Consumers]:
    """Two event consumers in a worker process of their own (the API above provisioned the streams)."""
    runtime = await Runtime.open(settings, name="test-consumers", with_sandbox=False)
    pair = Consumers(runtime, Handled())
    try:
        yield pair
    finally:
        await pair.stop()
        await runtime.close()


async def forget_message_ids(consumers: Consumers, settings: Settings) -> None:
    """What hours do to the stream's duplicate window: the events stream no longer knows any id
    (here: it is made again, empty, as provisioning does)."""
    await consumers.stop()
    await consumers.runtime.js.delete_stream(layout.EVENTS_STREAM)
    await provision(consumers.runtime.js, settings)


async def test_a_retry_or_replay_after_the_event_was_handled_is_a_duplicate(
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

    # Hours later the stream's window has forgotten the id: the seen entry still says a consumer took it.
    await forget_message_ids(consumers, settings)
    late = [
        await deliver(intake, body, "first-1", **sign, **{"X-Atlassian-Webhook-Retry": "5"}),
        await deliver(intake, body, "replay-1", **sign),
    ]
    assert [(response.status, (await response.json())["status"]) for response in late] == [(200, "duplicate")] * 2
    assert await events_in_stream(nats_url) == 0  # nothing published again
    assert sorted(consumers.handled.calls) == [("alpha", "first-1"), ("beta", "first-1")]


async def test_a_delivery_whose_first_try_died_before_publishing_is_published_by_its_retry(
    intake: TestClient, consumers: Consumers, nats_url: str
) -> None:
    body = issue_created()
    key = layout.delivery_key(hashlib.sha256(body).hexdigest())
    # What the dead process left: the seen entry, and nothing in the stream.
    await consumers.runtime.buckets.seen.create(key, deliveries.first_seen(consumers.runtime.clock.now()))
    sign = {"X-Hub-Signature": signed(body)}
    retry = await deliver(intake, body, "first-1", **sign, **{"X-Atlassian-Webhook-Retry": "1"})
    assert (retry.status, (await retry.json())["status"]) == (202, "accepted")
    assert await events_in_stream(nats_url) == 1
    await consumers.start()
    await consumers.idle()
    assert sorted(consumers.handled.calls) == [("alpha", "first-1"), ("beta", "first-1")]
    again = await deliver(intake, body, "first-1", **sign, **{"X-Atlassian-Webhook-Retry": "2"})
    assert again.status == 200
    assert await events_in_stream(nats_url) == 1


async def test_a_second_copy_in_the_stream_is_handled_once_by_every_consumer(
    intake: TestClient, consumers: Consumers, nats_url: str
) -> None:
    """As the intake's republish after the duplicate window makes it: the same body under the same
    message id, twice in the stream (the second brought by a replay under another identifier)."""
    js = consumers.runtime.js
    events = await js.stream_info(layout.EVENTS_STREAM)
    await js.update_stream(events.config.evolve(duplicate_window=0.5))
    body = issue_created()
    key = layout.delivery_key(hashlib.sha256(body).hexdigest())

    async def publish(identifier: str) -> bool:
        headers = {layout.MESSAGE_ID_HEADER: key, layout.WEBHOOK_IDENTIFIER_HEADER: identifier}
        ack = await js.publish(SUBJECT, body, headers=headers, stream=layout.EVENTS_STREAM)
        return not ack.duplicate

    assert await publish("first-1")

    async def second_copy() -> bool:
        await asyncio.sleep(POLL_SECONDS)
        return await publish("replay-1")

    await eventually(second_copy, "the stream forgot the message id and took a second copy")
    plain = await js.publish(SUBJECT, issue_created("DEMO-9"), stream=layout.EVENTS_STREAM)  # no delivery key
    assert await events_in_stream(nats_url) == 3

    with capture_logs() as logs:
        await consumers.start()
        await consumers.idle()
    # Each consumer handles one copy concurrently with the other, so either may be the taken one,
    # but every consumer handles the same one, and the event without a delivery key as always.
    taken = consumers.handled.by(CONSUMERS[0])
    assert all(consumers.handled.by(name) == taken for name in CONSUMERS)
    assert set(taken) in ({"first-1", f"seq-{plain.seq}"}, {"replay-1", f"seq-{plain.seq}"}) and len(taken) == 2
    dropped = [entry for entry in logs if entry["event"] == "second copy of a webhook delivery dropped"]
    other = plain.seq - 1 if "first-1" in taken else plain.seq - 2
    assert [(entry["delivery"], entry["stream_sequence"]) for entry in dropped] == [(key, other)] * len(CONSUMERS)
