"""Streams and buckets are created once, adjusted where JetStream allows, and refused where not."""

from __future__ import annotations

import nats
import pytest
from nats.js import api
from structlog.testing import capture_logs

from bot.config import Settings
from bot.jetstream import layout
from bot.jetstream.provision import ProvisionError, provision
from tests.fixtures.nats import make_settings


@pytest.fixture
async def js(nats_url: str):
    client = await nats.connect(nats_url)
    yield client.jetstream()
    await client.close()


async def test_provisioning_twice_changes_nothing(js, settings: Settings) -> None:
    await provision(js, settings)
    before = {info.config.name: info.created for info in await js.streams_info()}
    await provision(js, settings)
    after = {info.config.name: info.created for info in await js.streams_info()}
    assert before == after
    assert set(after) == {
        "AUGMENT_EVENTS", "AUGMENT_JOBS", "AUGMENT_DEAD",
        "KV_augment_jobs", "KV_augment_active", "KV_augment_seen", "KV_augment_teams", "KV_augment_results",
        "KV_augment_counts",
    }  # fmt: skip
    jobs = await js.stream_info(layout.JOBS_STREAM)
    assert jobs.config.retention == api.RetentionPolicy.WORK_QUEUE


async def test_an_editable_difference_is_updated_and_logged(js, nats_url: str) -> None:
    await provision(js, make_settings(nats_url, limits={"job_retention_days": 30}))
    with capture_logs() as logs:
        await provision(js, make_settings(nats_url, limits={"job_retention_days": 7}))
    info = await js.stream_info("KV_augment_jobs")
    assert round(info.config.max_age) == 7 * 86400
    assert [
        (entry["event"], entry["stream"], entry["changes"]) for entry in logs if entry["log_level"] == "warning"
    ] == [
        ("stream config updated to match the settings", bucket, "max_age 2592000.0 -> 604800.0")
        for bucket in ("KV_augment_jobs", "KV_augment_results")
    ]


async def test_an_events_stream_of_an_older_version_gets_the_longer_duplicate_window(js, settings: Settings) -> None:
    """The intake relies on the window outlasting Jira's 5-15 minutes between retries."""
    events = next(stream for stream in layout.streams(settings) if stream.name == layout.EVENTS_STREAM)
    await js.add_stream(events.evolve(duplicate_window=120.0))
    with capture_logs() as logs:
        await provision(js, settings)
    info = await js.stream_info(layout.EVENTS_STREAM)
    assert round(info.config.duplicate_window) == layout.EVENTS_DUPLICATE_WINDOW_SECONDS == 20 * 60
    assert [entry["changes"] for entry in logs if entry.get("stream") == layout.EVENTS_STREAM] == [
        "duplicate_window 120.0 -> 1200.0"
    ]


async def test_an_incompatible_existing_stream_stops_the_start(js, settings: Settings) -> None:
    await js.add_stream(name=layout.JOBS_STREAM, subjects=["augment.jobs.>"], retention=api.RetentionPolicy.LIMITS)
    with pytest.raises(ProvisionError) as err:
        await provision(js, settings)
    assert str(err.value) == (
        "stream AUGMENT_JOBS exists with retention=limits but Augment needs workqueue; JetStream cannot change "
        "this in place: back it up and delete it (nats stream rm AUGMENT_JOBS)"
    )


async def test_replicas_beyond_the_cluster_are_reported(js, nats_url: str) -> None:
    await provision(js, make_settings(nats_url))
    with pytest.raises(ProvisionError) as err:
        await provision(js, make_settings(nats_url, nats={"replicas": 3}))
    assert "num_replicas 1 -> 3" in str(err.value)
    assert "could not be updated" in str(err.value)
