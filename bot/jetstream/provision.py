"""Create Augment's streams and buckets at start, idempotently.

An existing stream whose config differs is updated where JetStream allows it (and
the change is logged); a difference that cannot be changed in place stops the start
with a message that says what to do.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError, ServiceUnavailableError
from nats.js.kv import KeyValue

from bot.config import Settings
from bot.jetstream import layout

log = structlog.get_logger(__name__)

# JetStream refuses to change these on an existing stream.
FIXED_FIELDS = ("retention", "storage")
EDITABLE_FIELDS = ("subjects", "max_age", "num_replicas", "duplicate_window", "max_msgs_per_subject")
# What a forming cluster answers before it has elected its JetStream leaders.
NOT_READY_YET = (NatsTimeoutError, NoRespondersError, ServiceUnavailableError)
RETRY_SECONDS = 0.5


class ProvisionError(Exception):
    """An existing stream is incompatible with what Augment needs."""


@dataclass(frozen=True)
class Buckets:
    jobs: KeyValue
    active: KeyValue
    seen: KeyValue
    teams: KeyValue
    results: KeyValue
    counts: KeyValue


async def provision(js: JetStreamContext, settings: Settings, *, wait_seconds: float = 0.0) -> Buckets:
    """Provision, retrying for `wait_seconds` while JetStream is not ready yet."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while True:
        try:
            return await _provision(js, settings)
        except NOT_READY_YET as err:
            if loop.time() >= deadline:
                raise ProvisionError(f"JetStream did not become ready within {wait_seconds:.0f}s: {err}") from err
            log.warning("waiting for JetStream to be ready", error=str(err) or type(err).__name__)
            await asyncio.sleep(RETRY_SECONDS)


async def _provision(js: JetStreamContext, settings: Settings) -> Buckets:
    for wanted in layout.streams(settings):
        await _ensure_stream(js, wanted)
    for bucket in layout.buckets(settings):
        await _ensure_bucket(js, bucket)
    return Buckets(
        jobs=await js.key_value(layout.JOBS_BUCKET),
        active=await js.key_value(layout.ACTIVE_BUCKET),
        seen=await js.key_value(layout.SEEN_BUCKET),
        teams=await js.key_value(layout.TEAMS_BUCKET),
        results=await js.key_value(layout.RESULTS_BUCKET),
        counts=await js.key_value(layout.COUNTS_BUCKET),
    )


async def _ensure_stream(js: JetStreamContext, wanted: api.StreamConfig) -> None:
    assert wanted.name is not None, "every stream of bot.jetstream.layout is named"
    try:
        info = await js.stream_info(wanted.name)
    except NotFoundError:
        await js.add_stream(wanted)
        log.info("stream created", stream=wanted.name, replicas=wanted.num_replicas)
        return
    await _reconcile(js, info.config, wanted)


async def _ensure_bucket(js: JetStreamContext, bucket: api.KeyValueConfig) -> None:
    stream = f"KV_{bucket.bucket}"
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        await js.create_key_value(bucket)
        log.info("bucket created", bucket=bucket.bucket, replicas=bucket.replicas)
        return
    wanted = api.StreamConfig(
        name=stream,
        retention=info.config.retention,
        storage=bucket.storage,
        subjects=info.config.subjects,
        max_age=bucket.ttl or 0,
        num_replicas=bucket.replicas,
        duplicate_window=info.config.duplicate_window,
        max_msgs_per_subject=bucket.history,
    )
    await _reconcile(js, info.config, wanted)


async def _reconcile(js: JetStreamContext, current: api.StreamConfig, wanted: api.StreamConfig) -> None:
    for field in FIXED_FIELDS:
        have, want = getattr(current, field), getattr(wanted, field)
        if want is not None and have != want:
            raise ProvisionError(
                f"stream {wanted.name} exists with {field}={_show(have)} but Augment needs {_show(want)}; "
                f"JetStream cannot change this in place: back it up and delete it (nats stream rm {wanted.name})"
            )
    changes = {
        field: (getattr(current, field), getattr(wanted, field))
        for field in EDITABLE_FIELDS
        if getattr(wanted, field) is not None and not _same(getattr(current, field), getattr(wanted, field))
    }
    if not changes:
        return
    updated = current.evolve(**{field: want for field, (_, want) in changes.items()})
    shown = ", ".join(f"{field} {_show(have)} -> {_show(want)}" for field, (have, want) in changes.items())
    try:
        await js.update_stream(updated)
    except Exception as err:
        description = getattr(err, "description", None) or str(err)
        raise ProvisionError(
            f"stream {wanted.name} differs from the settings ({shown}) and could not be updated: {description}"
        ) from err
    log.warning("stream config updated to match the settings", stream=wanted.name, changes=shown)


def _same(have: object, want: object) -> bool:
    if isinstance(have, float) or isinstance(want, float):
        return round(_number(have)) == round(_number(want))
    return have == want


def _number(value: object) -> float:
    """A duration in seconds as the server or the settings give it; None is 0."""
    if value is None:
        return 0.0
    assert isinstance(value, int | float), f"not a number: {value!r}"
    return float(value)


def _show(value: object) -> str:
    return str(getattr(value, "value", value))
